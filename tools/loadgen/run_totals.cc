#include "tools/loadgen/run_totals.h"

#include <algorithm>
#include <cstdio>

#include "tools/loadgen/clock.h"
#include "tools/loadgen/latency_histogram.h"

namespace chatd::loadgen {

RunTotals SumTotals(
    const std::vector<std::unique_ptr<ReactorThread>>& threads) {
  RunTotals t;
  for (const auto& thread : threads) {
    const ThreadCounters& c = thread->counters();
    t.started += c.started.Get();
    t.connected += c.connected.Get();
    t.joined += c.joined.Get();
    t.failed += c.failed.Get();
    t.disconnected += c.disconnected.Get();
    t.notices_expected += c.notices_expected.Get();
    t.notices_seen += c.notices_seen.Get();
    t.last_event_ns = std::max(t.last_event_ns, c.last_event_ns.Get());
    t.sent += c.sent.Get();
    t.senders_done += c.senders_done.Get();
    t.delivered += c.delivered.Get();
    t.duplicates += c.duplicates.Get();
    t.reordered += c.reordered.Get();
    t.corrupt += c.corrupt.Get();
    t.server_errors += c.server_errors.Get();
    t.last_delivery_ns = std::max(t.last_delivery_ns, c.last_delivery_ns.Get());
  }
  return t;
}

void ProgressPrinter::MaybePrint(
    absl::string_view phase, int64_t now_ns,
    const std::vector<std::unique_ptr<ReactorThread>>& threads) {
  if (last_print_ns_ == 0) last_print_ns_ = start_ns_;
  if (now_ns - last_print_ns_ < kNsPerSec) return;
  const RunTotals t = SumTotals(threads);
  LatencySnapshot latency;
  for (const auto& thread : threads) thread->latency().AddTo(&latency);
  const double seconds =
      static_cast<double>(now_ns - last_print_ns_) / kNsPerSec;
  const double rate = (t.delivered - last_delivered_) / seconds;
  fprintf(stderr,
          "[%7.1fs %-7s] connected %lld/%lld joined %lld failed %lld | "
          "sent %lld delivered %lld (%.0f/s) p99 %.1f us\n",
          static_cast<double>(now_ns - start_ns_) / kNsPerSec,
          std::string(phase).c_str(), static_cast<long long>(t.connected),
          static_cast<long long>(connections_),
          static_cast<long long>(t.joined), static_cast<long long>(t.failed),
          static_cast<long long>(t.sent), static_cast<long long>(t.delivered),
          rate, latency.Percentile(0.99) / 1000.0);
  last_print_ns_ = now_ns;
  last_delivered_ = t.delivered;
}

}  // namespace chatd::loadgen
