#include "tools/loadgen/server_stats.h"

#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chatd::loadgen {

double ParseCpuSeconds(const std::string& stat_text, long ticks_per_second) {
  // The command name (field 2) is in parentheses and may hold spaces, so
  // count fields from the last ')'. utime and stime are fields 14 and 15.
  const size_t paren = stat_text.rfind(')');
  if (paren == std::string::npos || ticks_per_second <= 0) return -1;
  const std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat_text).substr(paren + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state).
  constexpr size_t kUtime = 14 - 3;
  constexpr size_t kStime = 15 - 3;
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() <= kStime || !absl::SimpleAtoi(fields[kUtime], &utime) ||
      !absl::SimpleAtoi(fields[kStime], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / ticks_per_second;
}

ProcessMemory ParseProcessMemory(const std::string& status_text) {
  ProcessMemory memory;
  for (absl::string_view line : absl::StrSplit(status_text, '\n')) {
    int64_t* target = nullptr;
    if (absl::ConsumePrefix(&line, "VmRSS:")) {
      target = &memory.rss_kb;
    } else if (absl::ConsumePrefix(&line, "VmHWM:")) {
      target = &memory.hwm_kb;
    } else {
      continue;
    }
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    if (!absl::SimpleAtoi(line, target)) *target = 0;
  }
  return memory;
}

ServerStats::ServerStats(int pid) : pid_(pid) {}

std::string ServerStats::Read(const char* file) {
  std::ifstream in(absl::StrCat("/proc/", pid_, "/", file));
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !warned_) {
    warned_ = true;
    LOG(WARNING) << "cannot read /proc/" << pid_ << "/" << file
                 << "; server statistics will be zero";
  }
  return text.str();
}

double ServerStats::CpuSeconds() {
  if (!enabled()) return 0;
  const double seconds = ParseCpuSeconds(Read("stat"), sysconf(_SC_CLK_TCK));
  return seconds < 0 ? 0 : seconds;
}

ProcessMemory ServerStats::SampleMemory() {
  if (!enabled()) return ProcessMemory();
  const ProcessMemory memory = ParseProcessMemory(Read("status"));
  peak_rss_kb_ = std::max(peak_rss_kb_, memory.rss_kb);
  return memory;
}

ServerStatsSet::ServerStatsSet(const std::vector<int>& pids) {
  for (int pid : pids) {
    if (pid > 0) processes_.emplace_back(pid);
  }
}

void ServerStatsSet::StartCpu() {
  for (Process& p : processes_) p.cpu_start = p.stats.CpuSeconds();
}

void ServerStatsSet::StopCpu() {
  for (Process& p : processes_) {
    // A process gone by now reads as 0: count nothing rather than minus.
    p.result.cpu_seconds = std::max(0.0, p.stats.CpuSeconds() - p.cpu_start);
  }
}

void ServerStatsSet::SampleMemory() {
  int64_t total = 0;
  for (Process& p : processes_) {
    const ProcessMemory memory = p.stats.SampleMemory();
    p.result.rss_kb = memory.rss_kb;
    p.result.hwm_kb = memory.hwm_kb;
    p.result.peak_rss_kb = p.stats.peak_rss_kb();
    total += memory.rss_kb;
  }
  peak_total_rss_kb_ = std::max(peak_total_rss_kb_, total);
}

std::vector<ServerProcessStats> ServerStatsSet::Processes() const {
  std::vector<ServerProcessStats> out;
  for (const Process& p : processes_) out.push_back(p.result);
  return out;
}

ServerProcessStats ServerStatsSet::Total() const {
  ServerProcessStats total;
  for (const Process& p : processes_) {
    total.cpu_seconds += p.result.cpu_seconds;
    total.rss_kb += p.result.rss_kb;
    total.hwm_kb += p.result.hwm_kb;
  }
  total.peak_rss_kb = peak_total_rss_kb_;
  return total;
}

}  // namespace chatd::loadgen
