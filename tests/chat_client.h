// A blocking chat client over loopback TCP, for integration tests.
//
// Every call that waits is bounded by a timeout and is built on poll(), so a
// server that stops answering makes a test fail with a readable status
// instead of hanging until Bazel kills it. Reads are buffered: ReadLine()
// returns one "\n"-terminated line at a time without the "\n".
//
// Connect() reaches 127.0.0.1; an Endpoint names any IPv4 or IPv6 address
// and may ask for TLS. In TLS mode the client runs the handshake (through
// chatd::TlsStream, the project's one TLS wrapper) before Connect() returns,
// and from then on every read and write goes through it, below the line
// buffering: ReadLine, SendLine, ExpectClosed and the rest work the same.
// (Where the kernel has taken over TLS sending, writes are plain send()s,
// as TlsStream asks.) The first TLS connection makes the process ignore
// SIGPIPE: OpenSSL writes with write(), and a server that has gone must
// fail the call, not kill the test.
//
// Thread safety: one thread may read (ReadLine, NextLine, ExpectClosed,
// ReadSome) while another thread writes (SendRaw, SendLine) on the same
// client; nothing else is shared. In TLS mode both use the one SSL object,
// which OpenSSL does not allow two threads to touch at once: every TlsStream
// call is made under a mutex of the client's, and no thread holds it while
// it waits in poll(), so a blocked reader never holds up a writer.

#ifndef CHATD_TESTS_CHAT_CLIENT_H_
#define CHATD_TESTS_CHAT_CLIENT_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"

namespace chatd_test {

// Long enough for a loaded CI machine, short enough to fail a test fast.
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

// Where a client connects, and how.
struct Endpoint {
  // An IPv4 or IPv6 address literal ("127.0.0.1", "::1").
  std::string host = "127.0.0.1";
  int port = 0;
  // When not empty, the local end is bound to this address first.
  std::string source_ip;
  // TLS when set (e.g. from TlsClientContext()); plain TCP otherwise.
  std::shared_ptr<const chatd::TlsContext> tls;
  // Sent as SNI and checked against the certificate when the context
  // verifies; empty means `host`, which is checked as an IP address.
  std::string server_name;
};

// "127.0.0.1:7000", "[::1]:7000": for Host headers and messages.
std::string HostPort(absl::string_view host, int port);

// A client TLS context trusting `ca_file` (nothing else), offering `alpn`
// when not empty; `min_version`/`max_version` (TLS1_1_VERSION, ...) as in
// chatd::TlsContext::ClientOptions (0: TLS 1.2 and 1.3).
absl::StatusOr<std::shared_ptr<const chatd::TlsContext>> TlsClientContext(
    const std::string& ca_file, absl::string_view alpn = "",
    int min_version = 0, int max_version = 0);

class ChatClient {
 public:
  ChatClient() = default;
  ~ChatClient();
  ChatClient(ChatClient&& other) noexcept;
  ChatClient& operator=(ChatClient&& other) noexcept;
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;

  // Connects to 127.0.0.1:`port`. A non-empty `source_ip` binds the local
  // end to that address first (any 127.x.y.z works on Linux).
  absl::Status Connect(int port, absl::string_view source_ip = "",
                       absl::Duration timeout = kDefaultTimeout);
  // Connects to `endpoint`; with endpoint.tls, also completes the TLS
  // handshake (verifying the server's certificate when the context does)
  // within `timeout`. Bytes the server sends right after the handshake are
  // kept for ReadLine().
  absl::Status Connect(const Endpoint& endpoint,
                       absl::Duration timeout = kDefaultTimeout);

  // Connects (from `source_ip`, as in Connect), sends "JOIN <group> <name>"
  // and checks that the reply is the welcome line with `online` members
  // (any count if `online` is negative). Fails with the reply otherwise.
  static absl::StatusOr<ChatClient> Join(int port, absl::string_view group,
                                         absl::string_view name, int online,
                                         absl::string_view source_ip = "");
  // The same at `endpoint` (any address, TLS or not).
  static absl::StatusOr<ChatClient> Join(const Endpoint& endpoint,
                                         absl::string_view group,
                                         absl::string_view name, int online);

  // Writes all of `bytes`, waiting for the socket to drain if needed.
  absl::Status SendRaw(absl::string_view bytes,
                       absl::Duration timeout = kDefaultTimeout);
  // Writes `text` followed by "\n".
  absl::Status SendLine(absl::string_view text,
                        absl::Duration timeout = kDefaultTimeout);

  // Returns the next line without its "\n". DeadlineExceeded when no full
  // line arrives within `timeout`; Unavailable when the peer closed or reset
  // the connection first (the message says which, and shows any unterminated
  // bytes).
  absl::StatusOr<std::string> ReadLine(
      absl::Duration timeout = kDefaultTimeout);

  // ReadLine() flattened into a string for assertions: the line itself, or
  // "<no line: STATUS>" so a failed EXPECT_EQ shows why nothing came.
  std::string NextLine(absl::Duration timeout = kDefaultTimeout);

  // Appends whatever bytes come next (those already buffered first) to
  // `out`, waiting up to `timeout` for some: the raw stream under the line
  // buffering, for other framings (WebSocket). Returns how many; 0 means the
  // peer ended the connection (see ended_by_reset()).
  absl::StatusOr<size_t> ReadSome(std::string* out,
                                  absl::Duration timeout = kDefaultTimeout);

  // OK when the server ends the connection (EOF or reset) within `timeout`
  // without sending anything more. Otherwise an error carrying the unexpected
  // bytes, or DeadlineExceeded when the connection stays open and silent.
  absl::Status ExpectClosed(absl::Duration timeout = kDefaultTimeout);

  // Caps the kernel's receive buffer (SO_RCVBUF, which also stops its
  // autotuning), so a client that stops reading backs up into the server
  // sooner.
  absl::Status SetReceiveBuffer(int bytes);
  // Makes the next Close() send a reset (RST) instead of a FIN.
  absl::Status SetLingerZero();
  // Half-closes: the server sees EOF, and we can still read. In TLS mode a
  // close_notify goes first.
  absl::Status ShutdownWrite();
  // Closes the socket; safe to call more than once.
  void Close();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Whether the peer has ended the stream, and whether by a reset (RST,
  // ECONNRESET) rather than an orderly close (FIN, or TLS close_notify).
  bool ended() const { return eof_; }
  bool ended_by_reset() const { return reset_; }

  // TLS mode: whether on, and the negotiated version ("TLSv1.3"), cipher
  // and ALPN protocol ("" when none was selected).
  bool is_tls() const { return tls_ != nullptr; }
  std::string tls_version() const;
  std::string tls_cipher() const;
  std::string tls_alpn() const;

 private:
  // Connects the socket only.
  absl::Status ConnectTcp(const Endpoint& endpoint, absl::Time deadline);
  // Runs the TLS handshake on the connected socket.
  absl::Status StartTls(const Endpoint& endpoint, absl::Time deadline);
  // One bounded wait in TLS mode: the stream asked for `want`; waits at most
  // a short slice, since the other thread may consume what this one waits
  // for (OpenSSL may read inside a write, and the reverse).
  absl::Status WaitForTls(chatd::TlsStream::Result want, absl::Time deadline);
  // Calls `step`, under tls_mu_, until the stream neither wants to read
  // nor to write, waiting for the socket in between: the result then
  // (kDone, kClosed, or kError with the stream's error in `*error`), or why
  // the wait failed.
  absl::StatusOr<chatd::TlsStream::Result> StepTls(
      const std::function<chatd::TlsStream::Result()>& step,
      absl::Time deadline, std::string* error);
  absl::Status SendTls(absl::string_view bytes, absl::Time deadline);
  // Reads what is available into `out` (TLS or not), after waiting for it;
  // 0 means EOF, and sets eof_.
  absl::StatusOr<size_t> ReadInto(std::string* out, absl::Time deadline);

  // Waits until `fd_` is ready for `events` or the deadline passes.
  absl::Status WaitFor(short events, absl::Time deadline);
  // Reads whatever is available into `buffer_` after waiting for it.
  // Returns the number of bytes read: 0 means EOF.
  absl::StatusOr<size_t> FillBuffer(absl::Time deadline);

  int fd_ = -1;
  std::string buffer_;  // Bytes received; those from start_ on are unread.
  size_t start_ = 0;
  bool eof_ = false;  // The peer ended the stream; no more bytes will come.
  bool reset_ = false;
  std::string eof_reason_;
  // TLS mode: the stream, and the mutex every call on it is made under.
  std::unique_ptr<chatd::TlsStream> tls_;
  std::unique_ptr<std::mutex> tls_mu_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_CHAT_CLIENT_H_
