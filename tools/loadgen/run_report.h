// RunReport is the outcome of one loadgen run: what was asked, what was
// sent and delivered, what went wrong, latency percentiles and, with
// --server_pid(s), the server processes' CPU and memory, summed. Filled by
// LoadRun, printed by loadgen_main as a human table or one JSON object, and
// judged by RunPassed(), which decides the exit status. Plain data.
#ifndef CHATD_TOOLS_LOADGEN_RUN_REPORT_H_
#define CHATD_TOOLS_LOADGEN_RUN_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/server_stats.h"

namespace chatd::loadgen {

struct RunReport {
  // The workload.
  std::string protocol;
  std::string transport = "tcp";  // "tcp" or "ws" (--transport).
  bool tls = false;               // Under the transport (--tls).
  int64_t connections = 0;
  int64_t groups = 0;
  int64_t senders = 0;  // Senders that were members when sending began.
  double rate = 0;
  int64_t payload_bytes = 0;
  int threads = 0;
  // "host:port" of every server, in --servers order (connection i went to
  // servers[i % size]); one entry without --servers.
  std::vector<std::string> servers;

  // Connect phase.
  int64_t joined = 0;
  int64_t failed = 0;
  double connect_seconds = 0;
  double settle_seconds = 0;

  // Send and drain.
  double send_seconds = 0;
  double drain_seconds = 0;
  bool drain_timed_out = false;
  int64_t sent = 0;
  int64_t expected = 0;
  int64_t delivered = 0;  // Distinct, and only of messages actually sent.
  int64_t lost = 0;
  int64_t duplicated = 0;
  int64_t reordered = 0;
  int64_t corrupt = 0;
  int64_t self_echoes = 0;
  int64_t server_errors = 0;
  int64_t disconnected = 0;
  double messages_per_sec = 0;
  double deliveries_per_sec = 0;

  // Delivery latency, microseconds.
  double latency_p50_us = 0;
  double latency_p90_us = 0;
  double latency_p99_us = 0;
  double latency_p999_us = 0;
  double latency_max_us = 0;
  double latency_mean_us = 0;

  // With --server_pid or --server_pids: sums over all the processes.
  bool has_server = false;
  double server_cpu_seconds = 0;   // Over send + drain.
  int64_t server_peak_rss_kb = 0;  // Max summed VmRSS sampled in this run.
  int64_t server_rss_kb = 0;       // At the end.
  // VmHWM at the end: the peak over each server's whole life, which may
  // predate this run; summed (the peaks need not coincide).
  int64_t server_hwm_kb = 0;
  double deliveries_per_server_cpu_sec = 0;
  // The same figures per process, in --server_pids order.
  std::vector<ServerProcessStats> server_processes;
};

// True when every connection joined and stayed, and nothing was lost,
// duplicated, reordered or corrupted.
bool RunPassed(const RunReport& report);

std::string FormatReportTable(const RunReport& report);
// One line, no trailing newline.
std::string FormatReportJson(const RunReport& report);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_RUN_REPORT_H_
