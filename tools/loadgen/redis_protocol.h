// Redis pub/sub over RESP3 as a loadgen ProtocolSession: HELLO 3, then
// SUBSCRIBE <group>; the "subscribe" push confirms the subscription. With
// RESP3 a subscribed connection may still PUBLISH, so each connection both
// sends and receives; Redis delivers a publisher its own messages, which the
// connection drops by sender id. PUBLISH's integer reply is consumed and
// ignored.
#ifndef CHATD_TOOLS_LOADGEN_REDIS_PROTOCOL_H_
#define CHATD_TOOLS_LOADGEN_REDIS_PROTOCOL_H_

#include <string>

#include "absl/strings/string_view.h"
#include "tools/loadgen/protocol.h"
#include "tools/loadgen/stream_buffer.h"

namespace chatd::loadgen {

class RedisSession : public ProtocolSession {
 public:
  RedisSession(absl::string_view group, absl::string_view name);

  void Start(SessionEvents* events) override;
  void FrameMessage(absl::string_view text, std::string* out) override;
  bool Feed(absl::string_view bytes, SessionEvents* events) override;

 private:
  const std::string channel_;
  StreamBuffer buffer_;
  bool joined_ = false;
};

// Appends `words` as one RESP array of bulk strings (a command).
void AppendRespCommand(std::initializer_list<absl::string_view> words,
                       std::string* out);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_REDIS_PROTOCOL_H_
