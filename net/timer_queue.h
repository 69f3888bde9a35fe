// TimerQueue holds one event loop's deadlines: every timeout a worker has to
// keep (a join or handshake that must finish, a throttled member's next
// token, a closing connection's drain limit, the shutdown grace) is a Timer
// in its loop's queue, and the loop sleeps exactly until the earliest one.
// No feature sweeps its connections on a clock of its own, and a loop with
// nothing due sleeps until I/O arrives.
//
// The queue is a binary min-heap of pointers to Timers that live inside
// their owners (a connection, the worker), each knowing its heap slot, so
// arming, re-arming and cancelling cost O(log n) and never allocate once the
// heap has grown. Owned by one EventLoop and touched only on its thread.
#ifndef CHATD_NET_TIMER_QUEUE_H_
#define CHATD_NET_TIMER_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace chatd {

class TimerQueue;

// A deadline that calls its handler once when it passes. Embedded in the
// object it serves; disarms itself when destroyed.
class Timer {
 public:
  class Handler {
   public:
    // Runs on the loop's thread once the deadline has passed. The timer is
    // already disarmed, so the handler may arm it again.
    virtual void OnTimer() = 0;

   protected:
    ~Handler() = default;
  };

  explicit Timer(Handler* handler) : handler_(handler) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return queue_ != nullptr; }
  // Meaningful only while armed.
  absl::Time deadline() const { return absl::FromUnixNanos(deadline_ns_); }

 private:
  friend class TimerQueue;
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // Every connection has a Timer, so it is kept to 32 bytes: nanoseconds
  // since the epoch (good until 2262) and a 32-bit heap slot.
  Handler* const handler_;
  TimerQueue* queue_ = nullptr;  // Set while armed.
  int64_t deadline_ns_ = 0;
  uint32_t slot_ = kNoSlot;  // Index in the queue's heap while armed.
};

class TimerQueue {
 public:
  TimerQueue() = default;
  // Every timer must be disarmed (or destroyed) first.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Arms `timer` for `deadline`, moving it if it is already armed here.
  // absl::InfiniteFuture() disarms it instead.
  void Arm(Timer* timer, absl::Time deadline);
  // Disarms `timer`; harmless if it is not armed.
  void Disarm(Timer* timer);

  // Milliseconds from `now` until the earliest deadline, rounded up so a
  // loop that sleeps that long wakes with the timer due; `cap_ms` when that
  // is sooner or nothing is armed (-1 meaning no cap: sleep forever).
  int TimeoutMs(absl::Time now, int cap_ms) const;

  // Runs the handler of every timer due at `now`, earliest first. A handler
  // that arms a timer for `now` or earlier does not loop here forever: only
  // as many timers run as were armed when the call began; the rest are due
  // at the next call.
  void RunDue(absl::Time now);

  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

 private:
  void Place(Timer* timer, size_t slot);
  void SiftUp(size_t slot);
  void SiftDown(size_t slot);
  void Remove(Timer* timer);

  std::vector<Timer*> heap_;
};

}  // namespace chatd

#endif  // CHATD_NET_TIMER_QUEUE_H_
