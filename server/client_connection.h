// ClientConnection is one client's socket on a worker: it reads bytes into
// its Framing, which turns them into lines for its Session, and writes what
// is queued for the client. Owned by its Worker and touched only on that
// worker's thread. The framing decides how bytes become lines (a stream,
// HTTP, WebSocket); the connection keeps the lifecycle, the limits and the
// flush the same for all of them.
//
// Life: open (reading and writing) -> draining (the session is over: input is
// read and thrown away, queued output is flushed, then the write side is shut
// so the client sees every byte before EOF) -> retired (out of the loop; the
// worker frees it at the end of the pass). Draining ends on the client's EOF,
// an error, or the worker's close deadline. Throwing input away instead of
// closing at once matters: closing a socket with unread input sends a reset,
// and a reset can destroy the error line the client has not read yet.
//
// While open, reading pauses in two cases, and resumes by itself: the member
// is over its rate (the session holds the waiting lines and the connection's
// timer fires when the next token is due), or the worker holds all chat
// input back because a mailbox it posts to is full. Either way the socket is
// simply not read, so the client's writes back up in the kernel.
//
// Each connection has one Timer, armed for the deadline its state has: the
// join timeout while unjoined, the next token while throttled, the drain
// limit while draining. The timer holds the deadline; nothing else does.
//
// On a TLS port the connection owns a TlsStream, below the framing: reads
// go through it, and so do writes, one record at a time gathered into the
// worker's record buffer, unless the kernel encrypts (kTLS), in which case
// the queue goes out with sendmsg exactly as on a plain port. The join
// deadline covers the handshake. A handshake that fails (plain text on a
// TLS port, an old TLS version) is closed cleanly: nothing more is written,
// the write side is shut and input is read and dropped until EOF. So is a
// session that ends, after close_notify: a draining connection needs no TLS.
#ifndef CHATD_SERVER_CLIENT_CONNECTION_H_
#define CHATD_SERVER_CLIENT_CONNECTION_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/session.h"
#include "net/event_loop.h"
#include "net/output_queue.h"
#include "net/payload.h"
#include "net/timer_queue.h"
#include "net/tls_stream.h"
#include "server/framing.h"
#include "server/worker_stats.h"

namespace chatd {

class Worker;

class ClientConnection final : public EventLoop::Handler,
                               public SessionOutput,
                               private Timer::Handler {
 public:
  // Takes ownership of the connected, non-blocking `fd`, of `framing` and
  // of `tls` (null on a plain port). `admitted` is false for a connection
  // accepted only to be refused.
  // `protocol` chooses the session: IRC on the IRC ports, the line
  // protocol on the others.
  ClientConnection(Worker* worker, int fd, bool admitted, Framing* framing,
                   std::unique_ptr<TlsStream> tls, Protocol protocol);
  // Ends the session if still open and closes the fd.
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Starts watching the socket.
  void Open();
  // Sends `line` (an error or notice) as the framing says for `why`, ends
  // the session and drains.
  void CloseWith(PayloadRef line, CloseReason why);
  // Retires the connection at once (shutdown past its grace period).
  void Abort();

  void OnEvents(uint32_t events) override;
  void Send(PayloadRef line) override;
  void EndSession(PayloadRef last_words) override;

  // Writes what is queued; the worker calls it once per pass for each
  // connection that had output queued.
  void Flush();
  // The worker's input hold is over: serve this connection's input again.
  void ReleaseInput();

  // For the framing, on this worker's thread.
  Session& session() { return *session_; }
  Worker& worker() { return *worker_; }
  OutputQueue& output() { return output_; }
  // The framing has ended the conversation (its close is queued): stop
  // serving input, flush, then close.
  void EndInput();
  // Moves the no-JOIN deadline to a full join timeout from now: an HTTP
  // connection between requests.
  void ExtendDeadline();
  void CountDrop(DropReason reason);

  bool retired() const { return state_ == State::kRetired; }
  bool draining() const { return state_ == State::kDraining; }
  // Waiting for the worker's input hold to end.
  bool input_held() const { return input_held_; }
  int fd() const { return fd_; }
  bool admitted() const { return admitted_; }

 private:
  enum class State : uint8_t { kOpen, kDraining, kRetired };

  // What one read of the socket gave.
  enum class Received : uint8_t { kData, kNothing, kEnd, kFailed };

  void Read();
  // One read, plain or through TLS; kData sets `*n`.
  Received Receive(char* buffer, size_t size, size_t* n);
  // Writes what is queued: with sendmsg, or record by record through TLS.
  absl::Status Write();
  absl::Status WriteTls();
  // Queued bytes, or a TLS record waiting to go.
  bool output_pending() const {
    return !output_.empty() || (tls_ != nullptr && tls_->write_blocked());
  }
  // Sends close_notify (best effort) and frees the TLS state: the socket
  // then drains as a plain one.
  void EndTls();
  // A failed handshake: drop what was queued and go on as a plain socket,
  // to close it cleanly.
  void AbandonTls();
  void FreeTls();
  // How tls_ encrypts now; counted in WorkerStats while tls_ is set.
  TlsMode tls_mode() const;
  // Moves the count from kHandshake once a call has established tls_.
  void CountEstablished(bool was_established);
  bool read_wants_write() const {
    return tls_ != nullptr && tls_->read_wants_write();
  }
  bool write_wants_read() const {
    return tls_ != nullptr && tls_->write_wants_read();
  }
  // Hands bytes to the framing, and to its successors if it hands over.
  Session::InputState Feed(absl::string_view bytes);
  void SetFraming(Framing* framing);
  // Acts on what the session says after taking input.
  void AfterInput(Session::InputState state);
  // Hands held lines to the session when their tokens are due.
  void ServeHeldLines();
  void SetThrottled(bool throttled);
  // Waits for the worker's input hold to end.
  void HoldInput();
  void OnTimer() override;
  // Re-arms the timer of a joined connection for its next token, or
  // disarms it (see the class comment).
  void ArmTimer();
  // ArmTimer() after a read, moving the timer only to an earlier deadline.
  void ArmTimerAfterInput();
  // The earliest of a joined connection's own deadlines.
  absl::Time NextDeadline() const;
  void QueueFlush();
  // The session is over: stop serving input, flush, then close.
  void Drain();
  // Leaves the loop for good; the worker frees the connection later.
  void Retire();
  // Keeps EPOLLIN armed exactly while input is wanted, and EPOLLOUT while
  // output is pending.
  void UpdateInterest();
  // Output left after a write passed --max_output_bytes: drop what is
  // queued, say why, leave.
  void DropAsTooSlow();

  Worker* const worker_;
  std::unique_ptr<Session> session_;
  Framing* framing_;  // Owned: released, never deleted (see Framing).
  std::unique_ptr<TlsStream> tls_;  // Null on a plain port.
  OutputQueue output_;
  Timer timer_{this};
  const int fd_;
  uint32_t interest_ = 0;  // The epoll mask registered for fd_.
  // The flags share one padded word.
  const bool admitted_;
  State state_ = State::kOpen;
  bool queued_for_flush_ = false;
  bool peer_closed_ = false;  // Read returned 0.
  bool write_shut_ = false;
  bool throttled_ = false;   // The session holds lines for want of tokens.
  bool input_held_ = false;  // On the worker's list of held readers.
};

}  // namespace chatd

#endif  // CHATD_SERVER_CLIENT_CONNECTION_H_
