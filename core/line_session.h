// LineSession is the chatd line protocol (docs/PROTOCOL.md) as a Session:
// the first line must be "JOIN <group> <name>", after which lines are
// messages to the group and a few slash commands. A line member is in
// exactly one group for its whole session. Used by the line port and, with
// WebSocket framing, by the web page.
#ifndef CHATD_CORE_LINE_SESSION_H_
#define CHATD_CORE_LINE_SESSION_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/session.h"

namespace chatd {

class LineSession final : public Session {
 public:
  LineSession(ChatShard* shard, SessionOutput* output,
              const SessionLimits& limits);
  ~LineSession() override;

  bool joined() const override { return member_.named(); }
  // The group, while joined.
  const Group* group() const;

 private:
  LineFramer::Verdict HandleLine(absl::string_view line,
                                 absl::Time now) override;
  void SendFailure(absl::string_view reason) override;
  absl::string_view quit_reason() const override;
  LineFramer::Verdict HandleJoin(absl::string_view line);
  LineFramer::Verdict HandleChat(absl::string_view line, absl::Time now);
  void SendPrivate(absl::string_view target, absl::string_view text);
  // The one membership, or null (before JOIN, or once kicked).
  Membership* membership();
};

}  // namespace chatd

#endif  // CHATD_CORE_LINE_SESSION_H_
