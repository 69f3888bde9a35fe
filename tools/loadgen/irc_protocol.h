// IRC (RFC 1459/2812 client side) as a loadgen ProtocolSession: register
// with NICK/USER, JOIN #<group> after the 001 welcome, count as joined at
// the end of NAMES (366), publish with PRIVMSG, answer PING with PONG.
// Other members' JOINs are reported so the settle phase can wait for them.
#ifndef CHATD_TOOLS_LOADGEN_IRC_PROTOCOL_H_
#define CHATD_TOOLS_LOADGEN_IRC_PROTOCOL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/loadgen/protocol.h"
#include "tools/loadgen/stream_buffer.h"

namespace chatd::loadgen {

// One parsed IRC line: [":" prefix " "] command params... [" :" trailing].
// The trailing parameter, if any, is the last of `params`. Views into the
// line.
struct IrcLine {
  absl::string_view prefix;
  absl::string_view command;
  std::vector<absl::string_view> params;
};
bool ParseIrcLine(absl::string_view line, IrcLine* out);

class IrcSession : public ProtocolSession {
 public:
  IrcSession(absl::string_view group, absl::string_view name);

  void Start(SessionEvents* events) override;
  void FrameMessage(absl::string_view text, std::string* out) override;
  bool Feed(absl::string_view bytes, SessionEvents* events) override;

 private:
  void OnLine(absl::string_view line, SessionEvents* events);

  const std::string channel_;  // "#<group>"
  const std::string nick_;
  StreamBuffer buffer_;
  IrcLine parsed_;  // Reused to keep its vector's storage.
  bool joined_ = false;
  int names_seen_ = 0;  // Members listed in our channel's 353 replies.
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_IRC_PROTOCOL_H_
