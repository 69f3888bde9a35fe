// WorkerStats are one worker's counters: written only by the worker's own
// thread, read by any thread (the metrics endpoint, tests, the log at
// shutdown). Every field is a relaxed atomic: a counter publishes no other
// data, and a reader wants a recent value, not a consistent snapshot of all
// of them. A read never stalls the worker.
#ifndef CHATD_SERVER_WORKER_STATS_H_
#define CHATD_SERVER_WORKER_STATS_H_

#include <atomic>
#include <cstdint>

namespace chatd {

struct WorkerStats {
  // Adds `n` to a counter or gauge. One writer per counter, so a load and a
  // store would do; fetch_add keeps it obviously right at the same cost on
  // these rare events.
  template <typename T>
  static void Add(std::atomic<T>& counter, T n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  // Times a member found its token bucket empty and its input was paused.
  std::atomic<uint64_t> throttle_events{0};
  // Connections whose input waits for a token right now.
  std::atomic<int64_t> throttled_connections{0};
  // Times this worker stopped reading chat input because a mailbox it
  // posts to was over the high-water mark.
  std::atomic<uint64_t> input_pauses{0};
  // Whether input is paused for that reason right now (0 or 1).
  std::atomic<int64_t> input_paused{0};
};

}  // namespace chatd

#endif  // CHATD_SERVER_WORKER_STATS_H_
