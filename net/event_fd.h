// EventFd is a Linux eventfd used as a wakeup: any thread may Signal() it,
// and the thread whose epoll loop watches fd() sees it readable until it
// calls Drain(). Owned by whoever needs to be woken (a Mailbox, the Acceptor).
#ifndef CHATD_NET_EVENT_FD_H_
#define CHATD_NET_EVENT_FD_H_

namespace chatd {

class EventFd {
 public:
  // Non-blocking and close-on-exec; dies if the kernel refuses one.
  EventFd();
  ~EventFd();
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;

  int fd() const { return fd_; }
  // Any thread; never blocks.
  void Signal();
  // Resets the counter so the fd stops polling readable.
  void Drain();

 private:
  const int fd_;
};

}  // namespace chatd

#endif  // CHATD_NET_EVENT_FD_H_
