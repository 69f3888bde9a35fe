#include "core/session.h"

#include <glog/logging.h>

#include "core/protocol.h"

namespace chatd {

Session::Session(ChatShard* shard, SessionOutput* output,
                 const SessionLimits& limits, size_t max_line_bytes,
                 LineFramer::LongLines long_lines)
    : shard_(shard),
      member_(output),
      framer_(max_line_bytes, long_lines),
      rate_(limits.max_msgs_per_sec, limits.max_burst) {}

// The member is checked in the final classes' destructors, not here: in a
// base destructor UBSan checks the object's vptr afresh, and that check
// failed spuriously ("invalid vptr", memory it could not read) in a server
// out of file descriptors (tests/limits_test.cc, OutOfFdsTest).
Session::~Session() = default;

Session::InputState Session::OnInput(absl::string_view bytes, absl::Time now) {
  if (over_) return InputState::kOver;
  DCHECK(!throttled()) << "input fed to a throttled session";
  return StateAfter(
      framer_.Feed(bytes, [this, now](auto line) { return Frame(line, now); }));
}

Session::InputState Session::Resume(absl::Time now) {
  if (over_) return InputState::kOver;
  if (!throttled()) return InputState::kReady;
  return StateAfter(
      framer_.Resume([this, now](auto line) { return Frame(line, now); }));
}

LineFramer::Verdict Session::Frame(absl::string_view line, absl::Time now) {
  return HandleLine(line, now);
}

LineFramer::Verdict Session::Frame(LineFramer::Overlong, absl::Time now) {
  return HandleOverlong();
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
  if (!member_.named()) return;
  if (member_.group_count() > 0) {
    ChatEvent goodbye;
    goodbye.kind = ChatEvent::Kind::kQuit;
    goodbye.source = SourceOf(member_);
    goodbye.text = quit_reason();
    shard_->LeaveAll(&member_, goodbye);
  }
  shard_->Release(&member_);
}

LineFramer::Verdict Session::Fail(absl::string_view reason) {
  SendFailure(reason);
  over_ = true;
  ending_ =
      reason == kErrorLineTooLong ? Ending::kLineTooLong : Ending::kRefused;
  return LineFramer::Verdict::kStop;
}

LineFramer::Verdict Session::Quit() {
  over_ = true;
  ending_ = Ending::kQuit;
  return LineFramer::Verdict::kStop;
}

}  // namespace chatd
