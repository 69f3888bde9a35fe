#include "server/client_connection.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "core/protocol.h"
#include "net/socket.h"
#include "server/worker.h"

namespace chatd {
namespace {

// Reads per readiness event before other connections get their turn.
constexpr int kMaxReadsPerEvent = 4;

}  // namespace

ClientConnection::ClientConnection(Worker* worker, int fd, uint32_t peer_ip,
                                   bool admitted, Framing* framing)
    : worker_(worker),
      fd_(fd),
      peer_ip_(peer_ip),
      session_(&worker->shard(), this, worker->options().session),
      framing_(framing),
      admitted_(admitted) {
  WorkerStats::Add(worker_->stats().connections[int(framing_->kind())],
                   int64_t{1});
}

ClientConnection::~ClientConnection() {
  SetThrottled(false);
  session_.End();
  WorkerStats::Add(worker_->stats().connections[int(framing_->kind())],
                   int64_t{-1});
  framing_->Release();
  close(fd_);
}

void ClientConnection::SetFraming(Framing* framing) {
  WorkerStats::Add(worker_->stats().connections[int(framing_->kind())],
                   int64_t{-1});
  framing_->Release();
  framing_ = framing;
  WorkerStats::Add(worker_->stats().connections[int(framing_->kind())],
                   int64_t{1});
}

Session::InputState ClientConnection::Feed(absl::string_view bytes) {
  Session::InputState state = framing_->OnInput(*this, bytes);
  absl::string_view rest;
  while (Framing* next = framing_->TakeSuccessor(&rest)) {
    SetFraming(next);
    if (state != Session::InputState::kReady || rest.empty()) break;
    state = framing_->OnInput(*this, rest);
  }
  return state;
}

void ClientConnection::EndInput() {
  SetThrottled(false);
  Drain();
}

void ClientConnection::ExtendDeadline() {
  const absl::Duration join_timeout = worker_->options().join_timeout;
  if (state_ == State::kOpen && join_timeout > absl::ZeroDuration()) {
    worker_->loop().timers().Arm(&timer_, worker_->now() + join_timeout);
  }
}

void ClientConnection::CountDrop(DropReason reason) {
  WorkerStats::Add(worker_->stats().drops[int(reason)], uint64_t{1});
}

void ClientConnection::Open() {
  SetNoDelay(fd_);
  interest_ = EPOLLIN;
  worker_->loop().Add(fd_, interest_, this);
  // The join deadline: the one deadline of an unjoined connection.
  const absl::Duration join_timeout = worker_->options().join_timeout;
  if (join_timeout > absl::ZeroDuration()) {
    worker_->loop().timers().Arm(&timer_, worker_->now() + join_timeout);
  }
}

void ClientConnection::CloseWith(PayloadRef line, CloseReason why) {
  if (state_ != State::kOpen) return;
  framing_->SendFinal(*this, std::move(line), why);
  Drain();
}

void ClientConnection::Abort() { Retire(); }

void ClientConnection::OnEvents(uint32_t events) {
  if (peer_closed_ && (events & (EPOLLHUP | EPOLLERR))) {
    Retire();  // Nothing more to read, and writing is impossible.
    return;
  }
  if ((events & (EPOLLHUP | EPOLLERR)) && state_ == State::kOpen &&
      (throttled_ || input_held_)) {
    // A reset while we were not reading. Epoll reports it whatever the
    // mask, so it cannot wait its turn; the lines still waiting are lost
    // with the connection, as a reset loses whatever was in flight.
    VLOG(1) << "fd " << fd_ << ": reset while its input waited";
    Retire();
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
  CountDrop(DropReason::kSlow);
  CloseWith(FormatError(kErrorTooSlow), CloseReason::kTooSlow);
}

void ClientConnection::QueueFlush() {
  if (queued_for_flush_) return;
  queued_for_flush_ = true;
  worker_->QueueFlush(this);
}

void ClientConnection::Read() {
  char* const buffer = worker_->read_buffer();
  const size_t size = Worker::kReadBufferSize;
  for (int i = 0; i < kMaxReadsPerEvent && !retired() && !peer_closed_; ++i) {
    if (state_ == State::kOpen) {
      if (throttled_) return;
      // Checked before every read, so a worker that has just filled a
      // mailbox adds at most the rest of one read to it.
      if (worker_->input_paused()) {
        HoldInput();
        return;
      }
    }
    // recv, not read: straight into the socket layer (see OutputQueue).
    const ssize_t n = recv(fd_, buffer, size, MSG_DONTWAIT);
    if (n > 0) {
      SingleWriterAdd(worker_->stats().bytes_in,
                            static_cast<uint64_t>(n));
      // Once draining, input is read only to be thrown away.
      if (state_ == State::kOpen)
        AfterInput(Feed(absl::string_view(buffer, n)));
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

void ClientConnection::AfterInput(Session::InputState state) {
  switch (state) {
    case Session::InputState::kOver:
      switch (session_.ending()) {
        case Session::Ending::kLineTooLong:
          CountDrop(DropReason::kLineTooLong);
          break;
        case Session::Ending::kRefused:
          CountDrop(DropReason::kProtocolError);
          break;
        case Session::Ending::kNone:
        case Session::Ending::kQuit:
          break;
      }
      SetThrottled(false);
      Drain();
      return;
    case Session::InputState::kThrottled:
      if (!throttled_) {
        WorkerStats::Add(worker_->stats().throttle_events, uint64_t{1});
        SetThrottled(true);
        UpdateInterest();
      }
      ArmTimer();
      return;
    case Session::InputState::kReady:
      if (throttled_) {
        SetThrottled(false);
        UpdateInterest();
      }
      // Only the join deadline can be armed here; joining disarms it.
      if (timer_.armed()) ArmTimer();
      return;
  }
}

void ClientConnection::ServeHeldLines() {
  if (state_ != State::kOpen || !throttled_ ||
      worker_->now() < session_.resume_at()) {
    return;
  }
  if (worker_->input_paused()) {
    HoldInput();
    return;
  }
  AfterInput(framing_->Resume(*this));
}

void ClientConnection::SetThrottled(bool throttled) {
  if (throttled == throttled_) return;
  throttled_ = throttled;
  WorkerStats::Add(worker_->stats().throttled_connections,
                   int64_t{throttled ? 1 : -1});
}

void ClientConnection::HoldInput() {
  if (input_held_) return;
  input_held_ = true;
  worker_->HoldInput(this);
  UpdateInterest();
  ArmTimer();  // The throttle deadline waits for the release.
}

void ClientConnection::ReleaseInput() {
  if (!input_held_) return;
  input_held_ = false;
  ServeHeldLines();
  if (retired()) return;
  UpdateInterest();
  ArmTimer();
}

void ClientConnection::OnTimer() {
  switch (state_) {
    case State::kRetired:
      return;
    case State::kDraining:  // The drain limit, the only deadline left.
      Retire();
      return;
    case State::kOpen:
      if (!session_.joined()) {
        VLOG(1) << "fd " << fd_ << ": no JOIN in time";
        CountDrop(DropReason::kJoinTimeout);
        CloseWith(FormatError(kErrorJoinTimeout), CloseReason::kTimeout);
        return;
      }
      ServeHeldLines();
      if (state_ == State::kOpen && worker_->now() >= framing_->deadline()) {
        framing_->OnDeadline(*this);
      }
      if (!retired()) ArmTimer();
      return;
  }
}

void ClientConnection::ArmTimer() {
  // An unjoined connection keeps the join deadline Open() armed, and a
  // draining one the limit Drain() armed; a joined one waits for its next
  // token while throttled, unless the worker holds its input, and for the
  // framing's own deadline.
  if (state_ != State::kOpen || !session_.joined()) return;
  absl::Time at = framing_->deadline();
  if (throttled_ && !input_held_) at = std::min(at, session_.resume_at());
  worker_->loop().timers().Arm(&timer_, at);
}

void ClientConnection::Flush() {
  queued_for_flush_ = false;
  if (retired()) return;
  if (!output_.empty()) {
    const size_t before = output_.pending_bytes();
    const absl::Status status = output_.WriteTo(fd_);
    SingleWriterAdd(
        worker_->stats().bytes_out,
        static_cast<uint64_t>(before - output_.pending_bytes()));
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
  SetThrottled(false);
  session_.End();
  worker_->loop().timers().Arm(
      &timer_, worker_->now() + worker_->options().drain_timeout);
  QueueFlush();
}

void ClientConnection::Retire() {
  if (retired()) return;
  state_ = State::kRetired;
  SetThrottled(false);
  session_.End();
  worker_->loop().timers().Disarm(&timer_);
  if (input_held_) {
    input_held_ = false;
    worker_->ForgetHeld(this);
  }
  worker_->loop().Remove(fd_);
  output_.Clear();
  worker_->Retire(this);
}

void ClientConnection::UpdateInterest() {
  const bool reading = !peer_closed_ && (state_ != State::kOpen ||
                                         (!throttled_ && !input_held_));
  const uint32_t wanted = (reading ? uint32_t{EPOLLIN} : 0u) |
                          (output_.empty() ? 0u : uint32_t{EPOLLOUT});
  if (wanted == interest_) return;
  interest_ = wanted;
  worker_->loop().Modify(fd_, interest_, this);
}

}  // namespace chatd
