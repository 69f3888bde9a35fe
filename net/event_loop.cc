#include "net/event_loop.h"

#include <errno.h>
#include <glog/logging.h>
#include <unistd.h>

#include "absl/time/clock.h"

namespace chatd {
namespace {

// Events handled per epoll_wait; more stay ready for the next pass.
constexpr int kMaxEventsPerPoll = 512;

}  // namespace

EventLoop::EventLoop()
    : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), events_(kMaxEventsPerPoll) {
  PCHECK(epoll_fd_ >= 0) << "epoll_create1";
}

EventLoop::~EventLoop() { close(epoll_fd_); }

void EventLoop::Add(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  PCHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) << "add fd " << fd;
}

void EventLoop::Modify(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  PCHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0)
      << "modify fd " << fd;
}

void EventLoop::Remove(int fd) {
  PCHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr) == 0)
      << "remove fd " << fd;
}

int EventLoop::Poll(int timeout_ms) {
  // A fresh clock read, not poll_time_: the pass since then may have been
  // long, and sleeping from a stale time would wake the timer late.
  if (!timers_.empty()) timeout_ms = timers_.TimeoutMs(absl::Now(), timeout_ms);
  const int n =
      epoll_wait(epoll_fd_, events_.data(), kMaxEventsPerPoll, timeout_ms);
  poll_time_ = absl::Now();
  if (n < 0) {
    PCHECK(errno == EINTR) << "epoll_wait";
  }
  for (int i = 0; i < n; ++i) {
    static_cast<Handler*>(events_[i].data.ptr)->OnEvents(events_[i].events);
  }
  // After I/O: input that arrived just before a deadline still counts.
  timers_.RunDue(poll_time_);
  return n < 0 ? 0 : n;
}

}  // namespace chatd
