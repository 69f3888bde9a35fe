// DeadlineTimer is a timerfd armed at an absolute CLOCK_MONOTONIC time, so a
// reactor thread can sleep in epoll until the next paced connect or send with
// nanosecond precision (epoll_wait's own timeout is whole milliseconds).
// Owned by one ReactorThread; one thread.
#ifndef CHATD_TOOLS_LOADGEN_DEADLINE_TIMER_H_
#define CHATD_TOOLS_LOADGEN_DEADLINE_TIMER_H_

#include <cstdint>

namespace chatd::loadgen {

class DeadlineTimer {
 public:
  DeadlineTimer();
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  int fd() const { return fd_; }

  // Makes fd() readable at `deadline_ns` (MonotonicNowNs() time); 0 disarms.
  // Re-arming at the same deadline costs no syscall.
  void ArmAt(int64_t deadline_ns);
  // Clears the readable state after it fired.
  void Acknowledge();

 private:
  const int fd_;
  int64_t armed_ns_ = 0;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_DEADLINE_TIMER_H_
