#include "net/event_fd.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include <glog/logging.h>

namespace chatd {

EventFd::EventFd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  PCHECK(fd_ >= 0) << "eventfd";
}

EventFd::~EventFd() { close(fd_); }

void EventFd::Signal() {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the fd is readable anyway.
  while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void EventFd::Drain() {
  uint64_t count;
  while (read(fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
}

}  // namespace chatd
