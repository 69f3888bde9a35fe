// The NATS client protocol as a loadgen ProtocolSession: CONNECT with echo
// off (so a publisher never gets its own messages), SUB <group>, then a PING
// whose PONG proves the subscription is registered (the server handles a
// connection's commands in order). Publishes with PUB, receives MSG frames
// (a header line, then exactly <len> payload bytes and "\r\n"), answers
// the server's PING with PONG.
#ifndef CHATD_TOOLS_LOADGEN_NATS_PROTOCOL_H_
#define CHATD_TOOLS_LOADGEN_NATS_PROTOCOL_H_

#include <string>

#include "absl/strings/string_view.h"
#include "tools/loadgen/protocol.h"
#include "tools/loadgen/stream_buffer.h"

namespace chatd::loadgen {

class NatsSession : public ProtocolSession {
 public:
  NatsSession(absl::string_view group, absl::string_view name);

  void Start(SessionEvents* events) override;
  void FrameMessage(absl::string_view text, std::string* out) override;
  bool Feed(absl::string_view bytes, SessionEvents* events) override;

 private:
  // Handles one control line; sets payload_left_ for a MSG header. Returns
  // false on a malformed MSG header.
  bool OnLine(absl::string_view line, SessionEvents* events);

  const std::string subject_;
  const std::string name_;
  StreamBuffer buffer_;
  bool joined_ = false;
  // While a MSG payload is expected: its length (the "\r\n" after it is not
  // counted); -1 while reading control lines.
  long payload_len_ = -1;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_NATS_PROTOCOL_H_
