#include "tools/loadgen/run_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace chatd::loadgen {

bool RunPassed(const RunReport& r) {
  return r.joined == r.connections && r.disconnected == 0 && r.lost == 0 &&
         r.duplicated == 0 && r.reordered == 0 && r.corrupt == 0;
}

std::string FormatReportTable(const RunReport& r) {
  std::string out;
  auto row = [&out](absl::string_view name, const std::string& value) {
    absl::StrAppend(&out, absl::StrFormat("  %-30s %s\n", name, value));
  };
  absl::StrAppend(&out, "loadgen result (", r.protocol,
                  r.transport == "tcp" ? "" : " over ",
                  r.transport == "tcp" ? "" : r.transport,
                  r.tls ? " over TLS" : "", ")\n");
  row("connections joined / asked",
      absl::StrFormat("%d / %d (%d failed)", r.joined, r.connections,
                      r.failed));
  if (r.servers.size() > 1) {
    row(absl::StrFormat("servers (%d, round-robin)", r.servers.size()),
        absl::StrJoin(r.servers, " "));
  }
  row("groups / senders", absl::StrFormat("%d / %d", r.groups, r.senders));
  row("connect / settle seconds",
      absl::StrFormat("%.3f / %.3f", r.connect_seconds, r.settle_seconds));
  row("send / drain seconds",
      absl::StrFormat("%.3f / %.3f%s", r.send_seconds, r.drain_seconds,
                      r.drain_timed_out ? " (drain timed out)" : ""));
  row("messages sent",
      absl::StrFormat("%d (%.0f/s)", r.sent, r.messages_per_sec));
  row("deliveries expected", absl::StrCat(r.expected));
  row("deliveries delivered",
      absl::StrFormat("%d (%.0f/s)", r.delivered, r.deliveries_per_sec));
  row("lost / duplicated / reordered",
      absl::StrFormat("%d / %d / %d", r.lost, r.duplicated, r.reordered));
  row("corrupt / server errors",
      absl::StrFormat("%d / %d", r.corrupt, r.server_errors));
  row("disconnected", absl::StrCat(r.disconnected));
  row("latency us p50 / p90 / p99",
      absl::StrFormat("%.1f / %.1f / %.1f", r.latency_p50_us, r.latency_p90_us,
                      r.latency_p99_us));
  row("latency us p99.9 / max / mean",
      absl::StrFormat("%.1f / %.1f / %.1f", r.latency_p999_us, r.latency_max_us,
                      r.latency_mean_us));
  if (r.has_server) {
    const bool several = r.server_processes.size() > 1;
    const std::string summed =
        several ? absl::StrFormat(" (sum of %d)", r.server_processes.size())
                : "";
    row("server cpu seconds (send+drain)",
        absl::StrFormat("%.2f%s", r.server_cpu_seconds, summed));
    row("deliveries per server cpu sec",
        absl::StrFormat("%.0f", r.deliveries_per_server_cpu_sec));
    row("server rss kB peak / end / hwm",
        absl::StrFormat("%d / %d / %d%s", r.server_peak_rss_kb, r.server_rss_kb,
                        r.server_hwm_kb, summed));
    if (several) {
      for (const ServerProcessStats& p : r.server_processes) {
        row(absl::StrFormat("  pid %d", p.pid),
            absl::StrFormat("cpu %.2f s, rss kB %d / %d / %d", p.cpu_seconds,
                            p.peak_rss_kb, p.rss_kb, p.hwm_kb));
      }
    }
  }
  row("verdict", RunPassed(r) ? "PASS" : "FAIL");
  return out;
}

std::string FormatReportJson(const RunReport& r) {
  std::string out = absl::StrFormat(
      "{\"protocol\":\"%s\",\"transport\":\"%s\",\"tls\":%s,"
      "\"connections\":%d,"
      "\"joined\":%d,\"failed\":%d,"
      "\"groups\":%d,\"senders\":%d,\"threads\":%d,\"rate\":%.3f,"
      "\"payload_bytes\":%d,"
      "\"connect_seconds\":%.6f,\"settle_seconds\":%.6f,"
      "\"send_seconds\":%.6f,\"drain_seconds\":%.6f,\"drain_timed_out\":%s,"
      "\"sent\":%d,\"expected\":%d,\"delivered\":%d,\"lost\":%d,"
      "\"duplicated\":%d,\"reordered\":%d,\"corrupt\":%d,"
      "\"self_echoes\":%d,\"server_errors\":%d,\"disconnected\":%d,"
      "\"messages_per_sec\":%.3f,\"deliveries_per_sec\":%.3f,"
      "\"latency_us\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
      "\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}",
      r.protocol, r.transport, r.tls ? "true" : "false", r.connections,
      r.joined, r.failed, r.groups, r.senders, r.threads, r.rate,
      r.payload_bytes, r.connect_seconds, r.settle_seconds, r.send_seconds,
      r.drain_seconds, r.drain_timed_out ? "true" : "false", r.sent, r.expected,
      r.delivered, r.lost, r.duplicated, r.reordered, r.corrupt, r.self_echoes,
      r.server_errors, r.disconnected, r.messages_per_sec, r.deliveries_per_sec,
      r.latency_p50_us, r.latency_p90_us, r.latency_p99_us, r.latency_p999_us,
      r.latency_max_us, r.latency_mean_us);
  absl::StrAppend(&out, ",\"servers\":[");
  for (size_t i = 0; i < r.servers.size(); ++i) {
    // host:port holds no character that JSON would need escaped.
    absl::StrAppend(&out, i > 0 ? "," : "", "\"", r.servers[i], "\"");
  }
  absl::StrAppend(&out, "]");
  if (r.has_server) {
    absl::StrAppendFormat(
        &out,
        ",\"server_cpu_seconds\":%.3f,\"server_peak_rss_kb\":%d,"
        "\"server_rss_kb\":%d,\"server_hwm_kb\":%d,"
        "\"deliveries_per_server_cpu_sec\":%.3f",
        r.server_cpu_seconds, r.server_peak_rss_kb, r.server_rss_kb,
        r.server_hwm_kb, r.deliveries_per_server_cpu_sec);
    absl::StrAppend(&out, ",\"server_processes\":[");
    for (size_t i = 0; i < r.server_processes.size(); ++i) {
      const ServerProcessStats& p = r.server_processes[i];
      absl::StrAppendFormat(
          &out,
          "%s{\"pid\":%d,\"cpu_seconds\":%.3f,\"peak_rss_kb\":%d,"
          "\"rss_kb\":%d,\"hwm_kb\":%d}",
          i > 0 ? "," : "", p.pid, p.cpu_seconds, p.peak_rss_kb, p.rss_kb,
          p.hwm_kb);
    }
    absl::StrAppend(&out, "]");
  }
  absl::StrAppend(&out, ",\"passed\":", RunPassed(r) ? "true" : "false", "}");
  return out;
}

}  // namespace chatd::loadgen
