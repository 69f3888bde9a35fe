#include "core/line_session.h"

#include <glog/logging.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/protocol.h"

namespace chatd {

LineSession::LineSession(ChatShard* shard, SessionOutput* output,
                         const SessionLimits& limits)
    : Session(shard, output, limits, limits.max_line_bytes,
              LineFramer::LongLines::kFail) {}

LineSession::~LineSession() {
  DCHECK(!member_.named()) << "session destroyed while named";
}

Membership* LineSession::membership() {
  Membership* only = nullptr;
  member_.ForEachMembership([&](Membership& m) { only = &m; });
  return only;
}

const Group* LineSession::group() const {
  const Group* only = nullptr;
  member_.ForEachMembership([&](const Membership& m) { only = m.group; });
  return only;
}

absl::string_view LineSession::quit_reason() const {
  return ending() == Ending::kQuit ? "Quit: bye" : "Connection closed";
}

void LineSession::SendFailure(absl::string_view reason) {
  output().Send(FormatError(reason));
}

LineFramer::Verdict LineSession::HandleLine(absl::string_view line,
                                            absl::Time now) {
  return joined() ? HandleChat(line, now) : HandleJoin(line);
}

LineFramer::Verdict LineSession::HandleJoin(absl::string_view line) {
  absl::StatusOr<JoinRequest> request = ParseJoin(line);
  if (!request.ok()) return Fail(request.status().message());
  absl::Status claimed = shard_->Claim(&member_, request->name, "", "");
  if (!claimed.ok()) return Fail(claimed.message());
  ChatEvent event;
  event.kind = ChatEvent::Kind::kJoin;
  event.source = SourceOf(member_);
  event.group = request->group;
  absl::StatusOr<GroupRegistry::Joined> joined =
      shard_->Join(&member_, request->group, event);
  // A fresh name is in no group yet.
  CHECK(joined.ok()) << joined.status();
  output().Send(
      FormatWelcome(joined->group->name(), member_.name(), joined->online));
  VLOG(1) << member_.name() << " joined " << joined->group->name();
  return LineFramer::Verdict::kNext;
}

LineFramer::Verdict LineSession::HandleChat(absl::string_view line,
                                            absl::Time now) {
  const ChatInput input = ParseChatLine(line);
  // Commands count too: a /who flood costs the server more than messages.
  // Over the rate, the line waits for its token (and is parsed again then).
  if (input.kind != ChatInput::Kind::kEmpty && !TakeToken(now)) {
    return LineFramer::Verdict::kHold;
  }
  SingleWriterAdd(shard_->stats().lines_received, uint64_t{1});
  Membership* const joined = membership();
  if (joined == nullptr) return LineFramer::Verdict::kNext;  // Kicked.
  switch (input.kind) {
    case ChatInput::Kind::kEmpty:
      return LineFramer::Verdict::kNext;
    case ChatInput::Kind::kMessage: {
      ChatEvent event;
      event.kind = ChatEvent::Kind::kMessage;
      event.source = SourceOf(member_);
      event.group = joined->group->name();
      event.text = input.text;
      shard_->Broadcast(*joined, event);
      return LineFramer::Verdict::kNext;
    }
    case ChatInput::Kind::kWho: {
      std::vector<std::string> names;
      for (GroupRegistry::MemberInfo& m :
           shard_->registry().Members(*joined->group)) {
        names.push_back(std::move(m.name));
      }
      output().Send(FormatWho(
          joined->group->name(),
          std::vector<absl::string_view>(names.begin(), names.end())));
      return LineFramer::Verdict::kNext;
    }
    case ChatInput::Kind::kPrivate:
      SendPrivate(input.target, input.text);
      return LineFramer::Verdict::kNext;
    case ChatInput::Kind::kQuit:
      output().Send(FormatBye());
      return Quit();
    case ChatInput::Kind::kUnknownCommand:
      output().Send(FormatError(absl::StrCat("unknown command ", input.text)));
      return LineFramer::Verdict::kNext;
  }
  return LineFramer::Verdict::kNext;
}

void LineSession::SendPrivate(absl::string_view target,
                              absl::string_view text) {
  if (target.empty()) {
    output().Send(FormatError(kErrorMsgUsage));
    return;
  }
  ChatEvent event;
  event.kind = ChatEvent::Kind::kMessage;
  event.source = SourceOf(member_);
  event.text = text;
  if (!shard_->SendPrivate(&member_, target, event).ok()) {
    output().Send(FormatError(kErrorNoSuchName));
  }
}

}  // namespace chatd
