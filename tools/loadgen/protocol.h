// The interface every wire protocol loadgen speaks implements (chatd, IRC,
// NATS, Redis), so the reactor and the accounting never look at bytes.
//
// A ProtocolSession is one connection's protocol state: what to send once
// connected, how to frame an outgoing message, and how to turn received bytes
// into events (joined, another member joined, a message's text, an error,
// and protocol-level replies such as PONG). Each session is owned by one
// connection and used only on its reactor thread. Sessions buffer partial
// frames themselves, so Feed() accepts a byte stream split anywhere.
#ifndef CHATD_TOOLS_LOADGEN_PROTOCOL_H_
#define CHATD_TOOLS_LOADGEN_PROTOCOL_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace chatd::loadgen {

enum class ProtocolKind { kChatd, kIrc, kNats, kRedis };

std::optional<ProtocolKind> ParseProtocolKind(absl::string_view name);
absl::string_view ProtocolName(ProtocolKind kind);

// What carries the protocol: plain TCP, or a WebSocket over TCP
// (websocket_session.h).
enum class TransportKind { kTcp, kWebSocket };

// "tcp" or "ws".
std::optional<TransportKind> ParseTransportKind(absl::string_view name);

// What a session reports while parsing. Calls happen inside Feed()/Start().
class SessionEvents {
 public:
  // This connection is now a member of its group and will receive what is
  // published there. `online` is the member count the server reported,
  // including this one, or -1 when the protocol does not say.
  virtual void OnJoined(int online) = 0;
  // The server announced another member joining the group.
  virtual void OnMemberJoined() = 0;
  // A message published by someone else; `text` as it was sent.
  virtual void OnMessage(absl::string_view text) = 0;
  // The server reported an error; `line` is for the log.
  virtual void OnServerError(absl::string_view line) = 0;
  // Bytes the protocol itself must send now (registration steps, PONG).
  virtual void Send(absl::string_view bytes) = 0;

 protected:
  ~SessionEvents() = default;
};

class ProtocolSession {
 public:
  virtual ~ProtocolSession() = default;

  // Called once the TCP connection is up: sends the greeting and join
  // request through `events->Send`.
  virtual void Start(SessionEvents* events) = 0;

  // Appends the bytes that publish `text` to the group.
  virtual void FrameMessage(absl::string_view text, std::string* out) = 0;

  // Parses the next received bytes. Returns false when the stream violates
  // the protocol beyond recovery (the connection should be closed).
  virtual bool Feed(absl::string_view bytes, SessionEvents* events) = 0;

  // After Feed() returned false: what was wrong, for the log.
  virtual absl::string_view FailureReason() const {
    return "protocol violation";
  }
};

// `group` and `name` are plain identifiers ([A-Za-z0-9_.-]); each protocol
// decorates them as it needs (e.g. IRC's '#').
std::unique_ptr<ProtocolSession> NewProtocolSession(ProtocolKind kind,
                                                    absl::string_view group,
                                                    absl::string_view name);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_PROTOCOL_H_
