// ThreadContext is what one reactor thread's connections share: its event
// loop, counters, latency histogram, read buffer and the list of
// connections with output to flush at the end of the pass. Owned by a
// ReactorThread; everything here is touched only on that thread, except
// `counters` and `latency`, which the controller may read.
#ifndef CHATD_TOOLS_LOADGEN_THREAD_CONTEXT_H_
#define CHATD_TOOLS_LOADGEN_THREAD_CONTEXT_H_

#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "tools/loadgen/latency_histogram.h"
#include "tools/loadgen/run_shared.h"
#include "tools/loadgen/thread_counters.h"

namespace chatd::loadgen {

class Connection;

struct ThreadContext {
  // One read() fills at most this much; enough for hundreds of messages.
  static constexpr size_t kReadBufferBytes = 256 * 1024;

  ThreadContext(int i, RunShared* s)
      : index(i), shared(s), read_buffer(new char[kReadBufferBytes]) {}

  // True once this thread has seen Phase::kSend (with acquire), so the
  // controller's send plan in `shared` is safe to read.
  bool PlanVisible() {
    if (!plan_visible &&
        shared->phase.load(std::memory_order_acquire) >= Phase::kSend) {
      plan_visible = true;
    }
    return plan_visible;
  }

  const int index;
  RunShared* const shared;
  EventLoop loop;
  ThreadCounters counters;
  LatencyHistogram latency;
  std::unique_ptr<char[]> read_buffer;
  std::vector<Connection*> dirty;
  // Scratch for formatting one outgoing message: its text, then its frame.
  std::string text;
  std::string frame;
  // When the bytes being parsed were read; receive time of their messages.
  int64_t now_ns = 0;
  // A sender on this thread may go on: its pacing receiver (on this thread)
  // acknowledged, or its output queue drained.
  bool pump_senders = false;
  bool plan_visible = false;
  int problems_logged = 0;  // Caps per-connection warnings in the log.
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_THREAD_CONTEXT_H_
