#include "net/event_loop.h"

#include <errno.h>
#include <unistd.h>

#include <glog/logging.h>

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
  const int n =
      epoll_wait(epoll_fd_, events_.data(), kMaxEventsPerPoll, timeout_ms);
  poll_time_ = absl::Now();
  if (n < 0) {
    PCHECK(errno == EINTR) << "epoll_wait";
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    static_cast<Handler*>(events_[i].data.ptr)->OnEvents(events_[i].events);
  }
  return n;
}

}  // namespace chatd
