// A blocking chat client over loopback TCP, for integration tests.
//
// Every call that waits is bounded by a timeout and is built on poll(), so a
// server that stops answering makes a test fail with a readable status
// instead of hanging until Bazel kills it. Reads are buffered: ReadLine()
// returns one "\n"-terminated line at a time without the "\n".
//
// Thread safety: one thread may read (ReadLine, NextLine, ExpectClosed) while
// another thread writes (SendRaw, SendLine) on the same client; nothing else
// is shared.

#ifndef CHATD_TESTS_CHAT_CLIENT_H_
#define CHATD_TESTS_CHAT_CLIENT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chatd_test {

// Long enough for a loaded CI machine, short enough to fail a test fast.
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

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

  // Connects (from `source_ip`, as in Connect), sends "JOIN <group> <name>"
  // and checks that the reply is the welcome line with `online` members
  // (any count if `online` is negative). Fails with the reply otherwise.
  static absl::StatusOr<ChatClient> Join(int port, absl::string_view group,
                                         absl::string_view name, int online,
                                         absl::string_view source_ip = "");

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
  // Half-closes: the server sees EOF, and we can still read.
  absl::Status ShutdownWrite();
  // Closes the socket; safe to call more than once.
  void Close();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  // Waits until `fd_` is ready for `events` or the deadline passes.
  absl::Status WaitFor(short events, absl::Time deadline);
  // Reads whatever is available into `buffer_` after waiting for it.
  // Returns the number of bytes read: 0 means EOF.
  absl::StatusOr<size_t> FillBuffer(absl::Time deadline);

  int fd_ = -1;
  std::string buffer_;  // Bytes received; those from start_ on are unread.
  size_t start_ = 0;
  bool eof_ = false;  // The peer ended the stream; no more bytes will come.
  std::string eof_reason_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_CHAT_CLIENT_H_
