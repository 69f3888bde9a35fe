// Counters for /metrics that one thread writes and any thread reads: a
// worker's or a shard's. With one writer, a relaxed load and store is an
// exact increment and costs no locked instruction, which matters for the
// counters bumped on every read, write and fan-out. Readers get a recent
// value, never a torn one; a counter publishes no other data, so relaxed.
#ifndef CHATD_NET_SINGLE_WRITER_COUNTER_H_
#define CHATD_NET_SINGLE_WRITER_COUNTER_H_

#include <atomic>

namespace chatd {

// Only the counter's one writing thread may call this.
template <typename T>
void SingleWriterAdd(std::atomic<T>& counter, T n) {
  counter.store(counter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
}

}  // namespace chatd

#endif  // CHATD_NET_SINGLE_WRITER_COUNTER_H_
