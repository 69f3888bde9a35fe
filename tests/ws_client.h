// A blocking WebSocket (RFC 6455) client for chatd's /ws endpoint, for
// integration tests: the twin of ChatClient.
//
// Every call that waits is bounded by a timeout and is built on poll() (the
// TCP side is a ChatClient, used for connecting, writing and reading raw
// bytes; they are buffered here, frame by frame). Connecting to an Endpoint
// with TLS gives wss://: the ChatClient underneath runs TLS, and everything
// here works the same over it. Connect() performs the opening handshake
// with a random Sec-WebSocket-Key and checks the 101 and the
// Sec-WebSocket-Accept. Frames sent with SendText() are masked, as a client
// must; SendFrame() builds any frame, valid or not, for bad-input tests.
//
// ReadLine() returns the next text message (one chat line, without "\n"),
// reassembling fragments, answering pings with pongs unless
// set_auto_pong(false), skipping pongs, and reporting a close frame as an
// error status: FailedPrecondition "close frame <code> ..." (close_code()
// then holds the code).
//
// Thread safety: one thread may read (ReadLine, ReadFrame, ExpectClose)
// while another writes (SendText, SendFrame); the pongs the reader sends are
// serialized with the writer's frames.

#ifndef CHATD_TESTS_WS_CLIENT_H_
#define CHATD_TESTS_WS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/chat_client.h"

namespace chatd_test {

// WebSocket opcodes (RFC 6455 section 5.2).
inline constexpr uint8_t kWsContinuation = 0x0;
inline constexpr uint8_t kWsText = 0x1;
inline constexpr uint8_t kWsBinary = 0x2;
inline constexpr uint8_t kWsClose = 0x8;
inline constexpr uint8_t kWsPing = 0x9;
inline constexpr uint8_t kWsPong = 0xA;

// One frame as it is on the wire, mask removed.
struct WsFrame {
  bool fin = true;
  uint8_t rsv = 0;  // The three RSV bits, RSV1 the highest (0..7).
  uint8_t opcode = kWsText;
  bool masked = false;
  std::string payload;

  // For a close frame: the status code (1005 when the payload is empty).
  int CloseCode() const;
  // For a close frame: the reason after the code.
  std::string CloseReason() const;
  // "text fin=1 \"hello\"", for test logs.
  std::string DebugString() const;
};

// How SendFrame() builds a frame; the defaults make a valid client frame.
struct WsFrameOptions {
  bool fin = true;
  uint8_t rsv = 0;
  bool mask = true;
};

// The bytes of one frame; masked with a random key when `options.mask`.
std::string EncodeWsFrame(uint8_t opcode, absl::string_view payload,
                          const WsFrameOptions &options = {});
// A close frame's payload: the 2-byte code, then `reason`.
std::string ClosePayload(int code, absl::string_view reason = "");

class WsClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  WsClient();
  ~WsClient();
  WsClient(WsClient &&other) noexcept;
  WsClient &operator=(WsClient &&other) noexcept;
  WsClient(const WsClient &) = delete;
  WsClient &operator=(const WsClient &) = delete;

  // Connects to 127.0.0.1:`http_port` and upgrades `path`. `extra_headers`
  // are added to the request; one named like a default header (Host,
  // Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version) replaces
  // it. A non-empty `subprotocol` is offered in Sec-WebSocket-Protocol.
  // Fails, with the server's response, unless it is a 101 with the right
  // Sec-WebSocket-Accept.
  absl::Status Connect(int http_port, absl::string_view path = "/ws",
                       const Headers &extra_headers = {},
                       absl::string_view subprotocol = "",
                       absl::Duration timeout = kDefaultTimeout);
  // The same at `endpoint` (any address; wss:// when endpoint.tls is set).
  absl::Status Connect(const Endpoint &endpoint, absl::string_view path = "/ws",
                       const Headers &extra_headers = {},
                       absl::string_view subprotocol = "",
                       absl::Duration timeout = kDefaultTimeout);

  // Connects, sends "JOIN <group> <name>" and checks the welcome for
  // `online` members (any count if negative), as ChatClient::Join does.
  static absl::StatusOr<WsClient> Join(int http_port, absl::string_view group,
                                       absl::string_view name, int online);
  static absl::StatusOr<WsClient> Join(const Endpoint &endpoint,
                                       absl::string_view group,
                                       absl::string_view name, int online);

  // The handshake response: its head (status line and headers, through the
  // blank line), and one header's value ("" when absent; case-insensitive).
  const std::string &handshake_response() const { return handshake_; }
  std::string ResponseHeader(absl::string_view name) const;

  // A masked, final text frame holding `text` (no "\n" added).
  absl::Status SendText(absl::string_view text,
                        absl::Duration timeout = kDefaultTimeout);
  // Any frame; see WsFrameOptions. A close frame sent here marks the close
  // as ours, so ExpectClose() does not echo the server's answer.
  absl::Status SendFrame(uint8_t opcode, absl::string_view payload,
                         const WsFrameOptions &options = {},
                         absl::Duration timeout = kDefaultTimeout);
  // A close frame with `code` (and `reason`).
  absl::Status SendClose(int code, absl::string_view reason = "",
                         absl::Duration timeout = kDefaultTimeout);
  // Bytes as they are, e.g. several frames built with EncodeWsFrame().
  absl::Status SendRaw(absl::string_view bytes,
                       absl::Duration timeout = kDefaultTimeout);

  // The next frame, whatever it is; answers nothing. DeadlineExceeded when
  // no whole frame arrives in time; Unavailable when the connection ends
  // first.
  absl::StatusOr<WsFrame> ReadFrame(absl::Duration timeout = kDefaultTimeout);

  // The next text message (see the file comment).
  absl::StatusOr<std::string> ReadLine(
      absl::Duration timeout = kDefaultTimeout);
  // ReadLine() flattened into a string for assertions: the message, or
  // "<no line: STATUS>".
  std::string NextLine(absl::Duration timeout = kDefaultTimeout);

  // OK when the next frame (after any pings, answered when auto_pong, and
  // pongs) is a close with `code`, and the connection then ends (EOF or
  // reset) without further bytes. Unless we sent a close first, the close is
  // echoed before waiting for the end, as RFC 6455 asks.
  absl::Status ExpectClose(int code, absl::Duration timeout = kDefaultTimeout);

  // OK when the connection ends (EOF or reset) within `timeout`; frames
  // before that are read and thrown away. Returns how many bytes of frames
  // were discarded through `discarded` when not null.
  absl::Status DrainUntilEnd(absl::Duration timeout,
                             uint64_t *discarded = nullptr);

  // Whether ReadLine()/ExpectClose() answer pings (default: yes).
  void set_auto_pong(bool on) { auto_pong_ = on; }
  // The code of the last close frame ReadLine() returned as an error.
  std::optional<int> close_code() const { return close_code_; }
  bool ended() const { return eof_; }
  bool ended_by_reset() const { return reset_; }

  // The TCP connection, e.g. for SetReceiveBuffer, SetLingerZero, Close.
  ChatClient &tcp() { return tcp_; }
  void Close() { tcp_.Close(); }

 private:
  // Reads more bytes into buffer_; 0 means the connection ended.
  absl::StatusOr<size_t> Fill(absl::Time deadline);
  // A whole frame from the buffer, if there is one.
  std::optional<WsFrame> TakeFrame();
  absl::StatusOr<WsFrame> ReadFrameUntil(absl::Time deadline);
  std::string EndReason() const;

  ChatClient tcp_;
  std::unique_ptr<std::mutex> send_mu_;  // Serializes whole frames.
  std::string handshake_;
  std::string buffer_;  // Received, not yet framed.
  bool eof_ = false;
  bool reset_ = false;
  bool auto_pong_ = true;
  std::atomic<bool> close_sent_{false};  // Set by the writer.
  // A fragmented text message being reassembled.
  bool in_message_ = false;
  std::string message_;
  std::optional<int> close_code_;
};

}  // namespace chatd_test

#endif  // CHATD_TESTS_WS_CLIENT_H_
