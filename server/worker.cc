#include "server/worker.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include <glog/logging.h>

#include "core/protocol.h"
#include "server/client_connection.h"

namespace chatd {
namespace {

// Envelopes handled per pass before sockets get their turn again.
constexpr size_t kMaxEnvelopesPerPass = 4096;
constexpr size_t kReadBufferSize = 64 * 1024;
// Poll timeout while connections are draining, so deadlines are noticed.
constexpr int kDrainPollMs = 100;

}  // namespace

Worker::Worker(int index, const Options& options, GroupRegistry* registry,
               ChatShard::Transport* transport, std::function<void()> on_close)
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
    }
    loop_.Poll(timeout);
    // Expiring a drain may make its session leave, queueing output on other
    // connections: expire first, then flush, then free.
    ExpireDrains();
    FlushQueued();
    FreeRetired();
    if (shutting_down_ &&
        (connections_.empty() || absl::Now() >= shutdown_deadline_)) {
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
      Adopt(envelope.fd, /*refuse=*/false);
      break;
    case Envelope::Kind::kRefusal:
      Adopt(envelope.fd, /*refuse=*/true);
      break;
    case Envelope::Kind::kBroadcast:
      shard_.DeliverFromPeer(envelope.group_id, envelope.line);
      break;
    case Envelope::Kind::kShutdown:
      BeginShutdown();
      break;
    case Envelope::Kind::kNone:
      break;
  }
}

void Worker::Adopt(int fd, bool refuse) {
  if (shutting_down_) {
    close(fd);
    if (!refuse) on_close_();
    return;
  }
  auto connection = std::make_unique<ClientConnection>(this, fd);
  ClientConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  raw->Open();
  if (refuse) {
    refusals_.insert(raw);
    raw->CloseWith(FormatError(kErrorServerFull));
  }
  VLOG(1) << "worker " << index_ << " adopted fd " << fd
          << (refuse ? " to refuse it" : "");
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

void Worker::ExpireDrains() {
  if (draining_.empty()) return;
  const absl::Time now = absl::Now();
  for (ClientConnection* connection : draining_) {
    if (!connection->retired()) connection->ExpireIfDue(now);
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
    const bool counted = refusals_.erase(connection) == 0;
    connections_.erase(connection);
    if (counted) on_close_();
  }
  retired_.clear();
}

}  // namespace chatd
