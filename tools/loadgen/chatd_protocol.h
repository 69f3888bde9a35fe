// The chatd line protocol as a loadgen ProtocolSession: "JOIN <group>
// <name>\n" to join, one line per message, and received lines that are
// "<name>: <text>" messages, "* ..." notices or "ERROR ..." errors.
#ifndef CHATD_TOOLS_LOADGEN_CHATD_PROTOCOL_H_
#define CHATD_TOOLS_LOADGEN_CHATD_PROTOCOL_H_

#include <string>

#include "absl/strings/string_view.h"
#include "tools/loadgen/protocol.h"
#include "tools/loadgen/stream_buffer.h"

namespace chatd::loadgen {

class ChatdSession : public ProtocolSession {
 public:
  ChatdSession(absl::string_view group, absl::string_view name);

  void Start(SessionEvents* events) override;
  void FrameMessage(absl::string_view text, std::string* out) override;
  bool Feed(absl::string_view bytes, SessionEvents* events) override;

 private:
  void OnLine(absl::string_view line, SessionEvents* events);

  const std::string group_;
  const std::string name_;
  StreamBuffer buffer_;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_CHATD_PROTOCOL_H_
