// EventLoop is one thread's epoll reactor. Each worker thread and the
// acceptor thread own one; only the owning thread may call its methods. It
// dispatches readiness to Handlers, runs its TimerQueue's due timers, and
// leaves the rest of the pass structure (what to do between polls, when to
// stop) to its owner.
//
// Registrations are level-triggered: a handler that stops reading before
// EAGAIN (to be fair to other connections) is simply called again on the
// next pass.
#ifndef CHATD_NET_EVENT_LOOP_H_
#define CHATD_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/timer_queue.h"

namespace chatd {

class EventLoop {
 public:
  class Handler {
   public:
    // `events` is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...).
    virtual void OnEvents(uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Registration failures are programming errors (bad fd, double add) and
  // die. The handler must outlive its registration and, because a batch may
  // still name a removed fd, the rest of the current Poll().
  void Add(int fd, uint32_t events, Handler* handler);
  void Modify(int fd, uint32_t events, Handler* handler);
  void Remove(int fd);

  // Waits up to `timeout_ms` (-1: forever), or less when a timer falls due
  // sooner, dispatches one batch of events, then runs the timers due.
  // Returns the number of events dispatched.
  int Poll(int timeout_ms);

  // The loop's deadlines; arm timers here, on the loop's thread.
  TimerQueue& timers() { return timers_; }

  // When the last Poll() woke up, read before any handler ran: handlers and
  // the work after them share one clock read per pass, and it is never stale
  // by however long the loop slept.
  absl::Time poll_time() const { return poll_time_; }

 private:
  const int epoll_fd_;
  absl::Time poll_time_ = absl::Now();
  std::vector<epoll_event> events_;
  TimerQueue timers_;
};

}  // namespace chatd

#endif  // CHATD_NET_EVENT_LOOP_H_
