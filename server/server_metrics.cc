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
  m.Single("chatd_up", "gauge", "1 while serving, 0 once shutting down.",
           int64_t{serving() ? 1 : 0});
  m.Single("chatd_workers", "gauge", "Worker threads.", int64_t{workers});

  // One sample per value of an enum, each summed over the workers.
  auto per_kind = [&m, this, workers](absl::string_view name,
                                      absl::string_view label, int kinds,
                                      auto field, auto kind_name) {
    for (int kind = 0; kind < kinds; ++kind) {
      decltype(Load((workers_[0]->stats().*field)[0])) sum = 0;
      for (int w = 0; w < workers; ++w) {
        sum += Load((workers_[w]->stats().*field)[kind]);
      }
      m.Sample(name, absl::StrCat(label, "=\"", kind_name(kind), "\""), sum);
    }
  };
  m.Family("chatd_connections", "gauge",
           "Open client connections by transport.");
  per_kind("chatd_connections", "transport", kFramingKinds,
           &WorkerStats::connections,
           [](int kind) { return FramingKindName(FramingKind(kind)); });
  m.Single("chatd_connections_limit", "gauge",
           "Most client connections served at once (--max_connections).",
           static_cast<uint64_t>(options_.max_connections));

  // Sums of one counter over the workers' WorkerStats or shard Stats.
  auto worker_sum = [this, workers](auto WorkerStats::*field) {
    decltype(Load(workers_[0]->stats().*field)) sum = 0;
    for (int w = 0; w < workers; ++w) sum += Load(workers_[w]->stats().*field);
    return sum;
  };
  auto shard_sum = [this, workers](auto ChatShard::Stats::*field) {
    decltype(Load(workers_[0]->shard_stats().*field)) sum = 0;
    for (int w = 0; w < workers; ++w) {
      sum += Load(workers_[w]->shard_stats().*field);
    }
    return sum;
  };

  m.Single("chatd_members", "gauge",
           "Group memberships, on every transport (an IRC user may hold "
           "several).",
           shard_sum(&ChatShard::Stats::members));
  m.Single("chatd_names", "gauge",
           "Names in use: members online, on every transport; in cluster "
           "mode those on the other hosts too, as known here.",
           static_cast<uint64_t>(registry_.person_count()));
  m.Single("chatd_groups", "gauge",
           "Groups with at least one member (in cluster mode, on any host).",
           static_cast<uint64_t>(registry_.group_count()));
  m.Single("chatd_lines_received_total", "counter",
           "Lines (messages and commands) taken from joined members.",
           shard_sum(&ChatShard::Stats::lines_received));
  m.Single("chatd_messages_total", "counter",
           "Chat messages broadcast in groups (topic and mode changes not "
           "counted).",
           shard_sum(&ChatShard::Stats::messages));
  m.Single("chatd_private_messages_total", "counter",
           "Private messages sent (/msg, IRC PRIVMSG and NOTICE to a nick).",
           shard_sum(&ChatShard::Stats::private_messages));
  m.Single("chatd_deliveries_total", "counter",
           "Group lines (messages, joins, leaves) queued on recipients; one "
           "whose client gets no form of a line (TAGMSG to a plain client) "
           "is not counted.",
           shard_sum(&ChatShard::Stats::deliveries));
  m.Single("chatd_received_bytes_total", "counter",
           "Bytes read from client sockets.",
           worker_sum(&WorkerStats::bytes_in));
  m.Single("chatd_sent_bytes_total", "counter",
           "Bytes written to client sockets.",
           worker_sum(&WorkerStats::bytes_out));
  m.Single("chatd_http_requests_total", "counter",
           "HTTP requests answered on the HTTP port.",
           worker_sum(&WorkerStats::http_requests));
  m.Family("chatd_dropped_connections_total", "counter",
           "Connections the server closed, by reason.");
  per_kind("chatd_dropped_connections_total", "reason", kDropReasons,
           &WorkerStats::drops,
           [](int kind) { return DropReasonName(DropReason(kind)); });
  m.Family("chatd_tls_connections", "gauge",
           "Open TLS connections by how they encrypt: handshake (not yet "
           "established), user (OpenSSL in user space), kernel (kTLS).");
  per_kind("chatd_tls_connections", "mode", kTlsModes,
           &WorkerStats::tls_connections,
           [](int kind) { return TlsModeName(TlsMode(kind)); });
  m.Single("chatd_kernel_tls_available", "gauge",
           "1 if this kernel can encrypt TLS records itself (kTLS).",
           int64_t{kernel_tls_available_ ? 1 : 0});
  if (backplane_ != nullptr) {
    const NatsBackplane::Stats& b = backplane_->stats();
    const PeerHosts::Stats& p = backplane_->peer_stats();
    m.Single("chatd_backplane_connected", "gauge",
             "1 while the link to NATS (the other hosts) is up.",
             int64_t{backplane_->connected() ? 1 : 0});
    m.Single("chatd_backplane_hosts", "gauge",
             "Other hosts of the cluster whose presence is in sync here.",
             Load(p.hosts));
    m.Single("chatd_backplane_published_total", "counter",
             "NATS messages published: presence, and batches of group "
             "messages and private messages for members on other hosts.",
             Load(b.published));
    m.Single("chatd_backplane_events_published_total", "counter",
             "Group and private messages sent to other hosts (several to "
             "one group may share a NATS message).",
             Load(b.events_published));
    m.Single("chatd_backplane_dropped_total", "counter",
             "Messages that could not cross to other hosts (the link was "
             "down), and received ones that could not be delivered.",
             Load(b.dropped) + Load(p.dropped));
    m.Single("chatd_backplane_received_total", "counter",
             "Messages received from other hosts.", Load(p.received));
    m.Single("chatd_backplane_gaps_total", "counter",
             "Messages of other hosts missed, by their sequence numbers.",
             Load(p.gaps));
    m.Single("chatd_backplane_duplicates_total", "counter",
             "Messages of other hosts received twice and dropped.",
             Load(p.duplicates));
    m.Single("chatd_backplane_reconnects_total", "counter",
             "Times the link to NATS came back.", Load(b.reconnects));
  }
  if (tls_enabled()) {
    m.Family("chatd_tls_reloads_total", "counter",
             "Certificate loads (the start and each SIGHUP), by result.");
    m.Sample("chatd_tls_reloads_total", "result=\"ok\"", Load(tls_reloads_));
    m.Sample("chatd_tls_reloads_total", "result=\"error\"",
             Load(tls_reload_errors_));
    const std::shared_ptr<const TlsContext> tls = tls_[0].Get();
    if (tls != nullptr) {
      m.Single("chatd_tls_certificate_expiry_seconds", "gauge",
               "When the served certificate expires, in seconds since the "
               "Unix epoch.",
               static_cast<int64_t>(absl::ToUnixSeconds(tls->not_after())));
    }
  }
  m.Single("chatd_throttle_events_total", "counter",
           "Times a member went over its rate and its input was delayed.",
           worker_sum(&WorkerStats::throttle_events));
  m.Single("chatd_throttled_connections", "gauge",
           "Connections whose input waits for the rate right now.",
           worker_sum(&WorkerStats::throttled_connections));
  m.Single("chatd_input_pauses_total", "counter",
           "Times a worker stopped reading input for a full mailbox.",
           worker_sum(&WorkerStats::input_pauses));
  m.Single("chatd_refused_for_fds_total", "counter",
           "Connections refused because the process was out of fds.",
           acceptor_->refused_for_fds());

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
  m.Single("process_cpu_seconds_total", "counter",
           "User and system CPU time spent, in seconds.", process.cpu_seconds);
  m.Single("process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.", process.resident_bytes);
  m.Single("process_virtual_memory_bytes", "gauge",
           "Virtual memory size in bytes.", process.virtual_bytes);
  m.Single("process_open_fds", "gauge", "Open file descriptors.",
           process.open_fds);
  m.Single("process_max_fds", "gauge", "The open-file limit.", process.max_fds);
  m.Single("process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch, in seconds.",
           process.start_time_seconds);
  return m.Take();
}

}  // namespace chatd
