// ChatServer::Metrics(): the /metrics page, summed from every worker's
// counters at each scrape. Each counter is a relaxed atomic read; nothing
// here takes a lock or waits for a worker.
#include "absl/strings/str_cat.h"
#include "server/chat_server.h"
#include "server/metrics_text.h"

#ifndef CHATD_VERSION
#define CHATD_VERSION "dev"
#endif

namespace chatd {
namespace {

template <typename T>
T Load(const std::atomic<T>& value) {
  return value.load(std::memory_order_relaxed);
}

std::string WorkerLabel(int worker) {
  return absl::StrCat("worker=\"", worker, "\"");
}

}  // namespace

std::string ChatServer::Metrics() const {
  MetricsText m;
  const int workers = worker_count();

  m.Family("chatd_build_info", "gauge",
           "Always 1; the labels say which chatd this is.");
  m.Sample("chatd_build_info",
           absl::StrCat("version=\"", EscapeLabelValue(CHATD_VERSION), "\""),
           int64_t{1});
  m.Family("chatd_up", "gauge", "1 while serving, 0 once shutting down.");
  m.Sample("chatd_up", "", int64_t{serving() ? 1 : 0});
  m.Family("chatd_workers", "gauge", "Worker threads.");
  m.Sample("chatd_workers", "", int64_t{workers});

  m.Family("chatd_connections", "gauge",
           "Open client connections by transport.");
  for (int kind = 0; kind < kFramingKinds; ++kind) {
    int64_t open = 0;
    for (int w = 0; w < workers; ++w) {
      open += Load(workers_[w]->stats().connections[kind]);
    }
    m.Sample(
        "chatd_connections",
        absl::StrCat("transport=\"",
                     FramingKindName(static_cast<FramingKind>(kind)), "\""),
        open);
  }
  m.Family("chatd_connections_limit", "gauge",
           "Most client connections served at once (--max_connections).");
  m.Sample("chatd_connections_limit", "",
           static_cast<uint64_t>(options_.max_connections));

  int64_t members = 0;
  uint64_t lines = 0, messages = 0, deliveries = 0;
  for (int w = 0; w < workers; ++w) {
    const ChatShard::Stats& shard = workers_[w]->shard_stats();
    members += Load(shard.members);
    lines += Load(shard.lines_received);
    messages += Load(shard.messages);
    deliveries += Load(shard.deliveries);
  }
  m.Family("chatd_members", "gauge", "Joined members, on every transport.");
  m.Sample("chatd_members", "", members);
  m.Family("chatd_groups", "gauge", "Groups with at least one member.");
  m.Sample("chatd_groups", "", static_cast<uint64_t>(registry_.group_count()));
  m.Family("chatd_lines_received_total", "counter",
           "Lines (messages and commands) taken from joined members.");
  m.Sample("chatd_lines_received_total", "", lines);
  m.Family("chatd_messages_total", "counter", "Chat messages broadcast.");
  m.Sample("chatd_messages_total", "", messages);
  m.Family("chatd_deliveries_total", "counter",
           "Group lines (messages, joins, leaves) queued on recipients.");
  m.Sample("chatd_deliveries_total", "", deliveries);

  uint64_t bytes_in = 0, bytes_out = 0, requests = 0, throttles = 0;
  uint64_t pauses = 0;
  int64_t throttled = 0;
  uint64_t drops[kDropReasons] = {};
  for (int w = 0; w < workers; ++w) {
    const WorkerStats& stats = workers_[w]->stats();
    bytes_in += Load(stats.bytes_in);
    bytes_out += Load(stats.bytes_out);
    requests += Load(stats.http_requests);
    throttles += Load(stats.throttle_events);
    throttled += Load(stats.throttled_connections);
    pauses += Load(stats.input_pauses);
    for (int r = 0; r < kDropReasons; ++r) drops[r] += Load(stats.drops[r]);
  }
  m.Family("chatd_received_bytes_total", "counter",
           "Bytes read from client sockets.");
  m.Sample("chatd_received_bytes_total", "", bytes_in);
  m.Family("chatd_sent_bytes_total", "counter",
           "Bytes written to client sockets.");
  m.Sample("chatd_sent_bytes_total", "", bytes_out);
  m.Family("chatd_http_requests_total", "counter",
           "HTTP requests answered on the HTTP port.");
  m.Sample("chatd_http_requests_total", "", requests);
  m.Family("chatd_dropped_connections_total", "counter",
           "Connections the server closed, by reason.");
  for (int r = 0; r < kDropReasons; ++r) {
    m.Sample("chatd_dropped_connections_total",
             absl::StrCat("reason=\"",
                          DropReasonName(static_cast<DropReason>(r)), "\""),
             drops[r]);
  }
  m.Family("chatd_throttle_events_total", "counter",
           "Times a member went over its rate and its input was delayed.");
  m.Sample("chatd_throttle_events_total", "", throttles);
  m.Family("chatd_throttled_connections", "gauge",
           "Connections whose input waits for the rate right now.");
  m.Sample("chatd_throttled_connections", "", throttled);
  m.Family("chatd_input_pauses_total", "counter",
           "Times a worker stopped reading input for a full mailbox.");
  m.Sample("chatd_input_pauses_total", "", pauses);
  m.Family("chatd_refused_for_fds_total", "counter",
           "Connections refused because the process was out of fds.");
  m.Sample("chatd_refused_for_fds_total", "", acceptor_->refused_for_fds());

  m.Family("chatd_mailbox_depth", "gauge",
           "Envelopes waiting in a worker's mailbox.");
  for (int w = 0; w < workers; ++w) {
    m.Sample("chatd_mailbox_depth", WorkerLabel(w),
             static_cast<uint64_t>(workers_[w]->mailbox_depth()));
  }
  m.Family("chatd_loop_pass_seconds", "histogram",
           "Duration of a worker's event-loop pass, from wake-up to flush.");
  for (int w = 0; w < workers; ++w) {
    const WorkerStats& stats = workers_[w]->stats();
    const std::string worker = WorkerLabel(w);
    uint64_t cumulative = 0;
    for (int b = 0; b <= kPassBuckets; ++b) {
      cumulative += Load(stats.pass_buckets[b]);
      const std::string le =
          b < kPassBuckets
              ? absl::StrCat(static_cast<double>(kPassBucketsUs[b]) / 1e6)
              : "+Inf";
      m.Sample("chatd_loop_pass_seconds_bucket",
               absl::StrCat(worker, ",le=\"", le, "\""), cumulative);
    }
    m.Sample("chatd_loop_pass_seconds_sum", worker,
             static_cast<double>(Load(stats.pass_ns_sum)) / 1e9);
    m.Sample("chatd_loop_pass_seconds_count", worker, cumulative);
  }

  const ProcessStats process = ReadProcessStats();
  m.Family("process_cpu_seconds_total", "counter",
           "User and system CPU time spent, in seconds.");
  m.Sample("process_cpu_seconds_total", "", process.cpu_seconds);
  m.Family("process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.");
  m.Sample("process_resident_memory_bytes", "", process.resident_bytes);
  m.Family("process_virtual_memory_bytes", "gauge",
           "Virtual memory size in bytes.");
  m.Sample("process_virtual_memory_bytes", "", process.virtual_bytes);
  m.Family("process_open_fds", "gauge", "Open file descriptors.");
  m.Sample("process_open_fds", "", process.open_fds);
  m.Family("process_max_fds", "gauge", "The open-file limit.");
  m.Sample("process_max_fds", "", process.max_fds);
  m.Family("process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch, in seconds.");
  m.Sample("process_start_time_seconds", "", process.start_time_seconds);
  return m.Take();
}

}  // namespace chatd
