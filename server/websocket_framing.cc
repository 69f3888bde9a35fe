#include "server/websocket_framing.h"

#include <glog/logging.h>

#include "core/protocol.h"
#include "server/client_connection.h"
#include "server/worker.h"

namespace chatd {
namespace {

constexpr absl::string_view kErrorLineBreak = "line break inside a message";

}  // namespace

WebSocketFraming::WebSocketFraming(size_t max_message_bytes,
                                   absl::Duration ping_interval, absl::Time now)
    : framer_(max_message_bytes),
      ping_interval_(ping_interval),
      last_input_(now),
      ping_due_(ping_interval > absl::ZeroDuration() ? now + ping_interval
                                                     : absl::InfiniteFuture()) {
}

Session::InputState WebSocketFraming::OnInput(ClientConnection& connection,
                                              absl::string_view bytes) {
  connection_ = &connection;
  last_input_ = connection.worker().now();
  return After(framer_.Feed(bytes, this));
}

Session::InputState WebSocketFraming::Resume(ClientConnection& connection) {
  connection_ = &connection;
  return After(framer_.Resume(this));
}

WebSocketFramer::Verdict WebSocketFraming::OnText(absl::string_view message) {
  // A line sent with its line ending is still one line; a line break inside
  // would let a member forge lines for the stream members.
  if (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  if (!message.empty() && message.back() == '\r') message.remove_suffix(1);
  if (message.find_first_of("\r\n") != absl::string_view::npos) {
    connection_->session().Refuse(kErrorLineBreak);
    return WebSocketFramer::Verdict::kStop;
  }
  switch (connection_->session().OnLine(message, connection_->worker().now())) {
    case LineFramer::Verdict::kNext:
      return WebSocketFramer::Verdict::kNext;
    case LineFramer::Verdict::kHold:
      return WebSocketFramer::Verdict::kHold;
    case LineFramer::Verdict::kStop:
      return WebSocketFramer::Verdict::kStop;
  }
  return WebSocketFramer::Verdict::kStop;
}

void WebSocketFraming::OnPing(absl::string_view payload) {
  connection_->Send(websocket::EncodeFrame(websocket::Opcode::kPong, payload));
}

void WebSocketFraming::OnPong(absl::string_view payload) {
  ping_outstanding_ = false;
}

Session::InputState WebSocketFraming::After(WebSocketFramer::Result result) {
  Session& session = connection_->session();
  switch (result) {
    case WebSocketFramer::Result::kOk:
      if (!session.over()) return Session::InputState::kReady;
      break;
    case WebSocketFramer::Result::kHeld:
      return Session::InputState::kThrottled;
    case WebSocketFramer::Result::kStopped:
      break;
    case WebSocketFramer::Result::kClose:
      if (framer_.peer_closed()) {
        SendClose(framer_.close_code(), "");  // The echo.
      } else {
        VLOG(1) << "fd " << connection_->fd()
                << ": WebSocket protocol error: " << framer_.close_reason();
        if (framer_.close_code() == websocket::kCloseTooBig) {
          session.Refuse(kErrorLineTooLong);  // Counted as the session's.
        } else {
          connection_->CountDrop(DropReason::kProtocolError);
        }
        SendClose(framer_.close_code(), framer_.close_reason());
      }
      return Session::InputState::kOver;
  }
  // The session ended: said /quit, or was refused with an ERROR line.
  SendClose(session.ending() == Session::Ending::kQuit
                ? websocket::kCloseNormal
                : websocket::kClosePolicy,
            "");
  return Session::InputState::kOver;
}

void WebSocketFraming::SendFinal(ClientConnection& connection, PayloadRef line,
                                 CloseReason why) {
  connection_ = &connection;
  connection.Send(std::move(line));
  SendClose(why == CloseReason::kShutdown ? websocket::kCloseGoingAway
                                          : websocket::kClosePolicy,
            "");
}

void WebSocketFraming::SendClose(uint16_t code, absl::string_view reason) {
  if (close_sent_) return;
  close_sent_ = true;
  // A close without a status code is echoed without one.
  connection_->Send(code == websocket::kCloseNoStatus
                        ? websocket::EncodeFrame(websocket::Opcode::kClose, "")
                        : websocket::EncodeClose(code, reason));
}

void WebSocketFraming::OnDeadline(ClientConnection& connection) {
  connection_ = &connection;
  const absl::Time now = connection.worker().now();
  if (ping_outstanding_ && last_input_ <= ping_sent_) {
    VLOG(1) << "fd " << connection.fd() << ": no pong in time";
    SendClose(websocket::kCloseGoingAway, "ping timeout");
    connection.CountDrop(DropReason::kPingTimeout);
    connection.EndInput();
    return;
  }
  ping_outstanding_ = false;
  const absl::Time silent_until = last_input_ + ping_interval_;
  if (silent_until > now) {
    ping_due_ = silent_until;  // Heard from it since: look again later.
    return;
  }
  connection.Send(websocket::EncodeFrame(websocket::Opcode::kPing, ""));
  ping_outstanding_ = true;
  ping_sent_ = now;
  ping_due_ = now + ping_interval_;
}

}  // namespace chatd
