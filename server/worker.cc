#include "server/worker.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include <glog/logging.h>

#include "absl/time/clock.h"

#include "core/protocol.h"
#include "server/client_connection.h"

namespace chatd {
namespace {

// Envelopes handled per pass before sockets get their turn again. One pass
// may read 4 x 64 KiB from each of 512 sockets, about a thousand lines per
// read and one post per line per other worker, so the cap must let a worker
// drain what its peers admitted in a pass: at 4,096 the mailboxes backed up
// under load and cross-worker deliveries queued (fanout p99 196-313 ms;
// 55 ms at 65,536, with more delivered).
constexpr size_t kMaxEnvelopesPerPass = 65536;
constexpr size_t kReadBufferSize = 64 * 1024;
// Poll timeout while connections are draining, so deadlines are noticed.
constexpr int kDrainPollMs = 100;
// How often unjoined connections are checked against the join timeout.
constexpr int kJoinSweepMs = 1000;

}  // namespace

Worker::Worker(int index, const Options& options, GroupRegistry* registry,
               ChatShard::Transport* transport,
               std::function<void(uint32_t)> on_close)
    : index_(index),
      options_(options),
      on_close_(std::move(on_close)),
      shard_(index, registry, transport),
      read_buffer_(new char[kReadBufferSize]) {
  loop_.Add(mailbox_.fd(), EPOLLIN, this);
}

Worker::~Worker() {
  CHECK(!thread_.joinable()) << "worker " << index_ << " not joined";
  // New connections still in the mailbox were never adopted.
  mailbox_.Drain(SIZE_MAX, [](Envelope&& envelope) {
    if (envelope.fd >= 0) close(envelope.fd);
  });
}

size_t Worker::read_buffer_size() const { return kReadBufferSize; }

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  while (true) {
    int timeout = -1;
    if (mailbox_backlog_) {
      timeout = 0;
    } else if (!draining_.empty() || shutting_down_) {
      timeout = kDrainPollMs;
    } else if (!connections_.empty()) {
      timeout = kJoinSweepMs;
    }
    loop_.Poll(timeout);
    // Expiring a deadline may make a session leave, queueing output on other
    // connections: expire first, then flush, then free.
    ExpireDeadlines();
    FlushQueued();
    FreeRetired();
    if (shutting_down_ &&
        (connections_.empty() || now() >= shutdown_deadline_)) {
      break;
    }
  }
  // Past the grace period: cut off whoever is left.
  for (auto& [ptr, connection] : connections_) {
    if (!connection->retired()) connection->ExpireIfDue(absl::InfiniteFuture());
  }
  FreeRetired();
  VLOG(1) << "worker " << index_ << " stopped";
}

void Worker::OnEvents(uint32_t events) {
  const size_t handled = mailbox_.Drain(
      kMaxEnvelopesPerPass, [this](Envelope&& e) { Handle(std::move(e)); });
  mailbox_backlog_ = handled == kMaxEnvelopesPerPass;
}

void Worker::Handle(Envelope&& envelope) {
  switch (envelope.kind) {
    case Envelope::Kind::kConnection:
      Adopt(envelope.fd, envelope.peer_ip);
      break;
    case Envelope::Kind::kRefusal:
      Refuse(envelope.fd, std::move(envelope.broadcast.line));
      break;
    case Envelope::Kind::kBroadcast:
      shard_.Deliver(envelope.broadcast);
      break;
    case Envelope::Kind::kShutdown:
      BeginShutdown();
      break;
    case Envelope::Kind::kNone:
      break;
  }
}

void Worker::Adopt(int fd, uint32_t peer_ip) {
  if (shutting_down_) {
    close(fd);
    on_close_(peer_ip);
    return;
  }
  auto connection =
      std::make_unique<ClientConnection>(this, fd, peer_ip, /*admitted=*/true);
  ClientConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  raw->Open();
  VLOG(1) << "worker " << index_ << ": new connection, fd " << fd;
}

void Worker::Refuse(int fd, PayloadRef error) {
  if (shutting_down_) {
    close(fd);
    return;
  }
  auto connection =
      std::make_unique<ClientConnection>(this, fd, 0, /*admitted=*/false);
  ClientConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  raw->Open();
  raw->CloseWith(std::move(error));
  VLOG(1) << "worker " << index_ << ": refused fd " << fd;
}

void Worker::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = absl::Now() + options_.shutdown_grace;
  shard_.Quiet();
  const PayloadRef notice = FormatShuttingDown();
  for (auto& [ptr, connection] : connections_) {
    if (!connection->retired() && !connection->draining()) {
      connection->CloseWith(notice);
    }
  }
}

void Worker::QueueFlush(ClientConnection* connection) {
  flush_queue_.push_back(connection);
}

void Worker::WatchDrain(ClientConnection* connection) {
  draining_.push_back(connection);
}

void Worker::Retire(ClientConnection* connection) {
  retired_.push_back(connection);
}

void Worker::FlushQueued() {
  // Flushing may retire a connection whose session then leaves its group,
  // queueing output on others: the queue can grow while we walk it.
  for (size_t i = 0; i < flush_queue_.size(); ++i) flush_queue_[i]->Flush();
  flush_queue_.clear();
}

void Worker::ExpireDeadlines() {
  for (ClientConnection* connection : draining_) {
    if (!connection->retired()) connection->ExpireIfDue(now());
  }
  if (options_.join_timeout == absl::ZeroDuration() || now() < next_join_sweep_) {
    return;
  }
  next_join_sweep_ = now() + absl::Milliseconds(kJoinSweepMs);
  const absl::Time joined_by = now() - options_.join_timeout;
  for (auto& [ptr, connection] : connections_) {
    connection->CloseIfNotJoinedSince(joined_by);
  }
}

void Worker::FreeRetired() {
  if (retired_.empty()) return;
  draining_.erase(std::remove_if(draining_.begin(), draining_.end(),
                                 [](const ClientConnection* c) {
                                   return c->retired();
                                 }),
                  draining_.end());
  for (ClientConnection* connection : retired_) {
    const bool admitted = connection->admitted();
    const uint32_t peer_ip = connection->peer_ip();
    connections_.erase(connection);
    if (admitted) on_close_(peer_ip);
  }
  retired_.clear();
}

}  // namespace chatd
