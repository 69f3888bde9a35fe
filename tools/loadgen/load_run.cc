#include "tools/loadgen/load_run.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "net/tls_context.h"
#include "tools/loadgen/client_socket.h"
#include "tools/loadgen/clock.h"
#include "tools/loadgen/latency_histogram.h"
#include "tools/loadgen/reactor_thread.h"
#include "tools/loadgen/run_shared.h"
#include "tools/loadgen/run_totals.h"
#include "tools/loadgen/server_stats.h"

namespace chatd::loadgen {
namespace {

// How often the controller looks at the counters.
constexpr auto kTick = std::chrono::milliseconds(5);
// How often it samples the server's memory.
constexpr int64_t kMemorySampleNs = 100 * kNsPerMs;

using Threads = std::vector<std::unique_ptr<ReactorThread>>;

double Seconds(int64_t ns) { return static_cast<double>(ns) / kNsPerSec; }

class Controller {
 public:
  Controller(const LoadConfig& config, std::vector<ServerEndpoint> servers,
             std::vector<std::shared_ptr<const TlsContext>> tls_contexts)
      : config_(config),
        shared_(config),
        stats_(config.server_pids),
        progress_(config.shape.connections, MonotonicNowNs()) {
    shared_.servers = std::move(servers);
    shared_.tls_contexts = std::move(tls_contexts);
    for (int i = 0; i < config.threads; ++i) {
      threads_.push_back(std::make_unique<ReactorThread>(i, &shared_));
      shared_.wakers.push_back(threads_.back()->waker());
    }
    for (uint32_t id = 0; id < config.shape.connections; ++id) {
      threads_[shared_.ThreadOf(id)]->AddConnection(id);
    }
  }

  RunReport Run();

 private:
  // Sleeps one tick, prints progress and samples the server.
  void Tick(absl::string_view phase);
  void ConnectAll();
  void Settle();
  void FixPlan();
  void SendAll();
  void Drain();
  void SetPhase(Phase phase);
  void Tally();

  const LoadConfig& config_;
  RunShared shared_;
  ServerStatsSet stats_;
  ProgressPrinter progress_;
  Threads threads_;
  RunReport report_;
  int64_t last_memory_sample_ns_ = 0;
  int64_t active_senders_ = 0;
  std::vector<uint32_t> group_members_;  // By group, from the plan.
};

void Controller::Tick(absl::string_view phase) {
  std::this_thread::sleep_for(kTick);
  const int64_t now = MonotonicNowNs();
  if (config_.progress) progress_.MaybePrint(phase, now, threads_);
  if (stats_.enabled() && now - last_memory_sample_ns_ >= kMemorySampleNs) {
    last_memory_sample_ns_ = now;
    stats_.SampleMemory();
  }
}

void Controller::SetPhase(Phase phase) {
  shared_.phase.store(phase, std::memory_order_release);
  for (auto& thread : threads_) thread->waker()->Wake();
}

void Controller::ConnectAll() {
  const int64_t start = MonotonicNowNs();
  const int64_t n = config_.shape.connections;
  // Every connection has its own deadline; this only guards against a bug
  // leaving the phase open.
  const int64_t pacing_ns =
      config_.connect_rate > 0
          ? static_cast<int64_t>(n * kNsPerSec / config_.connect_rate)
          : 0;
  const int64_t cap =
      start + pacing_ns + 2 * config_.connect_timeout_ns + 10 * kNsPerSec;
  while (true) {
    const RunTotals t = SumTotals(threads_);
    if (t.joined + t.failed >= n) break;
    if (MonotonicNowNs() > cap) {
      LOG(ERROR) << "connect phase did not finish: " << t.joined << " joined, "
                 << t.failed << " failed of " << n;
      break;
    }
    Tick("connect");
  }
  report_.connect_seconds = Seconds(MonotonicNowNs() - start);
}

void Controller::Settle() {
  const int64_t start = MonotonicNowNs();
  while (true) {
    const RunTotals t = SumTotals(threads_);
    const int64_t now = MonotonicNowNs();
    // Settled means a quiet spell with no join or announcement. With every
    // connection joined, the announcements still due are also counted (each
    // member hears of all who joined after it, from the welcome's online
    // count), so a server slower than the quiet spell is waited for too.
    // That count is a lower bound: a server whose online counts lag its
    // announcements sends a few more.
    const bool quiet =
        now - std::max(start, t.last_event_ns) >= config_.settle_quiet_ns;
    const bool counted = t.failed > 0 || t.notices_seen >= t.notices_expected;
    if (quiet && counted) {
      VLOG(1) << "settled: " << t.notices_seen << " join announcements, "
              << t.notices_expected << " expected at least";
      break;
    }
    if (now - start >= config_.settle_timeout_ns) {
      LOG(WARNING) << "join announcements did not settle within "
                   << "--settle_timeout: " << t.notices_seen << " of "
                   << t.notices_expected << " expected arrived";
      break;
    }
    Tick("settle");
  }
  report_.settle_seconds = Seconds(MonotonicNowNs() - start);
}

void Controller::FixPlan() {
  const WorkloadShape& shape = config_.shape;
  shared_.member.assign(shape.connections, false);
  group_members_.assign(shape.groups, 0);
  for (uint32_t id = 0; id < shape.connections; ++id) {
    if (shared_.joined[id].load(std::memory_order_acquire)) {
      shared_.member[id] = true;
      ++group_members_[shape.GroupOf(id)];
    }
  }
  shared_.pacing_receiver.assign(shape.senders, kNoReceiver);
  for (uint32_t s = 0; s < shape.senders; ++s) {
    if (!shared_.member[s]) continue;
    ++active_senders_;
    // The lowest-numbered other member of the group.
    for (uint32_t m = shape.GroupOf(s); m < shape.connections;
         m += shape.groups) {
      if (m != s && shared_.member[m]) {
        shared_.pacing_receiver[s] = m;
        break;
      }
    }
  }
  shared_.send_start_ns = MonotonicNowNs();
  shared_.send_end_ns = config_.duration_ns > 0
                            ? shared_.send_start_ns + config_.duration_ns
                            : INT64_MAX;
}

void Controller::SendAll() {
  stats_.StartCpu();
  FixPlan();
  const int64_t start = shared_.send_start_ns;
  SetPhase(Phase::kSend);
  int64_t last_progress_ns = start;
  int64_t last_sent = 0;
  int64_t last_delivered = 0;
  while (true) {
    const RunTotals t = SumTotals(threads_);
    const int64_t now = MonotonicNowNs();
    if (t.senders_done >= active_senders_) break;
    if (now - start >= config_.send_timeout_ns) {
      LOG(WARNING) << "sending stopped by --send_timeout";
      break;
    }
    // A closed-loop sender whose last messages were lost waits forever.
    if (t.sent != last_sent || t.delivered != last_delivered) {
      last_progress_ns = now;
      last_sent = t.sent;
      last_delivered = t.delivered;
    } else if (now - last_progress_ns >= config_.drain_timeout_ns) {
      LOG(WARNING) << "sending stalled: nothing sent or delivered for "
                   << "--drain_timeout; stopping";
      break;
    }
    Tick("send");
  }
  SetPhase(Phase::kDrain);
  // Once every thread has seen kDrain no sender moves again, and what they
  // sent is visible here (release/acquire on seen_phase).
  for (auto& thread : threads_) {
    while (thread->seen_phase() < Phase::kDrain) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  report_.send_seconds = Seconds(MonotonicNowNs() - start);
  Drain();
  stats_.StopCpu();
}

void Controller::Drain() {
  const WorkloadShape& shape = config_.shape;
  int64_t expected = 0;
  for (auto& thread : threads_) {
    for (const auto& c : thread->connections()) {
      const uint32_t id = c->id();
      if (!shape.IsSender(id) || !shared_.member[id]) continue;
      expected += static_cast<int64_t>(c->sent()) *
                  (group_members_[shape.GroupOf(id)] - 1);
    }
  }
  const int64_t start = MonotonicNowNs();
  while (true) {
    const RunTotals t = SumTotals(threads_);
    if (t.delivered >= expected) break;
    if (MonotonicNowNs() - start >= config_.drain_timeout_ns) {
      report_.drain_timed_out = true;
      LOG(WARNING) << "drain timed out with " << t.delivered << " of "
                   << expected << " deliveries";
      break;
    }
    Tick("drain");
  }
  report_.drain_seconds = Seconds(MonotonicNowNs() - start);
}

void Controller::Tally() {
  const WorkloadShape& shape = config_.shape;
  std::vector<uint32_t> sent(shape.senders, 0);
  for (auto& thread : threads_) {
    for (const auto& c : thread->connections()) {
      if (shape.IsSender(c->id())) sent[c->id()] = c->sent();
    }
  }
  RunReport& r = report_;
  for (auto& thread : threads_) {
    for (const auto& c : thread->connections()) {
      const uint32_t id = c->id();
      if (!shared_.member[id]) continue;
      const DeliveryLedger& ledger = c->ledger();
      const uint32_t group = shape.GroupOf(id);
      for (uint32_t slot = 0; slot < ledger.slots(); ++slot) {
        const uint32_t s = shape.SenderAt(group, slot);
        if (s == id || !shared_.member[s]) {
          r.corrupt += ledger.distinct(slot);  // Nothing was due.
          continue;
        }
        const uint32_t got = ledger.DistinctBelow(slot, sent[s]);
        r.expected += sent[s];
        r.delivered += got;
        r.lost += sent[s] - got;
        r.corrupt += ledger.distinct(slot) - got;  // Never-sent seqs.
      }
      r.duplicated += static_cast<int64_t>(ledger.duplicates());
      r.reordered += static_cast<int64_t>(ledger.reordered());
    }
  }
  for (uint32_t s = 0; s < shape.senders; ++s) r.sent += sent[s];

  const RunTotals t = SumTotals(threads_);
  r.joined = t.joined;
  r.failed = shape.connections - t.joined;
  r.corrupt += t.corrupt;
  r.server_errors = t.server_errors;
  r.disconnected = t.disconnected;
  for (auto& thread : threads_) {
    r.self_echoes += thread->counters().self_echoes.Get();
  }
  r.senders = active_senders_;
  if (r.send_seconds > 0) r.messages_per_sec = r.sent / r.send_seconds;
  const double delivery_seconds =
      Seconds(t.last_delivery_ns - shared_.send_start_ns);
  if (delivery_seconds > 0)
    r.deliveries_per_sec = r.delivered / delivery_seconds;

  LatencySnapshot latency;
  for (auto& thread : threads_) thread->latency().AddTo(&latency);
  r.latency_p50_us = latency.Percentile(0.50) / 1000.0;
  r.latency_p90_us = latency.Percentile(0.90) / 1000.0;
  r.latency_p99_us = latency.Percentile(0.99) / 1000.0;
  r.latency_p999_us = latency.Percentile(0.999) / 1000.0;
  r.latency_max_us = latency.max() / 1000.0;
  r.latency_mean_us = latency.MeanNs() / 1000.0;
}

RunReport Controller::Run() {
  RunReport& r = report_;
  r.protocol = std::string(ProtocolName(config_.protocol));
  r.transport = config_.transport == TransportKind::kWebSocket ? "ws" : "tcp";
  r.tls = config_.tls;
  r.connections = config_.shape.connections;
  r.groups = config_.shape.groups;
  r.rate = config_.rate;
  r.payload_bytes = static_cast<int64_t>(config_.payload_bytes);
  r.threads = config_.threads;
  for (const ServerEndpoint& server : shared_.servers) {
    r.servers.push_back(FormatServerAddress(server.address));
  }

  for (auto& thread : threads_) thread->Start();
  ConnectAll();
  Settle();
  SendAll();
  SetPhase(Phase::kStop);
  for (auto& thread : threads_) thread->Join();
  Tally();

  if (stats_.enabled()) {
    stats_.SampleMemory();
    const ServerProcessStats total = stats_.Total();
    r.has_server = true;
    r.server_cpu_seconds = total.cpu_seconds;
    r.server_rss_kb = total.rss_kb;
    r.server_peak_rss_kb = total.peak_rss_kb;
    r.server_hwm_kb = total.hwm_kb;
    r.server_processes = stats_.Processes();
    if (r.server_cpu_seconds > 0) {
      r.deliveries_per_server_cpu_sec = r.delivered / r.server_cpu_seconds;
    }
  }
  return r;
}

}  // namespace

absl::StatusOr<RunReport> RunLoad(const LoadConfig& config) {
  const std::vector<ServerAddress> addresses =
      config.servers.empty()
          ? std::vector<ServerAddress>{ServerAddress{config.host, config.port}}
          : config.servers;
  std::vector<ServerEndpoint> servers;
  for (const ServerAddress& address : addresses) {
    absl::StatusOr<sockaddr_in> resolved =
        ResolveIpv4(address.host, address.port);
    if (!resolved.ok()) return resolved.status();
    servers.push_back(ServerEndpoint{address, *resolved});
  }
  std::vector<std::shared_ptr<const TlsContext>> tls_contexts;
  if (config.tls) {
    TlsContext::ClientOptions options;
    options.ca_file = config.tls_ca;
    // chatd's HTTPS port picks http/1.1 for the upgrade when offered.
    if (config.transport == TransportKind::kWebSocket)
      options.alpn = "http/1.1";
    for (int thread = 0; thread < config.threads; ++thread) {
      absl::StatusOr<std::shared_ptr<const TlsContext>> loaded =
          TlsContext::LoadClient(options);
      if (!loaded.ok()) return loaded.status();
      tls_contexts.push_back(*std::move(loaded));
    }
  }
  Controller controller(config, std::move(servers), std::move(tls_contexts));
  return controller.Run();
}

}  // namespace chatd::loadgen
