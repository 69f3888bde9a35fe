// ServerStats samples the server under test from /proc/<pid>: CPU time
// (utime + stime) and resident memory (VmRSS now, VmHWM peak). Used by the
// controller thread only. A server that cannot be read (gone, other user)
// yields zeros and one warning.
#ifndef CHATD_TOOLS_LOADGEN_SERVER_STATS_H_
#define CHATD_TOOLS_LOADGEN_SERVER_STATS_H_

#include <cstdint>
#include <string>

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

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_SERVER_STATS_H_
