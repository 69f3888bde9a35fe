// WebSocketSession carries another ProtocolSession over a WebSocket
// (loadgen --transport=ws): the transport layer below the protocol. Start()
// sends the HTTP/1.1 upgrade; once the server's 101 checks out, the inner
// session starts, and from then on everything it sends goes out as masked
// client frames and every server frame's payload is fed to it:
//
// - kLines (chatd): each "\n"-terminated line the inner session writes is
//   one TEXT message without its "\n"; each received message (fragments
//   joined) is fed to the inner session as one line, message + "\n".
// - kStream (NATS): the inner session's bytes go out as one BINARY frame
//   per write, and received payloads are fed as a byte stream, whatever
//   the frame boundaries (the server may coalesce or split protocol ops).
//
// Server pings are answered with a pong; a close frame, a bad frame or a
// refused upgrade makes Feed() return false with FailureReason() set.
// Owned by one connection and used only on its reactor thread.
#ifndef CHATD_TOOLS_LOADGEN_WEBSOCKET_SESSION_H_
#define CHATD_TOOLS_LOADGEN_WEBSOCKET_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "tools/loadgen/protocol.h"
#include "tools/loadgen/stream_buffer.h"
#include "tools/loadgen/websocket_client.h"

namespace chatd::loadgen {

enum class WsPayloadMode { kLines, kStream };

struct WebSocketOptions {
  std::string host_port;  // Host header, "127.0.0.1:8080".
  std::string path = "/ws";
  // The page a browser would have come from: "https" over TLS (wss://).
  std::string origin_scheme = "http";
  WsPayloadMode mode = WsPayloadMode::kLines;
  std::string subprotocol;  // Offered in the upgrade if not empty.
  // For tests: a fixed Sec-WebSocket-Key and mask seed instead of random.
  std::string key;
  uint64_t mask_seed = 0;
};

// How loadgen carries `kind` over WebSocket (mode and subprotocol; the
// caller fills host_port and path), or nullopt if it does not.
std::optional<WebSocketOptions> WebSocketOptionsFor(ProtocolKind kind);

class WebSocketSession : public ProtocolSession, private SessionEvents {
 public:
  WebSocketSession(std::unique_ptr<ProtocolSession> inner,
                   WebSocketOptions options);

  void Start(SessionEvents* events) override;
  void FrameMessage(absl::string_view text, std::string* out) override;
  bool Feed(absl::string_view bytes, SessionEvents* events) override;
  absl::string_view FailureReason() const override { return error_; }

 private:
  // SessionEvents of the inner session: forwarded to outer_, except Send,
  // which is framed first.
  void OnJoined(int online) override { outer_->OnJoined(online); }
  void OnMemberJoined() override { outer_->OnMemberJoined(); }
  void OnMessage(absl::string_view text) override { outer_->OnMessage(text); }
  void OnServerError(absl::string_view line) override {
    outer_->OnServerError(line);
  }
  void Send(absl::string_view bytes) override;

  // Appends the frames carrying the inner session's `bytes`.
  void AppendFrames(absl::string_view bytes, std::string* out);
  // Handles the frames in `data`; returns the bytes used, or sets failed.
  size_t ParseFrames(absl::string_view data, bool* failed);
  // Feeds the lines collected from text messages to the inner session.
  bool FlushLines();
  uint32_t NextMask();

  const std::unique_ptr<ProtocolSession> inner_;
  WebSocketOptions options_;
  std::string expected_accept_;
  SessionEvents* outer_ = nullptr;
  StreamBuffer buffer_;
  bool open_ = false;
  // A fragmented message in progress (kLines), and its opcode.
  bool in_message_ = false;
  std::string fragments_;
  // Lines from this Feed's text messages, each with its "\n".
  std::string lines_;
  // Scratch: the inner session's frame of one message, and a control
  // frame or protocol send.
  std::string inner_frame_;
  std::string send_frame_;
  uint64_t mask_state_;
  std::string error_;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_WEBSOCKET_SESSION_H_
