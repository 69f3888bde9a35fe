#include "core/session.h"

#include <vector>

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "core/protocol.h"

namespace chatd {

Session::Session(ChatShard* shard, SessionOutput* output,
                 const SessionLimits& limits)
    : shard_(shard),
      output_(output),
      framer_(limits.max_line_bytes),
      rate_(limits.max_msgs_per_sec, limits.max_burst) {}

Session::~Session() { DCHECK(!joined()) << "session destroyed while joined"; }

bool Session::OnInput(absl::string_view bytes, absl::Time now) {
  if (over_) return false;
  const LineFramer::Result result =
      framer_.Feed(bytes, [this, now](absl::string_view line) {
        return HandleLine(line, now);
      });
  if (result == LineFramer::Result::kLineTooLong) Fail(kErrorLineTooLong);
  return !over_;
}

void Session::End() {
  over_ = true;
  if (!joined()) return;
  Group* group = group_;
  group_ = nullptr;
  shard_->Leave(group, name_, this);
}

bool Session::HandleLine(absl::string_view line, absl::Time now) {
  return joined() ? HandleChat(line, now) : HandleJoin(line);
}

bool Session::HandleJoin(absl::string_view line) {
  absl::StatusOr<JoinRequest> request = ParseJoin(line);
  if (!request.ok()) return Fail(request.status().message());
  absl::StatusOr<GroupRegistry::Joined> joined =
      shard_->Join(request->group, request->name, this);
  if (!joined.ok()) return Fail(joined.status().message());
  group_ = joined->group;
  name_ = std::string(request->name);
  output_->Send(FormatWelcome(group_->name(), name_, joined->online));
  VLOG(1) << name_ << " joined " << group_->name();
  return true;
}

bool Session::HandleChat(absl::string_view line, absl::Time now) {
  const ChatInput input = ParseChatLine(line);
  // Commands count too: a /who flood costs the server more than messages.
  if (input.kind != ChatInput::Kind::kEmpty && !rate_.Take(now)) {
    return Fail(kErrorFlooding);
  }
  switch (input.kind) {
    case ChatInput::Kind::kEmpty:
      return true;
    case ChatInput::Kind::kMessage:
      shard_->Broadcast(*group_, this, FormatMessage(name_, input.text));
      return true;
    case ChatInput::Kind::kWho: {
      const std::vector<std::string> names =
          shard_->registry().Members(*group_);
      output_->Send(FormatWho(group_->name(),
                              std::vector<absl::string_view>(names.begin(),
                                                             names.end())));
      return true;
    }
    case ChatInput::Kind::kQuit:
      output_->Send(FormatBye());
      over_ = true;
      return false;
    case ChatInput::Kind::kUnknownCommand:
      output_->Send(
          FormatError(absl::StrCat("unknown command ", input.text)));
      return true;
  }
  return true;
}

bool Session::Fail(absl::string_view reason) {
  output_->Send(FormatError(reason));
  over_ = true;
  return false;
}

}  // namespace chatd
