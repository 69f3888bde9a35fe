// Acceptor owns the listening socket and the thread that accepts on it. It
// drains the accept queue with accept4 until EAGAIN and passes each new,
// non-blocking fd to a callback, on the acceptor thread; the callback (the
// server) decides which worker gets it.
//
// When the process runs out of file descriptors, the acceptor closes a spare
// fd it keeps for the purpose, accepts the pending connection and closes it
// at once, then reopens the spare: the client is refused cleanly and the
// level-triggered listen socket does not spin. If even that fails, it stops
// watching the socket for a short pause.
#ifndef CHATD_NET_ACCEPTOR_H_
#define CHATD_NET_ACCEPTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/time/time.h"
#include "net/event_fd.h"
#include "net/event_loop.h"

namespace chatd {

class Acceptor final : private EventLoop::Handler {
 public:
  // `peer_ip` is the client's IPv4 address in host order (0 if not IPv4).
  using OnAccept = std::function<void(int fd, uint32_t peer_ip)>;
  // Called for a connection refused for lack of fds, before it is closed.
  using OnRefuse = std::function<void(int fd)>;

  // Takes ownership of `listen_fd` (non-blocking, listening).
  Acceptor(int listen_fd, OnAccept on_accept, OnRefuse on_refuse);
  // Stops if running.
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void Start();
  // Any thread but the acceptor's: stops accepting, joins the thread and
  // closes the listening socket. Idempotent.
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

  void Run();
  void OnEvents(uint32_t events) override;  // The listen socket is readable.
  // Returns false when accepting must pause (no fd even for the spare trick).
  bool RefuseOne();
  void OpenSpare();

  int listen_fd_;
  int spare_fd_ = -1;
  const OnAccept on_accept_;
  const OnRefuse on_refuse_;
  EventLoop loop_;
  EventFd stop_;
  bool stopping_ = false;  // Acceptor thread only.
  StopHandler stop_handler_{&stopping_};
  bool paused_ = false;  // Acceptor thread only: listen fd out of epoll.
  absl::Time resume_at_;  // While paused: when to watch the socket again.
  std::atomic<uint64_t> refused_for_fds_{0};
  std::thread thread_;
};

}  // namespace chatd

#endif  // CHATD_NET_ACCEPTOR_H_
