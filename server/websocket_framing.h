// WebSocketFraming carries the line protocol over WebSocket (RFC 6455) after
// an HTTP upgrade: one text message is one line, in both directions. Input
// is framed by a WebSocketFramer; output needs nothing per connection, since
// every line Payload already holds its WebSocket form (see Payload) and the
// connection's queue is switched to it at the upgrade.
//
// Owned by its ClientConnection, used on its worker's thread. It answers
// pings, echoes the client's close, closes with the RFC's codes when the
// client breaks the protocol or the session ends, and pings a client that
// has been silent for the ping interval, closing it if no answer comes in
// one more interval.
#ifndef CHATD_SERVER_WEBSOCKET_FRAMING_H_
#define CHATD_SERVER_WEBSOCKET_FRAMING_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "net/websocket_framer.h"
#include "server/framing.h"

namespace chatd {

class WebSocketFraming final : public Framing,
                               private WebSocketFramer::Handler {
 public:
  // Messages over `max_message_bytes` are refused with 1009. A zero
  // `ping_interval` turns the keep-alive off.
  WebSocketFraming(size_t max_message_bytes, absl::Duration ping_interval,
                   absl::Time now);

  void Release() override { delete this; }
  FramingKind kind() const override { return FramingKind::kWebSocket; }
  Session::InputState OnInput(ClientConnection& connection,
                              absl::string_view bytes) override;
  Session::InputState Resume(ClientConnection& connection) override;
  void SendFinal(ClientConnection& connection, PayloadRef line,
                 CloseReason why) override;
  absl::Time deadline() const override { return ping_due_; }
  void OnDeadline(ClientConnection& connection) override;

 private:
  ~WebSocketFraming() = default;

  WebSocketFramer::Verdict OnText(absl::string_view message) override;
  void OnPing(absl::string_view payload) override;
  void OnPong(absl::string_view payload) override;

  // Turns what the framer did into what the connection does next.
  Session::InputState After(WebSocketFramer::Result result);
  // Queues our close frame, once.
  void SendClose(uint16_t code, absl::string_view reason);

  WebSocketFramer framer_;
  ClientConnection* connection_ = nullptr;  // During OnInput and Resume.
  const absl::Duration ping_interval_;
  absl::Time last_input_;
  absl::Time ping_sent_;
  absl::Time ping_due_;  // When to look at the client's silence again.
  bool ping_outstanding_ = false;
  bool close_sent_ = false;
};

}  // namespace chatd

#endif  // CHATD_SERVER_WEBSOCKET_FRAMING_H_
