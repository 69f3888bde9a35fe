#include "tools/loadgen/deadline_timer.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace chatd::loadgen {

DeadlineTimer::DeadlineTimer()
    : fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  PCHECK(fd_ >= 0) << "timerfd_create";
}

DeadlineTimer::~DeadlineTimer() { close(fd_); }

void DeadlineTimer::ArmAt(int64_t deadline_ns) {
  if (deadline_ns == armed_ns_) return;
  armed_ns_ = deadline_ns;
  itimerspec spec{};
  // An all-zero it_value disarms; a deadline already past must still fire.
  if (deadline_ns > 0) {
    spec.it_value.tv_sec = deadline_ns / 1000000000;
    spec.it_value.tv_nsec = deadline_ns % 1000000000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) {
      spec.it_value.tv_nsec = 1;
    }
  }
  PCHECK(timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0)
      << "timerfd_settime";
}

void DeadlineTimer::Acknowledge() {
  uint64_t expirations;
  while (read(fd_, &expirations, sizeof(expirations)) < 0 && errno == EINTR) {
  }
  armed_ns_ = 0;
}

}  // namespace chatd::loadgen
