// ServerStats samples the server under test from /proc/<pid>: CPU time
// (utime + stime) and resident memory (VmRSS now, VmHWM peak). Used by the
// controller thread only. A server that cannot be read (gone, other user)
// yields zeros and one warning. ServerStatsSet does the same for several
// processes (a chatd cluster and its nats-server) and sums them.
#ifndef CHATD_TOOLS_LOADGEN_SERVER_STATS_H_
#define CHATD_TOOLS_LOADGEN_SERVER_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace chatd::loadgen {

struct ProcessMemory {
  int64_t rss_kb = 0;  // VmRSS
  int64_t hwm_kb = 0;  // VmHWM: the kernel's own peak of VmRSS.
};

// Parses /proc/<pid>/stat text; seconds of user + system CPU, or -1.
double ParseCpuSeconds(const std::string& stat_text, long ticks_per_second);
// Parses /proc/<pid>/status text.
ProcessMemory ParseProcessMemory(const std::string& status_text);

class ServerStats {
 public:
  explicit ServerStats(int pid);

  bool enabled() const { return pid_ > 0; }
  // User + system CPU seconds so far; 0 if unreadable.
  double CpuSeconds();
  // Reads VmRSS/VmHWM and keeps the peak VmRSS seen.
  ProcessMemory SampleMemory();
  int64_t peak_rss_kb() const { return peak_rss_kb_; }

 private:
  std::string Read(const char* file);

  const int pid_;
  int64_t peak_rss_kb_ = 0;
  bool warned_ = false;
};

// One process's figures, or (ServerStatsSet::Total) the sum over all.
struct ServerProcessStats {
  int pid = 0;              // 0 in a total.
  double cpu_seconds = 0;   // Between StartCpu() and StopCpu().
  int64_t peak_rss_kb = 0;  // Max VmRSS sampled (a total: of the sum).
  int64_t rss_kb = 0;       // VmRSS at the last sample.
  int64_t hwm_kb = 0;       // VmHWM at the last sample (a total: the sum).
};

class ServerStatsSet {
 public:
  explicit ServerStatsSet(const std::vector<int>& pids);

  bool enabled() const { return !processes_.empty(); }
  // Marks the start and the end of the interval whose CPU time counts.
  void StartCpu();
  void StopCpu();
  // Samples every process's memory, one after the other, and keeps each
  // one's peak VmRSS and the peak of their sum.
  void SampleMemory();
  // In the order of the pids given.
  std::vector<ServerProcessStats> Processes() const;
  // Sums over the processes; peak_rss_kb is the peak of the summed
  // samples, hwm_kb the sum of the peaks (which may not coincide).
  ServerProcessStats Total() const;

 private:
  struct Process {
    explicit Process(int pid) : stats(pid), result{pid} {}
    ServerStats stats;
    double cpu_start = 0;
    ServerProcessStats result;
  };

  std::vector<Process> processes_;
  int64_t peak_total_rss_kb_ = 0;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_SERVER_STATS_H_
