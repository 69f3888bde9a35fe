#include "tools/loadgen/chatd_protocol.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace chatd::loadgen {
namespace {

// chatd's own limit is 4 KiB per line; anything far past it means the
// stream is not chatd.
constexpr size_t kMaxBufferedBytes = 1 << 20;

// "* you joined <group> as <name> (<n> online)" -> n, or -1.
int OnlineCount(absl::string_view line) {
  const size_t open = line.rfind('(');
  if (open == absl::string_view::npos) return -1;
  absl::string_view rest = line.substr(open + 1);
  const size_t space = rest.find(' ');
  int n = -1;
  if (space == absl::string_view::npos ||
      !absl::SimpleAtoi(rest.substr(0, space), &n)) {
    return -1;
  }
  return n;
}

}  // namespace

ChatdSession::ChatdSession(absl::string_view group, absl::string_view name)
    : group_(group), name_(name) {}

void ChatdSession::Start(SessionEvents* events) {
  events->Send(absl::StrCat("JOIN ", group_, " ", name_, "\n"));
}

void ChatdSession::FrameMessage(absl::string_view text, std::string* out) {
  out->append(text.data(), text.size());
  out->push_back('\n');
}

bool ChatdSession::Feed(absl::string_view bytes, SessionEvents* events) {
  const absl::string_view data = buffer_.Append(bytes);
  const size_t used = SplitLines(data, [&](absl::string_view line) {
    OnLine(line, events);
    return true;
  });
  buffer_.Consume(used);
  return buffer_.buffered() <= kMaxBufferedBytes;
}

void ChatdSession::OnLine(absl::string_view line, SessionEvents* events) {
  if (absl::StartsWith(line, "* ")) {
    if (absl::StartsWith(line, "* you joined ")) {
      events->OnJoined(OnlineCount(line));
    } else if (absl::EndsWith(line, " has joined")) {
      events->OnMemberJoined();
    }
    // Other notices (has left, bye, shutting down) change nothing here.
    return;
  }
  if (absl::StartsWith(line, "ERROR")) {
    events->OnServerError(line);
    return;
  }
  // Names cannot hold ':' or ' ', so the first ": " ends the name.
  const size_t colon = line.find(": ");
  if (colon == absl::string_view::npos) {
    events->OnServerError(absl::StrCat("unexpected line: ", line));
    return;
  }
  events->OnMessage(line.substr(colon + 2));
}

}  // namespace chatd::loadgen
