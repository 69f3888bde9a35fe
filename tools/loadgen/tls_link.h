// TlsLink is the TLS layer under one loadgen Connection (--tls): the
// connection's socket reads and writes go through it, so the protocol
// sessions above (WebSocket included) see plaintext and never know. It
// holds the connection's TlsStream (net/tls_stream.h) and the plaintext not
// yet taken by it, and says which socket events it waits for.
//
// Some servers greet in plaintext and start TLS after that line (NATS:
// INFO with tls_required, then the client's handshake); with
// `greeting_line` the link first reads exactly one line from the socket
// without TLS, hands it up as received bytes, and only then starts the
// handshake. What the session queued meanwhile (NATS's CONNECT) is sent
// once TLS is up.
//
// Owned by one Connection and used only on its reactor thread; the socket
// stays the connection's.
#ifndef CHATD_TOOLS_LOADGEN_TLS_LINK_H_
#define CHATD_TOOLS_LOADGEN_TLS_LINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"

namespace chatd::loadgen {

class TlsLink {
 public:
  struct Options {
    // Sent as SNI (a host name) and checked against the certificate.
    std::string server_name;
    // Read one plaintext line before the handshake (see above).
    bool greeting_line = false;
    // With greeting_line: the line must contain this, or the server is
    // not going to speak TLS and the link fails with the line as reason.
    std::string greeting_must_contain;
  };

  enum class Io : uint8_t { kOk, kClosed, kError };

  static absl::StatusOr<std::unique_ptr<TlsLink>> Create(
      std::shared_ptr<const TlsContext> context, int fd,
      const Options& options);
  TlsLink(const TlsLink&) = delete;
  TlsLink& operator=(const TlsLink&) = delete;

  // Reads what the socket has into `buffer` (size >= TlsStream::kMaxRecord,
  // plus the greeting's length with greeting_line), record after record
  // until it would block or the buffer is nearly full; `*n` bytes of
  // plaintext, which may come with kClosed or kError.
  Io Read(char* buffer, size_t size, size_t* n);

  // Queues plaintext to send.
  void Queue(absl::string_view bytes) {
    out_.append(bytes.data(), bytes.size());
  }
  // Sends what is queued as far as the socket takes it.
  Io Flush();

  // Plaintext queued and not yet taken by the stream.
  size_t pending_bytes() const { return out_.size() - out_offset_; }
  // Whether EPOLLOUT is needed: a write or a read waits for the socket to
  // take more.
  bool wants_write() const { return write_wants_write_ || read_wants_write_; }
  // A read waits for EPOLLOUT (and should be retried on it).
  bool read_wants_write() const { return read_wants_write_; }
  // Output waits for the peer's handshake: Flush() again after a Read().
  bool write_wants_read() const {
    return write_wants_read_ &&
           (pending_bytes() > 0 || stream_->write_blocked());
  }
  bool established() const { return stream_->established(); }

  // Best effort close_notify; nothing is sent through the link after it.
  void Shutdown();

  // Why the last call returned kError.
  const std::string& error() const { return error_; }

 private:
  TlsLink(std::unique_ptr<TlsStream> stream, int fd, const Options& options);

  // The plaintext greeting; kOk with `*done` once it is all there.
  Io ReadGreeting(char* buffer, size_t size, size_t* n, bool* done);
  Io Fail(absl::string_view what);
  // Sends through the socket directly when the kernel encrypts (kTLS).
  Io SendKernel();

  const std::unique_ptr<TlsStream> stream_;
  const int fd_;
  std::string out_;
  size_t out_offset_ = 0;
  // Until the greeting line is complete: what of it has arrived.
  std::string greeting_;
  std::string greeting_must_contain_;
  std::string error_;
  bool in_greeting_;
  bool read_wants_write_ = false;
  bool write_wants_write_ = false;
  bool write_wants_read_ = false;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_TLS_LINK_H_
