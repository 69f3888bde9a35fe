#include "server/chat_server.h"

#include <glog/logging.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/protocol.h"
#include "net/socket.h"

namespace chatd {

absl::StatusOr<std::unique_ptr<ChatServer>> ChatServer::Create(
    const Options& options) {
  if (options.threads < 1 || options.threads > kMaxWorkers) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be 1 to ", kMaxWorkers));
  }
  if (options.http_port < -1 || options.http_port > 65535) {
    return absl::InvalidArgumentError("http_port must be -1 to 65535");
  }
  std::vector<Acceptor::Listener> listeners;
  auto close_all = [&listeners] {
    for (const Acceptor::Listener& listener : listeners) close(listener.fd);
  };
  uint16_t ports[2] = {0, 0};
  const int wanted[2] = {options.port, options.http_port};
  for (int i = 0; i < 2; ++i) {
    if (wanted[i] < 0) continue;
    absl::StatusOr<int> fd = ListenTcp(
        options.bind, static_cast<uint16_t>(wanted[i]), options.listen_backlog);
    if (!fd.ok()) {
      close_all();
      return absl::Status(fd.status().code(),
                          absl::StrCat(i == 0 ? "line port: " : "HTTP port: ",
                                       fd.status().message()));
    }
    listeners.push_back({*fd, i});
    absl::StatusOr<uint16_t> port = LocalPort(*fd);
    if (!port.ok()) {
      close_all();
      return port.status();
    }
    ports[i] = *port;
  }
  return std::unique_ptr<ChatServer>(
      new ChatServer(options, listeners, ports[0], ports[1]));
}

ChatServer::ChatServer(const Options& options,
                       const std::vector<Acceptor::Listener>& listeners,
                       uint16_t port, uint16_t http_port)
    : options_(options),
      port_(port),
      http_port_(http_port),
      start_time_(absl::Now()),
      limits_(options.max_connections, options.max_connections_per_ip) {
  Worker::Options worker_options = options.worker;
  worker_options.web.site = this;
  for (int i = 0; i < options.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(
        i, worker_options, &registry_, static_cast<Transport*>(this),
        [this](uint32_t peer_ip) { limits_.Release(peer_ip); }));
  }
  // The listener's tag is its Protocol.
  acceptor_ = std::make_unique<Acceptor>(
      listeners,
      [this](int fd, uint32_t peer_ip, int tag) {
        OnAccept(fd, peer_ip, static_cast<Protocol>(tag));
      },
      [](int fd, int tag) {
        // Out of fds: best effort, the socket buffer is empty.
        static constexpr char kFull[] = "ERROR server full\n";
        static constexpr char kHttpFull[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n";
        if (static_cast<Protocol>(tag) == Protocol::kHttp) {
          send(fd, kHttpFull, sizeof(kHttpFull) - 1,
               MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
          send(fd, kFull, sizeof(kFull) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
      });
}

ChatServer::~ChatServer() { Stop(); }

void ChatServer::Start() {
  CHECK(!started_);
  started_ = true;
  // A write to a client that vanished must be an EPIPE error, not a signal
  // that kills the process.
  signal(SIGPIPE, SIG_IGN);
  for (auto& worker : workers_) worker->Start();
  acceptor_->Start();
}

void ChatServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  serving_.store(false, std::memory_order_relaxed);
  // Accepting goes on through the grace period, so that /healthz can say
  // 503 to whoever asks; the workers turn away new line clients. It ends
  // when every connection is gone or the grace is over. Only then does the
  // acceptor stop, and only after it has stopped are the workers told to
  // exit: no new connection can be posted behind their kExit and be lost.
  for (auto& worker : workers_) worker->Post(Envelope::Shutdown());
  const absl::Time grace_end = absl::Now() + options_.worker.shutdown_grace;
  while (limits_.open() > 0 && absl::Now() < grace_end) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  acceptor_->Stop();
  for (auto& worker : workers_) worker->Post(Envelope::Exit());
  for (auto& worker : workers_) worker->Join();
}

void ChatServer::OnAccept(int fd, uint32_t peer_ip, Protocol protocol) {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  const ConnectionLimits::Verdict verdict = limits_.Admit(peer_ip);
  if (verdict != ConnectionLimits::Verdict::kAdmit) {
    // The worker answers and closes it, lingering so the reply is not lost.
    worker.Post(Envelope::Refusal(
        fd, protocol, FormatError(ConnectionLimits::Reason(verdict))));
    return;
  }
  worker.Post(Envelope::Connection(fd, peer_ip, protocol));
}

void ChatServer::Post(int worker, GroupLine line) {
  // Called on the posting worker's thread, `line.origin`.
  const int origin = line.origin;
  const size_t depth =
      workers_[worker]->Post(Envelope::Broadcast(std::move(line)));
  const size_t high_water = options_.worker.mailbox_high_water;
  if (high_water > 0 && depth > high_water) {
    workers_[origin]->HoldInputFor(workers_[worker].get());
  }
}

}  // namespace chatd
