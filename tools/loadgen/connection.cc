#include "tools/loadgen/connection.h"

#include <errno.h>
#include <glog/logging.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "net/payload.h"
#include "tools/loadgen/client_socket.h"
#include "tools/loadgen/clock.h"
#include "tools/loadgen/message_stamp.h"
#include "tools/loadgen/server_list.h"
#include "tools/loadgen/websocket_session.h"

namespace chatd::loadgen {
namespace {

// Reads per readiness event before moving on to other connections.
constexpr int kMaxReadsPerEvent = 4;
// Problems logged per thread; the counters still count every one.
constexpr int kMaxProblemsLogged = 10;

// Connection `id`'s session: its protocol, over WebSocket if so configured.
std::unique_ptr<ProtocolSession> NewSession(const LoadConfig& config,
                                            const ServerAddress& server,
                                            uint32_t id) {
  std::unique_ptr<ProtocolSession> session = NewProtocolSession(
      config.protocol, WorkloadShape::GroupName(config.shape.GroupOf(id)),
      WorkloadShape::MemberName(id));
  if (config.transport != TransportKind::kWebSocket) return session;
  // loadgen_main refuses protocols without WebSocket options.
  std::optional<WebSocketOptions> options =
      WebSocketOptionsFor(config.protocol);
  CHECK(options.has_value());
  options->host_port = FormatServerAddress(server);
  options->path = config.ws_path;
  if (config.tls) options->origin_scheme = "https";
  return std::make_unique<WebSocketSession>(std::move(session),
                                            *std::move(options));
}

// The TLS layer of connection `id` on `fd`, when the run has --tls.
absl::StatusOr<std::unique_ptr<TlsLink>> NewTlsLink(const ThreadContext& ctx,
                                                    uint32_t id, int fd) {
  const LoadConfig& config = ctx.shared->config;
  TlsLink::Options options;
  options.server_name = config.tls_server_name.empty()
                            ? ctx.shared->ServerOf(id).address.host
                            : config.tls_server_name;
  // nats-server (without handshake_first) sends INFO in plaintext and
  // starts TLS after it; its WebSocket listener is TLS from the first byte.
  if (config.protocol == ProtocolKind::kNats &&
      config.transport == TransportKind::kTcp) {
    options.greeting_line = true;
    options.greeting_must_contain = "\"tls_required\":true";
  }
  return TlsLink::Create(ctx.shared->tls_contexts[ctx.index], fd, options);
}

}  // namespace

Connection::Connection(uint32_t id, ThreadContext* ctx)
    : id_(id),
      ctx_(ctx),
      session_(NewSession(ctx->shared->config,
                          ctx->shared->ServerOf(id).address, id)),
      ledger_(ctx->shared->config.shape.SendersOf(
          ctx->shared->config.shape.GroupOf(id))) {}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

void Connection::Start(const sockaddr_in& server, std::optional<in_addr> source,
                       int64_t deadline_ns) {
  deadline_ns_ = deadline_ns;
  ctx_->counters.started.Add(1);
  absl::StatusOr<ConnectStart> start = StartConnect(server, source);
  if (!start.ok()) {
    state_ = State::kConnecting;  // So Close() counts it as failed.
    Close(start.status().ToString());
    return;
  }
  fd_ = start->fd;
  state_ = State::kConnecting;
  if (start->connected) {
    ctx_->loop.Add(fd_, EPOLLIN, this);
    OnConnected();
  } else {
    ctx_->loop.Add(fd_, EPOLLOUT, this);
  }
}

void Connection::OnEvents(uint32_t events) {
  if (state_ == State::kClosed) return;  // Closed earlier in this batch.
  if (state_ == State::kConnecting) {
    const int error = TakeSocketError(fd_);
    if (error != 0) {
      Close(absl::StrCat("connect: ", strerror(error)));
      return;
    }
    ctx_->loop.Modify(fd_, EPOLLIN, this);
    OnConnected();
    return;
  }
  // A TLS read may wait for the socket to be writable (a handshake or key
  // update message to send first).
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
      (tls_ != nullptr && (events & EPOLLOUT) && tls_->read_wants_write())) {
    ReadAll();
    if (state_ == State::kClosed) return;
  }
  if (events & EPOLLOUT) Flush();
}

void Connection::OnConnected() {
  state_ = State::kJoining;
  ctx_->counters.connected.Add(1);
  if (!ctx_->shared->tls_contexts.empty()) {
    absl::StatusOr<std::unique_ptr<TlsLink>> link = NewTlsLink(*ctx_, id_, fd_);
    if (!link.ok()) {
      Close(link.status().ToString());
      return;
    }
    tls_ = *std::move(link);
  }
  // Under TLS what Start() sends waits in tls_ until the handshake (which
  // the first Flush or, after a plaintext greeting, Read begins) is done.
  session_->Start(this);
}

void Connection::ReadAll() {
  if (tls_ != nullptr) {
    ReadTls();
    return;
  }
  char* const buffer = ctx_->read_buffer.get();
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    // One recv per delivery in the big workloads: recv skips read's VFS
    // layer, leaving more of the shared cores to the server under test.
    const ssize_t n =
        recv(fd_, buffer, ThreadContext::kReadBufferBytes, MSG_DONTWAIT);
    if (n > 0) {
      ctx_->now_ns = MonotonicNowNs();
      if (!session_->Feed(absl::string_view(buffer, static_cast<size_t>(n)),
                          this)) {
        const absl::string_view reason = session_->FailureReason();
        Close(reason.empty() ? "protocol violation" : reason);
        return;
      }
      if (static_cast<size_t>(n) < ThreadContext::kReadBufferBytes) return;
      continue;
    }
    if (n == 0) {
      Close("server closed the connection");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    Close(absl::StrCat("read: ", strerror(errno)));
    return;
  }
}

void Connection::ReadTls() {
  char* const buffer = ctx_->read_buffer.get();
  size_t n = 0;
  const TlsLink::Io io =
      tls_->Read(buffer, ThreadContext::kReadBufferBytes, &n);
  if (n > 0) {
    ctx_->now_ns = MonotonicNowNs();
    if (!session_->Feed(absl::string_view(buffer, n), this)) {
      const absl::string_view reason = session_->FailureReason();
      Close(reason.empty() ? "protocol violation" : reason);
      return;
    }
  }
  if (io == TlsLink::Io::kClosed) {
    Close("server closed the connection");
    return;
  }
  if (io == TlsLink::Io::kError) {
    Close(std::string(tls_->error()));
    return;
  }
  // Output held back by the handshake can go now.
  if (tls_->write_wants_read()) MarkDirty();
  SetWantWrite(tls_->wants_write());
}

void Connection::QueueMessage(int64_t t_ns) {
  ctx_->text.clear();
  AppendStampedText(MessageStamp{id_, sent_, t_ns},
                    ctx_->shared->config.payload_bytes, &ctx_->text);
  ctx_->frame.clear();
  session_->FrameMessage(ctx_->text, &ctx_->frame);
  if (tls_ != nullptr) {
    tls_->Queue(ctx_->frame);
  } else {
    out_.Push(Payload::Copy(ctx_->frame));
  }
  ++sent_;
  ctx_->counters.sent.Add(1);
  MarkDirty();
}

void Connection::Flush() {
  dirty_ = false;
  if (state_ == State::kClosed || state_ == State::kConnecting) return;
  if (tls_ != nullptr) {
    FlushTls();
    return;
  }
  const absl::Status status = out_.WriteTo(fd_);
  if (!status.ok()) {
    Close(status.ToString());
    return;
  }
  SetWantWrite(!out_.empty());
}

void Connection::FlushTls() {
  switch (tls_->Flush()) {
    case TlsLink::Io::kOk:
      break;
    case TlsLink::Io::kClosed:
      Close("server closed the connection");
      return;
    case TlsLink::Io::kError:
      Close(std::string(tls_->error()));
      return;
  }
  SetWantWrite(tls_->wants_write());
}

void Connection::SetWantWrite(bool want_write) {
  if (want_write == want_write_) return;
  want_write_ = want_write;
  ctx_->loop.Modify(fd_, want_write ? EPOLLIN | EPOLLOUT : EPOLLIN, this);
  // A sender held back by its full socket may go on.
  if (!want_write) ctx_->pump_senders = true;
}

void Connection::Close(absl::string_view reason) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kJoined) {
    ctx_->counters.disconnected.Add(1);
    RunShared& shared = *ctx_->shared;
    shared.closed[id_].store(true, std::memory_order_release);
    // Senders here or elsewhere may be paced by this connection, or be it.
    if (shared.phase.load(std::memory_order_acquire) == Phase::kSend) {
      ctx_->pump_senders = true;
      for (Waker* waker : shared.wakers) waker->Wake();
    }
    // Closing is normal once the run is over.
    if (ctx_->shared->phase.load(std::memory_order_relaxed) != Phase::kStop) {
      Warn(absl::StrCat("disconnected: ", reason));
    }
  } else {
    ctx_->counters.failed.Add(1);
    Warn(absl::StrCat("failed to join: ", reason));
  }
  state_ = State::kClosed;
  if (tls_ != nullptr) {
    tls_->Shutdown();
    tls_.reset();
  }
  if (fd_ >= 0) {
    ctx_->loop.Remove(fd_);
    close(fd_);
    fd_ = -1;
  }
  out_.Clear();
}

void Connection::OnJoined(int online) {
  if (state_ != State::kJoining) return;
  state_ = State::kJoined;
  ctx_->counters.joined.Add(1);
  ctx_->counters.last_event_ns.Set(ctx_->now_ns);
  ctx_->shared->joined[id_].store(true, std::memory_order_release);
  const WorkloadShape& shape = ctx_->shared->config.shape;
  const int members = static_cast<int>(shape.MembersOf(shape.GroupOf(id_)));
  // Everyone who joins after us is announced to us.
  if (online > 0 && members > online) {
    ctx_->counters.notices_expected.Add(members - online);
  }
}

void Connection::OnMemberJoined() {
  ctx_->counters.notices_seen.Add(1);
  ctx_->counters.last_event_ns.Set(ctx_->now_ns);
}

void Connection::OnMessage(absl::string_view text) {
  ThreadCounters& counters = ctx_->counters;
  const std::optional<MessageStamp> stamp = ParseStampedText(text);
  if (!stamp.has_value()) {
    counters.corrupt.Add(1);
    Warn(absl::StrCat("unparseable message: ", text.substr(0, 80)));
    return;
  }
  if (stamp->sender == id_) {
    counters.self_echoes.Add(1);
    return;
  }
  const WorkloadShape& shape = ctx_->shared->config.shape;
  if (!shape.Hears(id_, stamp->sender)) {
    counters.corrupt.Add(1);
    Warn(absl::StrCat("message from c", stamp->sender, " not in my group"));
    return;
  }
  switch (ledger_.Record(shape.SlotOf(stamp->sender), stamp->seq)) {
    case DeliveryLedger::Outcome::kDuplicate:
      counters.duplicates.Add(1);
      return;
    case DeliveryLedger::Outcome::kLate:
      counters.reordered.Add(1);
      break;
    case DeliveryLedger::Outcome::kInOrder:
    case DeliveryLedger::Outcome::kAhead:
      break;
  }
  counters.delivered.Add(1);
  counters.last_delivery_ns.Set(ctx_->now_ns);
  ctx_->latency.Record(ctx_->now_ns - stamp->t_ns);
  Acknowledge(stamp->sender, stamp->seq);
}

void Connection::Acknowledge(uint32_t sender, uint32_t seq) {
  RunShared& shared = *ctx_->shared;
  if (shared.config.rate > 0 || !ctx_->PlanVisible()) return;
  if (shared.pacing_receiver[sender] != id_) return;
  std::atomic<uint32_t>& acked = shared.acked[sender];
  // Only this thread writes it; a late (reordered) seq never moves it back.
  if (seq + 1 <= acked.load(std::memory_order_relaxed)) return;
  acked.store(seq + 1);
  const int thread = shared.ThreadOf(sender);
  if (thread == ctx_->index) {
    ctx_->pump_senders = true;
  } else {
    shared.wakers[thread]->Wake();
  }
}

void Connection::OnServerError(absl::string_view line) {
  ctx_->counters.server_errors.Add(1);
  Warn(absl::StrCat("server error: ", line.substr(0, 200)));
}

void Connection::Send(absl::string_view bytes) {
  if (tls_ != nullptr) {
    tls_->Queue(bytes);
  } else {
    out_.Push(Payload::Copy(bytes));
  }
  MarkDirty();
}

void Connection::MarkDirty() {
  if (dirty_) return;
  dirty_ = true;
  ctx_->dirty.push_back(this);
}

void Connection::Warn(absl::string_view what) {
  if (ctx_->problems_logged >= kMaxProblemsLogged) return;
  if (++ctx_->problems_logged == kMaxProblemsLogged) {
    LOG(WARNING) << "c" << id_ << ": " << what
                 << " (further problems on this thread are only counted)";
  } else {
    LOG(WARNING) << "c" << id_ << ": " << what;
  }
}

}  // namespace chatd::loadgen
