// Framing is the layer of a client connection between its bytes and its
// Session: how input becomes protocol lines and how the connection's last
// words are shaped. The line port's connections frame lines in the byte
// stream; the HTTP port's connections answer requests and may hand over to
// WebSocket framing after an upgrade, on the same connection.
//
// A ClientConnection has exactly one Framing at a time and calls it on its
// worker's thread; the connection keeps the lifecycle, the output queue and
// the flush, and never asks which framing it has.
#ifndef CHATD_SERVER_FRAMING_H_
#define CHATD_SERVER_FRAMING_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/session.h"
#include "net/payload.h"

namespace chatd {

class ClientConnection;

// What a listening port speaks.
enum class Protocol : uint8_t { kLine, kHttp, kIrc };
inline constexpr int kProtocols = 3;

// A listening port: what it speaks and whether TLS wraps it. The framing
// is the same either way; TLS lives below it, in the connection.
struct Port {
  Protocol protocol = Protocol::kLine;
  bool tls = false;
};

// What a framing is, for the connection counts in /metrics.
enum class FramingKind : uint8_t { kLine, kHttp, kWebSocket, kIrc };
inline constexpr int kFramingKinds = 4;
absl::string_view FramingKindName(FramingKind kind);

// Why the server (not the session) closes a connection.
enum class CloseReason : uint8_t {
  kTimeout,   // No JOIN (or no complete request) in time.
  kShutdown,  // The server is stopping.
  kTooSlow,   // Output backed up past --max_output_bytes.
  kRefused,   // Refused at accept: server full, too many from the address.
  kKicked,    // An IRC op kicked the member from its only group.
};

class Framing {
 public:
  // Ends the framing: frees it, unless it is shared and stateless.
  virtual void Release() = 0;

  virtual FramingKind kind() const = 0;

  // Bytes read from the client, while the connection is open and not
  // throttled.
  virtual Session::InputState OnInput(ClientConnection& connection,
                                      absl::string_view bytes) = 0;
  // The session's next token is due: offer the lines that waited.
  virtual Session::InputState Resume(ClientConnection& connection) = 0;

  // Asked after each OnInput: a framing that hands the connection over (an
  // HTTP upgrade) returns its successor once, and sets `*rest` to the input
  // that followed the handover, which the successor gets next. The
  // connection then releases this framing.
  virtual Framing* TakeSuccessor(absl::string_view* rest) { return nullptr; }

  // Queues `line`, the server's last word before it closes for `why`, in
  // this framing's terms: the line itself, a text message and a close
  // frame, or an HTTP status.
  virtual void SendFinal(ClientConnection& connection, PayloadRef line,
                         CloseReason why) = 0;

  // A deadline of the framing's own once the session has joined (the
  // WebSocket keep-alive), or InfiniteFuture. The connection arms its timer
  // for it and calls OnDeadline() when it passes.
  virtual absl::Time deadline() const { return absl::InfiniteFuture(); }
  virtual void OnDeadline(ClientConnection& connection) {}

 protected:
  ~Framing() = default;
};

// The line and IRC ports: lines in the byte stream, framed by the session
// itself. Stateless, so one instance serves every such connection.
Framing* LineFraming();
Framing* IrcFraming();

}  // namespace chatd

#endif  // CHATD_SERVER_FRAMING_H_
