// ThreadCounters are one reactor thread's running totals. The owning thread
// is the only writer (a relaxed load and store, no locked instruction); the
// controller reads them for progress lines and phase decisions, which need
// only eventually-correct numbers. Aligned so two threads' counters never
// share a cache line.
#ifndef CHATD_TOOLS_LOADGEN_THREAD_COUNTERS_H_
#define CHATD_TOOLS_LOADGEN_THREAD_COUNTERS_H_

#include <atomic>
#include <cstdint>

namespace chatd::loadgen {

class Counter {
 public:
  void Add(int64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

struct alignas(64) ThreadCounters {
  Counter started;           // connect() issued.
  Counter connected;         // TCP up.
  Counter joined;            // Protocol join confirmed.
  Counter failed;            // Closed before joining (refused, timeout, error).
  Counter disconnected;      // Closed after joining.
  Counter notices_expected;  // "X has joined" announcements still to come...
  Counter notices_seen;      // ...and those that came.
  Counter last_event_ns;     // Last join or announcement, for settling.
  Counter sent;
  Counter senders_done;
  Counter delivered;  // Distinct (sender, seq) per receiver.
  Counter duplicates;
  Counter reordered;
  Counter corrupt;        // Unparseable, or from a sender not in the group.
  Counter self_echoes;    // Own messages sent back (Redis does); ignored.
  Counter server_errors;  // Error replies from the server.
  Counter last_delivery_ns;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_THREAD_COUNTERS_H_
