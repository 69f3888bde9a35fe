#include "core/session.h"

#include <glog/logging.h>

#include <vector>

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

Session::InputState Session::OnInput(absl::string_view bytes, absl::Time now) {
  if (over_) return InputState::kOver;
  DCHECK(!throttled()) << "input fed to a throttled session";
  return StateAfter(framer_.Feed(bytes, [this, now](absl::string_view line) {
    return HandleLine(line, now);
  }));
}

Session::InputState Session::Resume(absl::Time now) {
  if (over_) return InputState::kOver;
  if (!throttled()) return InputState::kReady;
  return StateAfter(framer_.Resume(
      [this, now](absl::string_view line) { return HandleLine(line, now); }));
}

Session::InputState Session::StateAfter(LineFramer::Result result) {
  if (result == LineFramer::Result::kLineTooLong) Fail(kErrorLineTooLong);
  if (over_) return InputState::kOver;
  return result == LineFramer::Result::kHeld ? InputState::kThrottled
                                             : InputState::kReady;
}

LineFramer::Verdict Session::OnLine(absl::string_view line, absl::Time now) {
  if (over_) return LineFramer::Verdict::kStop;
  return HandleLine(line, now);
}

void Session::End() {
  over_ = true;
  if (!joined()) return;
  Group* group = group_;
  group_ = nullptr;
  shard_->Leave(group, name_, this);
}

LineFramer::Verdict Session::HandleLine(absl::string_view line,
                                        absl::Time now) {
  return joined() ? HandleChat(line, now) : HandleJoin(line);
}

LineFramer::Verdict Session::HandleJoin(absl::string_view line) {
  absl::StatusOr<JoinRequest> request = ParseJoin(line);
  if (!request.ok()) return Fail(request.status().message());
  absl::StatusOr<GroupRegistry::Joined> joined =
      shard_->Join(request->group, request->name, this);
  if (!joined.ok()) return Fail(joined.status().message());
  group_ = joined->group;
  name_ = std::string(request->name);
  output_->Send(FormatWelcome(group_->name(), name_, joined->online));
  VLOG(1) << name_ << " joined " << group_->name();
  return LineFramer::Verdict::kNext;
}

LineFramer::Verdict Session::HandleChat(absl::string_view line,
                                        absl::Time now) {
  const ChatInput input = ParseChatLine(line);
  // Commands count too: a /who flood costs the server more than messages.
  // Over the rate, the line waits for its token (and is parsed again then).
  if (input.kind != ChatInput::Kind::kEmpty && !rate_.Take(now)) {
    return LineFramer::Verdict::kHold;
  }
  SingleWriterAdd(shard_->stats().lines_received, uint64_t{1});
  switch (input.kind) {
    case ChatInput::Kind::kEmpty:
      return LineFramer::Verdict::kNext;
    case ChatInput::Kind::kMessage:
      shard_->Broadcast(*group_, this, FormatMessage(name_, input.text));
      return LineFramer::Verdict::kNext;
    case ChatInput::Kind::kWho: {
      const std::vector<std::string> names =
          shard_->registry().Members(*group_);
      output_->Send(FormatWho(group_->name(), std::vector<absl::string_view>(
                                                  names.begin(), names.end())));
      return LineFramer::Verdict::kNext;
    }
    case ChatInput::Kind::kQuit:
      output_->Send(FormatBye());
      over_ = true;
      ending_ = Ending::kQuit;
      return LineFramer::Verdict::kStop;
    case ChatInput::Kind::kUnknownCommand:
      output_->Send(FormatError(absl::StrCat("unknown command ", input.text)));
      return LineFramer::Verdict::kNext;
  }
  return LineFramer::Verdict::kNext;
}

LineFramer::Verdict Session::Fail(absl::string_view reason) {
  output_->Send(FormatError(reason));
  over_ = true;
  ending_ =
      reason == kErrorLineTooLong ? Ending::kLineTooLong : Ending::kRefused;
  return LineFramer::Verdict::kStop;
}

}  // namespace chatd
