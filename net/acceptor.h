// Acceptor owns the listening sockets and the one thread that accepts on all
// of them. It drains each accept queue with accept4 until EAGAIN and passes
// each new, non-blocking fd, with the tag of the listener it came from, to a
// callback on the acceptor thread; the callback (the server) decides which
// worker gets it and what it speaks.
//
// When the process runs out of file descriptors, the acceptor closes a spare
// fd it keeps for the purpose, accepts the pending connection and closes it
// at once, then reopens the spare: the client is refused cleanly and the
// level-triggered listen socket does not spin. If even that fails, it stops
// watching the socket for a short pause.
#ifndef CHATD_NET_ACCEPTOR_H_
#define CHATD_NET_ACCEPTOR_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "net/event_fd.h"
#include "net/event_loop.h"

namespace chatd {

class Acceptor final {
 public:
  // A listening socket and what its connections speak, as the server counts.
  struct Listener {
    int fd;   // Non-blocking, listening.
    int tag;  // Passed to the callbacks with each connection.
  };
  // `peer` is the client's address, IPv4 or IPv6.
  using OnAccept =
      std::function<void(int fd, const sockaddr_storage& peer, int tag)>;
  // Called for a connection refused for lack of fds, before it is closed.
  using OnRefuse = std::function<void(int fd, int tag)>;

  // Takes ownership of the listeners' fds.
  Acceptor(const std::vector<Listener>& listeners, OnAccept on_accept,
           OnRefuse on_refuse);
  // Stops if running.
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void Start();
  // Any thread but the acceptor's: stops accepting, joins the thread and
  // closes the listening sockets. Idempotent.
  void Stop();

  // Connections refused because the process was out of fds. Relaxed: a
  // statistic.
  uint64_t refused_for_fds() const {
    return refused_for_fds_.load(std::memory_order_relaxed);
  }

 private:
  // Wakes on the stop signal only; the listen socket has its own handler.
  class StopHandler : public EventLoop::Handler {
   public:
    explicit StopHandler(bool* stopping) : stopping_(stopping) {}
    void OnEvents(uint32_t) override { *stopping_ = true; }

   private:
    bool* stopping_;
  };

  // One listening socket in the loop.
  class ListenSocket : public EventLoop::Handler {
   public:
    ListenSocket(Acceptor* acceptor, const Listener& listener)
        : acceptor_(acceptor), listener_(listener) {}
    void OnEvents(uint32_t) override { acceptor_->AcceptAll(listener_); }
    const Listener& listener() const { return listener_; }
    void Close();

   private:
    Acceptor* const acceptor_;
    Listener listener_;
  };

  void Run();
  void AcceptAll(const Listener& listener);
  // Returns false when accepting must pause (no fd even for the spare trick).
  bool RefuseOne(const Listener& listener);
  void OpenSpare();
  void Pause();
  void Resume();

  std::vector<std::unique_ptr<ListenSocket>> sockets_;
  int spare_fd_ = -1;
  const OnAccept on_accept_;
  const OnRefuse on_refuse_;
  EventLoop loop_;
  EventFd stop_;
  bool stopping_ = false;  // Acceptor thread only.
  StopHandler stop_handler_{&stopping_};
  bool paused_ = false;   // Acceptor thread only: listen fds out of epoll.
  absl::Time resume_at_;  // While paused: when to watch the socket again.
  std::atomic<uint64_t> refused_for_fds_{0};
  std::thread thread_;
};

}  // namespace chatd

#endif  // CHATD_NET_ACCEPTOR_H_
