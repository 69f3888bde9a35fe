// ChatServer wires the pieces together: the listening sockets (the line port
// and the HTTP port) and the Acceptor, N Workers, and the GroupRegistry they
// share. It owns all of them, hands each accepted fd to the next worker in
// turn, whatever its port, carries broadcasts between workers (it is their
// ChatShard::Transport) and is the WebSite the HTTP port serves: /healthz
// and /metrics, summed from the workers' counters at each scrape.
#ifndef CHATD_SERVER_CHAT_SERVER_H_
#define CHATD_SERVER_CHAT_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/chat_shard.h"
#include "core/group_registry.h"
#include "net/acceptor.h"
#include "server/connection_limits.h"
#include "server/web_site.h"
#include "server/worker.h"

namespace chatd {

class ChatServer final : private ChatShard::Transport, private WebSite {
 public:
  struct Options {
    std::string bind = "127.0.0.1";
    uint16_t port = 7000;  // 0 picks a free port.
    // The HTTP port (page, WebSocket, /metrics, /healthz): 0 picks a free
    // port, -1 opens none.
    int http_port = -1;
    int threads = 1;  // Workers, 1 to kMaxWorkers.
    // Open client connections at most; more are told "ERROR server full".
    size_t max_connections = 10000;
    // Open connections from one IPv4 address at most; 0 means no limit.
    size_t max_connections_per_ip = 0;
    int listen_backlog = 4096;
    Worker::Options worker;
  };

  // Binds the listening socket; nothing runs until Start().
  static absl::StatusOr<std::unique_ptr<ChatServer>> Create(
      const Options& options);
  ~ChatServer();
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;

  uint16_t port() const { return port_; }
  // 0 when there is no HTTP port.
  uint16_t http_port() const { return http_port_; }

  void Start();
  // Stops accepting, tells every client "* server shutting down", waits up
  // to the grace period for them to take it, and joins every thread.
  void Stop();

  size_t connection_count() const { return limits_.open(); }

  // Any thread: for tests and, later, metrics.
  int worker_count() const { return static_cast<int>(workers_.size()); }
  size_t mailbox_depth(int worker) const {
    return workers_[worker]->mailbox_depth();
  }
  const WorkerStats& worker_stats(int worker) const {
    return workers_[worker]->stats();
  }

  // Any thread (WebSite).
  bool serving() const override {
    return serving_.load(std::memory_order_relaxed);
  }
  std::string Metrics() const override;

 private:
  ChatServer(const Options& options,
             const std::vector<Acceptor::Listener>& listeners, uint16_t port,
             uint16_t http_port);

  void OnAccept(int fd, uint32_t peer_ip, Protocol protocol);
  void Post(int worker, GroupLine line) override;

  const Options options_;
  const uint16_t port_;
  const uint16_t http_port_;
  // Relaxed: a flag for /healthz that orders nothing else.
  std::atomic<bool> serving_{true};
  const absl::Time start_time_;
  GroupRegistry registry_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Acceptor> acceptor_;
  size_t next_worker_ = 0;  // Acceptor thread only.
  ConnectionLimits limits_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace chatd

#endif  // CHATD_SERVER_CHAT_SERVER_H_
