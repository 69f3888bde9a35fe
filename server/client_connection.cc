#include "server/client_connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glog/logging.h>

#include "absl/time/clock.h"

#include "core/protocol.h"
#include "net/socket.h"
#include "server/worker.h"

namespace chatd {
namespace {

// Reads per readiness event before other connections get their turn.
constexpr int kMaxReadsPerEvent = 4;

}  // namespace

ClientConnection::ClientConnection(Worker* worker, int fd, uint32_t peer_ip,
                                   bool admitted)
    : worker_(worker),
      fd_(fd),
      peer_ip_(peer_ip),
      admitted_(admitted),
      accepted_at_(worker->now()),
      session_(&worker->shard(), this, worker->options().session) {}

ClientConnection::~ClientConnection() {
  session_.End();
  close(fd_);
}

void ClientConnection::Open() {
  SetNoDelay(fd_);
  interest_ = EPOLLIN;
  worker_->loop().Add(fd_, interest_, this);
}

void ClientConnection::CloseWith(PayloadRef line) {
  Send(std::move(line));
  Drain();
}

void ClientConnection::OnEvents(uint32_t events) {
  if (peer_closed_ && (events & (EPOLLHUP | EPOLLERR))) {
    Retire();  // Nothing more to read, and writing is impossible.
    return;
  }
  // An error is read first: input that arrived before a reset still counts.
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read();
  if ((events & EPOLLOUT) && !retired()) Flush();
}

void ClientConnection::Send(PayloadRef line) {
  if (retired()) return;
  output_.Push(std::move(line));
  QueueFlush();
}

void ClientConnection::DropAsTooSlow() {
  LOG(WARNING) << "dropping slow consumer "
               << (session_.joined() ? session_.name() : "(not joined)")
               << " in "
               << (session_.joined() ? session_.group()->name() : "(none)")
               << ": " << output_.pending_bytes() << " bytes pending";
  output_.DropUnstarted();
  output_.Push(FormatError(kErrorTooSlow));
  Drain();
}

void ClientConnection::QueueFlush() {
  if (queued_for_flush_) return;
  queued_for_flush_ = true;
  worker_->QueueFlush(this);
}

void ClientConnection::Read() {
  char* const buffer = worker_->read_buffer();
  const size_t size = worker_->read_buffer_size();
  for (int i = 0; i < kMaxReadsPerEvent && !retired() && !peer_closed_; ++i) {
    // recv, not read: straight into the socket layer (see OutputQueue).
    const ssize_t n = recv(fd_, buffer, size, MSG_DONTWAIT);
    if (n > 0) {
      // Once draining, input is read only to be thrown away.
      if (state_ == State::kOpen &&
          !session_.OnInput(absl::string_view(buffer, n), worker_->now())) {
        Drain();
      }
      if (static_cast<size_t>(n) < size) return;  // Most likely empty now.
      continue;
    }
    if (n == 0) {
      VLOG(1) << "fd " << fd_ << ": end of input";
      peer_closed_ = true;
      if (state_ == State::kOpen) {
        Drain();
      } else {
        QueueFlush();  // Finishes the drain.
      }
      return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    VLOG(1) << "fd " << fd_ << ": read: " << strerror(errno);
    Retire();
    return;
  }
}

void ClientConnection::Flush() {
  queued_for_flush_ = false;
  if (retired()) return;
  if (!output_.empty()) {
    const absl::Status status = output_.WriteTo(fd_);
    if (!status.ok()) {
      VLOG(1) << "fd " << fd_ << ": " << status;
      Retire();
      return;
    }
    // Judged after the socket took what it could: a burst the client is
    // ready for is not slowness. Checked here, at flush time, and not while
    // a fan-out queues lines, so the drop never re-enters that fan-out.
    const size_t limit = worker_->options().max_output_bytes;
    if (limit > 0 && output_.pending_bytes() > limit &&
        state_ == State::kOpen) {
      DropAsTooSlow();
    }
  }
  if (state_ == State::kDraining && output_.empty()) {
    if (peer_closed_) {
      Retire();
      return;
    }
    if (!write_shut_) {
      // The client sees everything we sent, then EOF. We keep reading (and
      // discarding) until its EOF so our close cannot reset the connection.
      shutdown(fd_, SHUT_WR);
      write_shut_ = true;
    }
  }
  UpdateInterest();
}

void ClientConnection::Drain() {
  if (state_ != State::kOpen) return;
  state_ = State::kDraining;
  session_.End();
  drain_deadline_ = absl::Now() + worker_->options().drain_timeout;
  worker_->WatchDrain(this);
  QueueFlush();
}

void ClientConnection::ExpireIfDue(absl::Time now) {
  if (state_ == State::kDraining && now >= drain_deadline_) Retire();
}

void ClientConnection::CloseIfNotJoinedSince(absl::Time time) {
  if (state_ == State::kOpen && !session_.joined() && accepted_at_ < time) {
    VLOG(1) << "fd " << fd_ << ": no JOIN in time";
    CloseWith(FormatError(kErrorJoinTimeout));
  }
}

void ClientConnection::Retire() {
  if (retired()) return;
  state_ = State::kRetired;
  session_.End();
  worker_->loop().Remove(fd_);
  output_.Clear();
  worker_->Retire(this);
}

void ClientConnection::UpdateInterest() {
  const uint32_t wanted = (peer_closed_ ? 0u : uint32_t{EPOLLIN}) |
                          (output_.empty() ? 0u : uint32_t{EPOLLOUT});
  if (wanted == interest_) return;
  interest_ = wanted;
  worker_->loop().Modify(fd_, interest_, this);
}

}  // namespace chatd
