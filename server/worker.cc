#include "server/worker.h"

#include <glog/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "core/protocol.h"
#include "net/socket.h"
#include "net/tls_stream.h"
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
// Poll timeout while input is held: a congested mailbox does not tell us
// when it drains, so we look again each millisecond. Only under overload.
constexpr int kCongestedPollMs = 1;

}  // namespace

Worker::Worker(int index, const Options& options, GroupRegistry* registry,
               ChatShard::Transport* transport, Backplane* backplane,
               std::function<void(int)> on_close)
    : index_(index),
      options_(options),
      on_close_(std::move(on_close)),
      shard_(index, registry, transport, backplane),
      read_buffer_(new char[kReadBufferSize]),
      tls_record_buffer_(new char[TlsStream::kMaxRecord]) {
  loop_.Add(mailbox_.fd(), EPOLLIN, this);
}

Worker::~Worker() {
  CHECK(!thread_.joinable()) << "worker " << index_ << " not joined";
  // New connections still in the mailbox were never adopted.
  mailbox_.Drain(SIZE_MAX, [](Envelope&& envelope) {
    if (envelope.fd >= 0) close(envelope.fd);
  });
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  while (true) {
    if (options_.before_pass_for_testing)
      options_.before_pass_for_testing(index_);
    int timeout = -1;  // The timers cut it short.
    if (mailbox_backlog_) {
      timeout = 0;
    } else if (input_paused()) {
      timeout = kCongestedPollMs;
    }
    loop_.Poll(timeout);
    ReleaseInputIfDrained();
    FlushQueued();
    FreeRetired();
    RecordPass();
    if (exit_) break;
  }
  // Past the grace period: cut off whoever is left.
  for (auto& [ptr, connection] : connections_) {
    if (!connection->retired()) connection->Abort();
  }
  FreeRetired();
  LOG(INFO) << "worker " << index_ << " stopped; "
            << stats_.throttle_events.load(std::memory_order_relaxed)
            << " throttle events, "
            << stats_.input_pauses.load(std::memory_order_relaxed)
            << " input pauses for full mailboxes";
}

void Worker::OnEvents(uint32_t events) {
  const size_t handled = mailbox_.Drain(
      kMaxEnvelopesPerPass, [this](Envelope&& e) { Handle(std::move(e)); });
  mailbox_backlog_ = handled == kMaxEnvelopesPerPass;
}

void Worker::Handle(Envelope&& envelope) {
  switch (envelope.kind) {
    case Envelope::Kind::kConnection:
      Adopt(envelope.fd, envelope.port);
      break;
    case Envelope::Kind::kRefusal:
      Refuse(envelope.fd, envelope.port, std::move(envelope.refusal));
      break;
    case Envelope::Kind::kBroadcast:
      shard_.Deliver(envelope.broadcast);
      break;
    case Envelope::Kind::kShutdown:
      BeginShutdown();
      break;
    case Envelope::Kind::kExit:
      BeginShutdown();
      exit_ = true;
      break;
    case Envelope::Kind::kNone:
      break;
  }
}

Framing* Worker::NewFraming(Protocol protocol) {
  switch (protocol) {
    case Protocol::kLine:
      return LineFraming();
    case Protocol::kHttp:
      return new HttpFraming(&options_.web);
    case Protocol::kIrc:
      return IrcFraming();
  }
  return LineFraming();
}

ClientConnection* Worker::AddConnection(int fd, Port port, bool admitted) {
  std::unique_ptr<TlsStream> tls;
  if (port.tls) {
    absl::StatusOr<std::unique_ptr<TlsStream>> stream = TlsStream::Create(
        options_.tls[int(port.protocol)]->Get(), fd, TlsStream::Role::kServer);
    if (!stream.ok()) {
      LOG_EVERY_N(ERROR, 100) << "worker " << index_ << ": " << stream.status();
      return nullptr;
    }
    tls = *std::move(stream);
  }
  auto connection = std::make_unique<ClientConnection>(
      this, fd, admitted, NewFraming(port.protocol), std::move(tls),
      port.protocol);
  ClientConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  raw->Open();
  return raw;
}

void Worker::Adopt(int fd, Port port) {
  // While shutting down, the HTTP port still answers (/healthz says 503);
  // the line port has nothing to say but goodbye, and the IRC port or a TLS
  // port not even that, before registration or a handshake.
  if (shutting_down_ && port.protocol != Protocol::kHttp) {
    if (!port.tls && port.protocol == Protocol::kLine) {
      // Best effort: a fresh socket's buffer has room for one line.
      const PayloadRef notice = FormatShuttingDown();
      send(fd, notice->data(), notice->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    on_close_(fd);
    close(fd);
    return;
  }
  if (AddConnection(fd, port, /*admitted=*/true) == nullptr) {
    on_close_(fd);
    close(fd);
    return;
  }
  VLOG(1) << "worker " << index_ << ": new connection, fd " << fd << " from "
          << PeerAddress(fd) << (port.tls ? " (TLS)" : "");
}

void Worker::Refuse(int fd, Port port, PayloadRef error) {
  if (shutting_down_) {
    close(fd);
    return;
  }
  ClientConnection* connection = AddConnection(fd, port, /*admitted=*/false);
  if (connection == nullptr) {
    close(fd);
    return;
  }
  connection->CountDrop(DropReason::kServerFull);
  connection->CloseWith(std::move(error), CloseReason::kRefused);
  VLOG(1) << "worker " << index_ << ": refused fd " << fd << " from "
          << PeerAddress(fd);
}

void Worker::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shard_.Quiet();
  const PayloadRef notice = FormatShuttingDown();
  for (auto& [ptr, connection] : connections_) {
    if (!connection->retired() && !connection->draining()) {
      connection->CloseWith(notice, CloseReason::kShutdown);
    }
  }
}

void Worker::RecordPass() {
  const int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - loop_.poll_time());
  const int64_t us = ns / 1000;
  int bucket = 0;
  while (bucket < kPassBuckets && us > kPassBucketsUs[bucket]) ++bucket;
  SingleWriterAdd(stats_.pass_buckets[bucket], uint64_t{1});
  SingleWriterAdd(stats_.pass_ns_sum, static_cast<uint64_t>(ns > 0 ? ns : 0));
}

void Worker::HoldInputFor(const Worker* target) {
  if (std::find(congested_.begin(), congested_.end(), target) !=
      congested_.end()) {
    return;
  }
  if (congested_.empty()) {
    WorkerStats::Add(stats_.input_pauses, uint64_t{1});
    WorkerStats::Add(stats_.input_paused, int64_t{1});
    VLOG(1) << "worker " << index_ << ": holding input, worker "
            << target->index() << " has " << target->mailbox_depth()
            << " envelopes queued";
  }
  congested_.push_back(target);
}

void Worker::HoldInput(ClientConnection* connection) {
  held_readers_.push_back(connection);
}

void Worker::ForgetHeld(ClientConnection* connection) {
  held_readers_.erase(
      std::remove(held_readers_.begin(), held_readers_.end(), connection),
      held_readers_.end());
}

void Worker::ReleaseInputIfDrained() {
  if (congested_.empty()) return;
  const size_t low_water = options_.mailbox_low_water;
  congested_.erase(std::remove_if(congested_.begin(), congested_.end(),
                                  [low_water](const Worker* target) {
                                    return target->mailbox_depth() <= low_water;
                                  }),
                   congested_.end());
  if (!congested_.empty()) return;
  WorkerStats::Add(stats_.input_paused, int64_t{-1});
  VLOG(1) << "worker " << index_ << ": input released";
  // A released connection's held lines may fill a mailbox again, and the
  // connections after it then go back on held_readers_: walk a copy.
  // Skip any that a release earlier in the walk retired (ForgetHeld).
  std::vector<ClientConnection*> held;
  held.swap(held_readers_);
  for (ClientConnection* connection : held) {
    if (connection->input_held()) connection->ReleaseInput();
  }
}

void Worker::QueueFlush(ClientConnection* connection) {
  flush_queue_.push_back(connection);
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

void Worker::FreeRetired() {
  if (retired_.empty()) return;
  for (ClientConnection* connection : retired_) {
    // Released before the fd closes: the acceptor may reuse its number at
    // once (see ConnectionLimits).
    if (connection->admitted()) on_close_(connection->fd());
    connections_.erase(connection);
  }
  retired_.clear();
}

}  // namespace chatd
