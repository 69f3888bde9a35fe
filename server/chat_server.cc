#include "server/chat_server.h"

#include <glog/logging.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/protocol.h"
#include "net/socket.h"

namespace chatd {

absl::StatusOr<std::unique_ptr<ChatServer>> ChatServer::Create(
    const Options& options) {
  if (options.threads < 1 || options.threads > kMaxWorkers) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be 1 to ", kMaxWorkers));
  }
  absl::StatusOr<int> fd =
      ListenTcp(options.bind, options.port, options.listen_backlog);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint16_t> port = LocalPort(*fd);
  if (!port.ok()) {
    close(*fd);
    return port.status();
  }
  return std::unique_ptr<ChatServer>(new ChatServer(options, *fd, *port));
}

ChatServer::ChatServer(const Options& options, int listen_fd, uint16_t port)
    : options_(options),
      port_(port),
      limits_(options.max_connections, options.max_connections_per_ip) {
  for (int i = 0; i < options.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(
        i, options.worker, &registry_, static_cast<Transport*>(this),
        [this](uint32_t peer_ip) { limits_.Release(peer_ip); }));
  }
  acceptor_ = std::make_unique<Acceptor>(
      listen_fd, [this](int fd, uint32_t peer_ip) { OnAccept(fd, peer_ip); },
      [](int fd) {
        // Out of fds: best effort, the socket buffer is empty.
        static constexpr char kFull[] = "ERROR server full\n";
        send(fd, kFull, sizeof(kFull) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
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
  acceptor_->Stop();
  for (auto& worker : workers_) worker->Post(Envelope::Shutdown());
  for (auto& worker : workers_) worker->Join();
}

void ChatServer::OnAccept(int fd, uint32_t peer_ip) {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  const ConnectionLimits::Verdict verdict = limits_.Admit(peer_ip);
  if (verdict != ConnectionLimits::Verdict::kAdmit) {
    // The worker answers and closes it, lingering so the reply is not lost.
    worker.Post(
        Envelope::Refusal(fd, FormatError(ConnectionLimits::Reason(verdict))));
    return;
  }
  worker.Post(Envelope::Connection(fd, peer_ip));
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
