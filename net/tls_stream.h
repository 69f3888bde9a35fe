// TlsStream is one TLS connection over a connected, non-blocking TCP socket,
// driven by the event loop that owns the socket: every call does what it can
// without blocking and says what it waits for. Any call may need to read or
// to write (a handshake message, a TLS 1.3 key update, an alert), so the
// owner watches the socket for whatever the last call asked for. Owned by
// one connection and touched only on its thread; the server's workers,
// loadgen and the tests all use it.
//
// The handshake runs inside the first Read() or Write(); established() says
// when it is over. OpenSSL reads and writes the socket itself (a socket BIO,
// which kernel TLS requires). When the kernel has taken over sending
// (kernel_send()), the owner writes plain bytes with sendmsg and the kernel
// builds the records; otherwise Write() encrypts one record per call.
//
// Memory: an idle, established stream holds its SSL object and no I/O
// buffers (SSL_MODE_RELEASE_BUFFERS); a write that would block keeps a copy
// of its record until it completes, as OpenSSL requires the retry to present
// the same bytes.
#ifndef CHATD_NET_TLS_STREAM_H_
#define CHATD_NET_TLS_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/tls_context.h"

typedef struct ssl_st SSL;

namespace chatd {

class TlsStream {
 public:
  // The largest plaintext of one TLS record.
  static constexpr size_t kMaxRecord = 16384;

  enum class Role : uint8_t { kServer, kClient };
  enum class Result : uint8_t {
    kDone,       // The call did its work.
    kWantRead,   // Call again when the socket is readable.
    kWantWrite,  // Call again when the socket is writable.
    kClosed,     // The peer ended the TLS session (close_notify or EOF).
    kError,      // Fatal: a failed handshake, a bad record, a reset.
  };

  // A stream on `fd`, which stays the caller's and must outlive it.
  // `server_name` (client role) is sent as SNI and checked against the
  // peer's certificate when the context verifies.
  static absl::StatusOr<std::unique_ptr<TlsStream>> Create(
      std::shared_ptr<const TlsContext> context, int fd, Role role,
      absl::string_view server_name = "");
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Reads decrypted bytes into `buffer` (at most one record's worth per
  // call); kDone sets `*n` > 0.
  Result Read(char* buffer, size_t size, size_t* n);

  // Sends `bytes` (at most kMaxRecord) as one record. kDone: `*taken` bytes
  // were sent, all of them unless the record was cut short. kWantRead or
  // kWantWrite while the handshake is still running: nothing was taken
  // (`*taken` = 0); call Write() again. kWantRead or kWantWrite after it:
  // the stream took all of `bytes` (`*taken` = size) and keeps a copy, so
  // the caller may reuse its buffer; ResumeWrite() finishes them and must
  // return kDone before the next Write().
  Result Write(absl::string_view bytes, size_t* taken);
  Result ResumeWrite();
  // A Write() is waiting for ResumeWrite().
  bool write_blocked() const { return blocked_size_ > 0; }
  // The last Read() waits for the socket to be writable, or the last
  // Write() or ResumeWrite() for it to be readable: the owner watches for
  // that direction as well.
  bool read_wants_write() const { return read_wants_write_; }
  bool write_wants_read() const { return write_wants_read_; }

  // Sends close_notify once; kWantWrite means call again. Nothing is read
  // or written through the stream after kDone.
  Result Shutdown();

  bool established() const { return established_; }
  // Whether the kernel encrypts what is sent on the socket (kTLS): then the
  // owner writes with sendmsg, never with Write(). Known once established.
  bool kernel_send() const { return kernel_send_; }
  // The negotiated version, cipher and ALPN protocol ("" before or none).
  std::string version() const;
  std::string cipher() const;
  std::string alpn() const;

  // Why the last call returned kError, as one line: the OpenSSL errors or
  // the system error. Call it right after, on the same thread.
  std::string TakeError();

 private:
  TlsStream(std::shared_ptr<const TlsContext> context, SSL* ssl);

  // Maps a failed call's return value to a Result.
  Result Failure(int ret);
  // Runs the handshake while it is not over: kDone once established.
  Result Handshake();
  // Read() and Write() without noting what they wait for.
  Result ReadSome(char* buffer, size_t size, size_t* n);
  Result WriteRecord(absl::string_view bytes, size_t* taken);

  SSL* const ssl_;
  // Held until the handshake is over: the context's callbacks (ALPN) read
  // it; an established stream needs only its SSL, which keeps its SSL_CTX.
  std::shared_ptr<const TlsContext> context_;
  std::unique_ptr<char[]> blocked_;  // The record a blocked Write() took.
  uint32_t blocked_size_ = 0;
  int saved_errno_ = 0;  // With kError from a system call.
  bool established_ = false;
  bool kernel_send_ = false;
  bool shut_ = false;
  bool read_wants_write_ = false;
  bool write_wants_read_ = false;
};

}  // namespace chatd

#endif  // CHATD_NET_TLS_STREAM_H_
