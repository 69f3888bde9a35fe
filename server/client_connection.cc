#include "server/client_connection.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/irc_session.h"
#include "core/line_session.h"
#include "core/protocol.h"
#include "net/socket.h"
#include "server/worker.h"

namespace chatd {
namespace {

// Reads per readiness event before other connections get their turn.
constexpr int kMaxReadsPerEvent = 4;

// The session a port's protocol speaks: IRC, or the line protocol (which
// the HTTP port's WebSocket upgrade speaks too).
std::unique_ptr<Session> NewSession(Protocol protocol, Worker* worker,
                                    SessionOutput* output) {
  if (protocol == Protocol::kIrc) {
    return std::make_unique<IrcSession>(&worker->shard(), output,
                                        worker->options().session,
                                        &worker->options().irc);
  }
  return std::make_unique<LineSession>(&worker->shard(), output,
                                       worker->options().session);
}

}  // namespace

ClientConnection::ClientConnection(Worker* worker, int fd, bool admitted,
                                   Framing* framing,
                                   std::unique_ptr<TlsStream> tls,
                                   Protocol protocol)
    : worker_(worker),
      session_(NewSession(protocol, worker, this)),
      framing_(framing),
      tls_(std::move(tls)),
      fd_(fd),
      admitted_(admitted) {
  WorkerStats::Add(worker_->stats().connections[int(framing_->kind())],
                   int64_t{1});
  if (tls_ != nullptr) {
    WorkerStats::Add(worker_->stats().tls_connections[int(tls_mode())],
                     int64_t{1});
  }
}

ClientConnection::~ClientConnection() {
  SetThrottled(false);
  session_->End();
  WorkerStats::Add(worker_->stats().connections[int(framing_->kind())],
                   int64_t{-1});
  if (tls_ != nullptr) {
    WorkerStats::Add(worker_->stats().tls_connections[int(tls_mode())],
                     int64_t{-1});
  }
  framing_->Release();
  tls_.reset();  // Before the fd it writes to closes.
  close(fd_);
}

TlsMode ClientConnection::tls_mode() const {
  if (!tls_->established()) return TlsMode::kHandshake;
  return tls_->kernel_send() ? TlsMode::kKernel : TlsMode::kUser;
}

void ClientConnection::CountEstablished(bool was_established) {
  if (was_established || tls_ == nullptr || !tls_->established()) return;
  WorkerStats::Add(worker_->stats().tls_connections[int(TlsMode::kHandshake)],
                   int64_t{-1});
  WorkerStats::Add(worker_->stats().tls_connections[int(tls_mode())],
                   int64_t{1});
  VLOG(1) << "fd " << fd_ << ": " << tls_->version() << " " << tls_->cipher()
          << ", encrypting in " << TlsModeName(tls_mode()) << " space";
}

void ClientConnection::AbandonTls() {
  VLOG(1) << "fd " << fd_ << " from " << PeerAddress(fd_)
          << ": TLS handshake failed: " << tls_->TakeError();
  CountDrop(DropReason::kTlsHandshake);
  FreeTls();
  // Whatever was queued was for a TLS session; none will come.
  output_.Clear();
  if (state_ == State::kOpen) {
    Drain();
  } else {
    QueueFlush();
  }
}

void ClientConnection::FreeTls() {
  WorkerStats::Add(worker_->stats().tls_connections[int(tls_mode())],
                   int64_t{-1});
  tls_.reset();
}

void ClientConnection::EndTls() {
  if (tls_ == nullptr) return;
  // Best effort: the kernel has just taken all our output, so the alert
  // fits; if it does not, the client sees EOF without close_notify, which
  // chat clients accept (as SSL_OP_IGNORE_UNEXPECTED_EOF does here).
  tls_->Shutdown();
  // Nothing more is written, and input is only thrown away from here on,
  // which needs no decryption: free the SSL object and its write buffer
  // (OpenSSL keeps the one it sent the alert from) now rather than at the
  // end of the drain, which matters when thousands close at once.
  FreeTls();
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
  // A TLS read may wait for the socket to be writable, and a TLS write for
  // it to be readable.
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
      (read_wants_write() && (events & EPOLLOUT))) {
    Read();
  }
  if (retired()) return;
  if ((events & EPOLLOUT) || (write_wants_read() && (events & EPOLLIN))) {
    Flush();
  }
}

void ClientConnection::Send(PayloadRef line) {
  if (retired()) return;
  output_.Push(std::move(line));
  QueueFlush();
}

void ClientConnection::EndSession(PayloadRef last_words) {
  SetThrottled(false);
  CloseWith(std::move(last_words), CloseReason::kKicked);
}

void ClientConnection::DropAsTooSlow() {
  std::vector<absl::string_view> groups;
  session_->member().ForEachMembership(
      [&groups](const Membership& m) { groups.push_back(m.group->name()); });
  LOG(WARNING) << "dropping slow consumer "
               << (session_->name().empty() ? "(not joined)" : session_->name())
               << " in "
               << (groups.empty() ? "(none)" : absl::StrJoin(groups, ","))
               << " from " << PeerAddress(fd_) << ": "
               << output_.pending_bytes() << " bytes pending";
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
    size_t n = 0;
    switch (Receive(buffer, size, &n)) {
      case Received::kData:
        SingleWriterAdd(worker_->stats().bytes_in, static_cast<uint64_t>(n));
        // Once draining, input is read only to be thrown away.
        if (state_ == State::kOpen) {
          AfterInput(Feed(absl::string_view(buffer, n)));
        }
        // A short plain read most likely emptied the socket; a TLS read
        // gives one record at most, so only EAGAIN says that.
        if (tls_ == nullptr && n < size) return;
        continue;
      case Received::kNothing:
        return;
      case Received::kEnd:
        VLOG(1) << "fd " << fd_ << ": end of input";
        peer_closed_ = true;
        if (state_ == State::kOpen) {
          Drain();
        } else {
          QueueFlush();  // Finishes the drain.
        }
        return;
      case Received::kFailed:
        Retire();
        return;
    }
  }
}

ClientConnection::Received ClientConnection::Receive(char* buffer, size_t size,
                                                     size_t* n) {
  if (tls_ == nullptr) {
    while (true) {
      // recv, not read: straight into the socket layer (see OutputQueue).
      const ssize_t got = recv(fd_, buffer, size, MSG_DONTWAIT);
      if (got > 0) {
        *n = static_cast<size_t>(got);
        return Received::kData;
      }
      if (got == 0) return Received::kEnd;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Received::kNothing;
      VLOG(1) << "fd " << fd_ << ": read: " << strerror(errno);
      return Received::kFailed;
    }
  }
  const bool was_established = tls_->established();
  const TlsStream::Result result = tls_->Read(buffer, size, n);
  if (!was_established) {
    CountEstablished(was_established);
    // The handshake may have moved on: a write may be waiting for it.
    if (output_pending()) QueueFlush();
  }
  switch (result) {
    case TlsStream::Result::kDone:
      return Received::kData;
    case TlsStream::Result::kWantRead:
      return Received::kNothing;
    case TlsStream::Result::kWantWrite:
      UpdateInterest();
      return Received::kNothing;
    case TlsStream::Result::kClosed:
      return Received::kEnd;
    case TlsStream::Result::kError:
      if (!tls_->established()) {
        AbandonTls();
        return Received::kNothing;
      }
      VLOG(1) << "fd " << fd_ << ": TLS read: " << tls_->TakeError();
      return Received::kFailed;
  }
  return Received::kFailed;
}

void ClientConnection::AfterInput(Session::InputState state) {
  switch (state) {
    case Session::InputState::kOver:
      switch (session_->ending()) {
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
      if (timer_.armed()) ArmTimerAfterInput();
      return;
  }
}

void ClientConnection::ServeHeldLines() {
  if (state_ != State::kOpen || !throttled_ ||
      worker_->now() < session_->resume_at()) {
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
      if (tls_ != nullptr && !tls_->established()) {
        VLOG(1) << "fd " << fd_ << " from " << PeerAddress(fd_)
                << ": TLS handshake not finished in time";
        CountDrop(DropReason::kTlsHandshake);
        Retire();
        return;
      }
      if (!session_->joined()) {
        VLOG(1) << "fd " << fd_ << ": no JOIN in time";
        CountDrop(DropReason::kJoinTimeout);
        CloseWith(FormatError(kErrorJoinTimeout), CloseReason::kTimeout);
        return;
      }
      ServeHeldLines();
      if (state_ == State::kOpen && worker_->now() >= framing_->deadline()) {
        framing_->OnDeadline(*this);
      }
      if (state_ == State::kOpen && worker_->now() >= session_->deadline() &&
          session_->OnDeadline(worker_->now())) {
        AfterInput(Session::InputState::kOver);
      }
      if (!retired()) ArmTimer();
      return;
  }
}

absl::Time ClientConnection::NextDeadline() const {
  absl::Time at = std::min(framing_->deadline(), session_->deadline());
  if (throttled_ && !input_held_) at = std::min(at, session_->resume_at());
  return at;
}

void ClientConnection::ArmTimer() {
  // An unjoined connection keeps the join deadline Open() armed, and a
  // draining one the limit Drain() armed; a joined one waits for its next
  // token while throttled, unless the worker holds its input, and for the
  // framing's and the session's own deadlines.
  if (state_ != State::kOpen || !session_->joined()) return;
  worker_->loop().timers().Arm(&timer_, NextDeadline());
}

void ClientConnection::ArmTimerAfterInput() {
  // Every line an IRC client sends pushes its idle-ping deadline back: a
  // deadline that only moved later stays armed where it was, so the timer
  // fires early once per idle period (OnTimer finds nothing due and arms
  // it again) instead of moving in the heap on every read.
  if (timer_.armed() && timer_.deadline() <= NextDeadline()) return;
  ArmTimer();
}

void ClientConnection::Flush() {
  queued_for_flush_ = false;
  if (retired()) return;
  if (output_pending()) {
    const size_t before = output_.pending_bytes();
    const absl::Status status = Write();
    SingleWriterAdd(worker_->stats().bytes_out,
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
  if (state_ == State::kDraining && !output_pending()) {
    if (peer_closed_) {
      EndTls();
      Retire();
      return;
    }
    if (!write_shut_) {
      // The client sees everything we sent, then EOF. We keep reading (and
      // discarding) until its EOF so our close cannot reset the connection.
      EndTls();
      shutdown(fd_, SHUT_WR);
      write_shut_ = true;
    }
  }
  UpdateInterest();
}

absl::Status ClientConnection::Write() {
  // The kernel-TLS path is the plain one: sendmsg, and the kernel builds
  // the records. Until the handshake is over kernel_send() is false, so the
  // first writes go through the stream, which runs the handshake; a record
  // the stream holds goes before anything else.
  if (tls_ != nullptr && (!tls_->kernel_send() || tls_->write_blocked())) {
    const absl::Status status = WriteTls();
    if (!status.ok() || tls_ == nullptr || !tls_->kernel_send() ||
        tls_->write_blocked()) {
      return status;
    }
  }
  return output_.WriteTo(fd_);
}

absl::Status ClientConnection::WriteTls() {
  // One record per SSL_write, never one per line: the queue's pieces are
  // gathered into the worker's record buffer, which is free again once the
  // call returns (a blocked record is copied by the stream).
  char* const record = worker_->tls_record_buffer();
  const bool was_established = tls_->established();
  TlsStream::Result result = tls_->ResumeWrite();
  while (result == TlsStream::Result::kDone && !output_.empty() &&
         !tls_->kernel_send()) {
    const size_t n = output_.CopyFront(record, TlsStream::kMaxRecord);
    size_t taken = 0;
    result = tls_->Write(absl::string_view(record, n), &taken);
    output_.Consume(taken);
  }
  CountEstablished(was_established);
  switch (result) {
    case TlsStream::Result::kDone:
    case TlsStream::Result::kWantRead:
    case TlsStream::Result::kWantWrite:
      return absl::OkStatus();
    case TlsStream::Result::kClosed:
      return absl::UnavailableError("TLS write: peer closed");
    case TlsStream::Result::kError:
      if (!tls_->established()) {
        AbandonTls();
        return absl::OkStatus();
      }
      return absl::UnavailableError(
          absl::StrCat("TLS write: ", tls_->TakeError()));
  }
  return absl::OkStatus();
}

void ClientConnection::Drain() {
  if (state_ != State::kOpen) return;
  state_ = State::kDraining;
  SetThrottled(false);
  session_->End();
  worker_->loop().timers().Arm(
      &timer_, worker_->now() + worker_->options().drain_timeout);
  QueueFlush();
}

void ClientConnection::Retire() {
  if (retired()) return;
  state_ = State::kRetired;
  SetThrottled(false);
  session_->End();
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
  const bool want_input = !peer_closed_ && (state_ != State::kOpen ||
                                            (!throttled_ && !input_held_));
  // A TLS call that waits on the other direction counts only while its own
  // direction is wanted: a throttled reader must not spin on EPOLLOUT.
  const bool reading =
      want_input || (write_wants_read() && !peer_closed_ && output_pending());
  const bool writing = output_pending() || (read_wants_write() && want_input);
  const uint32_t wanted =
      (reading ? uint32_t{EPOLLIN} : 0u) | (writing ? uint32_t{EPOLLOUT} : 0u);
  if (wanted == interest_) return;
  interest_ = wanted;
  worker_->loop().Modify(fd_, interest_, this);
}

}  // namespace chatd
