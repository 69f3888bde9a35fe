// The one clock loadgen stamps and measures with: CLOCK_MONOTONIC in
// nanoseconds. Senders put it in every message and receivers subtract it, so
// it must be the same clock in every thread (it is: the client and the server
// under test run on one machine). Owned by the loadgen tool; any thread.
#ifndef CHATD_TOOLS_LOADGEN_CLOCK_H_
#define CHATD_TOOLS_LOADGEN_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace chatd::loadgen {

inline int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline constexpr int64_t kNsPerMs = 1000000;
inline constexpr int64_t kNsPerSec = 1000000000;

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_CLOCK_H_
