// Waker wakes one reactor thread from any other thread: the controller when
// the phase changes, a receiving thread when it acknowledges a sender that
// lives on this thread. Wakeups coalesce (libuv's async pattern): only the
// caller that moves `pending` from false to true writes the eventfd, and the
// owning thread clears the flag before it looks at what changed. Owned by
// its ReactorThread.
#ifndef CHATD_TOOLS_LOADGEN_WAKER_H_
#define CHATD_TOOLS_LOADGEN_WAKER_H_

#include <atomic>

#include "net/event_fd.h"

namespace chatd::loadgen {

class Waker {
 public:
  int fd() const { return event_fd_.fd(); }

  // Any thread. Sequentially consistent with the caller's earlier stores
  // (e.g. a sender's ack count): either this call sees `pending` cleared and
  // signals, or the owner's Clear() came later and the owner will see them.
  void Wake() {
    if (pending_.load()) return;
    if (!pending_.exchange(true)) event_fd_.Signal();
  }

  // Owner thread, when the eventfd polls readable, before acting on it.
  // Drains before clearing, as libuv does: cleared first, a Wake() between
  // the two would signal and see its signal drained, leave `pending` set,
  // and every later Wake() would return early with nothing left to poll
  // (a closed-loop sender whose acknowledgements stopped waking it).
  void Clear() {
    event_fd_.Drain();
    pending_.store(false);
  }

 private:
  EventFd event_fd_;
  std::atomic<bool> pending_{false};
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_WAKER_H_
