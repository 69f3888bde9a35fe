// ChatServer wires the pieces together: the listening sockets (the line,
// HTTP and IRC ports, each also over TLS when a certificate is given, each on
// every --bind address) and the Acceptor, N Workers, and the GroupRegistry
// they share. It owns all of them, hands each accepted fd to the next worker
// in turn, whatever its port, carries broadcasts between workers (it is
// their ChatShard::Transport) and is the WebSite the HTTP ports serve:
// /healthz and /metrics, summed from the workers' counters at each scrape.
// It holds the current TLS certificate, which ReloadTls() replaces.
#ifndef CHATD_SERVER_CHAT_SERVER_H_
#define CHATD_SERVER_CHAT_SERVER_H_

#include <array>
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
#include "net/tls_context.h"
#include "server/connection_limits.h"
#include "server/nats_backplane.h"
#include "server/web_site.h"
#include "server/worker.h"

namespace chatd {

class ChatServer final : private ChatShard::Transport, private WebSite {
 public:
  struct Options {
    // Comma-separated IPv4 and IPv6 addresses; every port listens on each.
    // "::" listens on both families unless "0.0.0.0" is also given.
    std::string bind = "127.0.0.1";
    uint16_t port = 7000;  // 0 picks a free port.
    // The HTTP port (page, WebSocket, /metrics, /healthz): 0 picks a free
    // port, -1 opens none.
    int http_port = -1;
    // PEM files; with both set, the TLS ports below open. Without, they
    // are ignored.
    std::string tls_cert_file;
    std::string tls_key_file;
    // The line protocol and the HTTP port over TLS: 0 picks a free port,
    // -1 opens none.
    int tls_port = -1;
    int https_port = -1;
    // IRC, plain and over TLS (with the certificate above): 0 picks a free
    // port, -1 opens none. Their settings are in worker.irc.
    int irc_port = -1;
    int ircs_port = -1;
    int threads = 1;  // Workers, 1 to kMaxWorkers.
    // Open client connections at most; more are told "ERROR server full".
    size_t max_connections = 10000;
    // Open connections from one IPv4 address at most; 0 means no limit.
    size_t max_connections_per_ip = 0;
    int listen_backlog = 4096;
    Worker::Options worker;
    // With cluster.urls set, this server is one host of a cluster.
    NatsBackplane::Options cluster;
  };

  // Binds the listening socket; nothing runs until Start().
  static absl::StatusOr<std::unique_ptr<ChatServer>> Create(
      const Options& options);
  ~ChatServer();
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;

  // The bound ports; 0 for a port that is not open.
  uint16_t port() const { return ports_[kLinePort]; }
  uint16_t http_port() const { return ports_[kHttpPort]; }
  uint16_t tls_port() const { return ports_[kTlsLinePort]; }
  uint16_t https_port() const { return ports_[kHttpsPort]; }
  uint16_t irc_port() const { return ports_[kIrcPort]; }
  uint16_t ircs_port() const { return ports_[kIrcsPort]; }

  // Any thread (SIGHUP): reads the certificate and key files again. New TLS
  // connections use the new pair, existing ones keep theirs. On an error
  // the old pair stays. OK without TLS ports.
  absl::Status ReloadTls();

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
  // The listening ports, by the acceptor's tag.
  enum PortIndex {
    kLinePort,
    kHttpPort,
    kTlsLinePort,
    kHttpsPort,
    kIrcPort,
    kIrcsPort,
    kPorts
  };
  static constexpr Port kPortKinds[kPorts] = {
      {Protocol::kLine, false}, {Protocol::kHttp, false},
      {Protocol::kLine, true},  {Protocol::kHttp, true},
      {Protocol::kIrc, false},  {Protocol::kIrc, true}};

  ChatServer(const Options& options,
             const std::vector<Acceptor::Listener>& listeners,
             const uint16_t (&ports)[kPorts]);

  // One certificate load, by Protocol: ALPN differs per port.
  using TlsContexts = std::array<std::shared_ptr<const TlsContext>, kProtocols>;
  static absl::StatusOr<TlsContexts> LoadTls(const Options& options);
  // Makes `contexts` the ones new TLS connections get.
  void InstallTls(TlsContexts contexts);

  bool tls_enabled() const {
    return tls_port() != 0 || https_port() != 0 || ircs_port() != 0;
  }
  void OnAccept(int fd, const sockaddr_storage& peer, Port port);
  void Post(int worker, ShardPost line) override;

  const Options options_;
  uint16_t ports_[kPorts];
  // The current certificate, by Protocol: ALPN differs per port.
  TlsContextSlot tls_[kProtocols];
  const bool kernel_tls_available_;
  // Relaxed: statistics for /metrics.
  std::atomic<uint64_t> tls_reloads_{0};
  std::atomic<uint64_t> tls_reload_errors_{0};
  // Relaxed: a flag for /healthz that orders nothing else.
  std::atomic<bool> serving_{true};
  const absl::Time start_time_;
  GroupRegistry registry_;
  // Null on a single host. Declared before the workers, whose shards it
  // outlives.
  std::unique_ptr<NatsBackplane> backplane_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Acceptor> acceptor_;
  size_t next_worker_ = 0;  // Acceptor thread only.
  ConnectionLimits limits_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace chatd

#endif  // CHATD_SERVER_CHAT_SERVER_H_
