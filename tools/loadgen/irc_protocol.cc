#include "tools/loadgen/irc_protocol.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chatd::loadgen {
namespace {

// IRC lines are at most 512 bytes (8 KiB with IRCv3 tags).
constexpr size_t kMaxBufferedBytes = 1 << 20;

bool IsErrorNumeric(absl::string_view command) {
  if (command.size() != 3 || !absl::ascii_isdigit(command[0]) ||
      !absl::ascii_isdigit(command[1]) || !absl::ascii_isdigit(command[2])) {
    return false;
  }
  // 422 only says the server has no MOTD file, which is no problem here.
  if (command == "422") return false;
  return command[0] == '4' || command[0] == '5';
}

// The nick of a ":nick!user@host" prefix.
absl::string_view NickOf(absl::string_view prefix) {
  return prefix.substr(0, prefix.find('!'));
}

}  // namespace

bool ParseIrcLine(absl::string_view line, IrcLine* out) {
  out->prefix = absl::string_view();
  out->command = absl::string_view();
  out->params.clear();
  // IRCv3 message tags ("@k=v ...") carry nothing loadgen needs.
  if (absl::StartsWith(line, "@")) {
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos) return false;
    line.remove_prefix(space + 1);
  }
  if (absl::StartsWith(line, ":")) {
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos) return false;
    out->prefix = line.substr(1, space - 1);
    line.remove_prefix(space + 1);
  }
  while (!line.empty()) {
    if (line[0] == ' ') {
      line.remove_prefix(1);
      continue;
    }
    if (!out->command.empty() && line[0] == ':') {
      out->params.push_back(line.substr(1));
      break;
    }
    const size_t space = line.find(' ');
    const absl::string_view word = line.substr(0, space);
    if (out->command.empty()) {
      out->command = word;
    } else {
      out->params.push_back(word);
    }
    if (space == absl::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return !out->command.empty();
}

IrcSession::IrcSession(absl::string_view group, absl::string_view name)
    : channel_(absl::StrCat("#", group)), nick_(name) {}

void IrcSession::Start(SessionEvents* events) {
  events->Send(
      absl::StrCat("NICK ", nick_, "\r\nUSER ", nick_, " 0 * :loadgen\r\n"));
}

void IrcSession::FrameMessage(absl::string_view text, std::string* out) {
  absl::StrAppend(out, "PRIVMSG ", channel_, " :", text, "\r\n");
}

bool IrcSession::Feed(absl::string_view bytes, SessionEvents* events) {
  const absl::string_view data = buffer_.Append(bytes);
  const size_t used = SplitLines(data, [&](absl::string_view line) {
    OnLine(line, events);
    return true;
  });
  buffer_.Consume(used);
  return buffer_.buffered() <= kMaxBufferedBytes;
}

void IrcSession::OnLine(absl::string_view line, SessionEvents* events) {
  if (line.empty() || !ParseIrcLine(line, &parsed_)) return;
  const absl::string_view command = parsed_.command;
  const auto& params = parsed_.params;
  if (command == "PRIVMSG") {
    if (params.size() >= 2) events->OnMessage(params.back());
  } else if (command == "PING") {
    events->Send(
        absl::StrCat("PONG :", params.empty() ? "" : params.back(), "\r\n"));
  } else if (command == "001") {
    events->Send(absl::StrCat("JOIN ", channel_, "\r\n"));
  } else if (command == "353") {
    // "353 <me> <=|*|@> <channel> :<nick> <nick> ..."
    if (!joined_ && params.size() >= 2 &&
        absl::EqualsIgnoreCase(params[params.size() - 2], channel_)) {
      for (absl::string_view nick :
           absl::StrSplit(params.back(), ' ', absl::SkipEmpty())) {
        (void)nick;
        ++names_seen_;
      }
    }
  } else if (command == "366") {
    if (!joined_) {
      joined_ = true;
      events->OnJoined(names_seen_ > 0 ? names_seen_ : -1);
    }
  } else if (command == "JOIN") {
    if (joined_ && !absl::EqualsIgnoreCase(NickOf(parsed_.prefix), nick_)) {
      events->OnMemberJoined();
    }
  } else if (command == "ERROR" || IsErrorNumeric(command)) {
    events->OnServerError(line);
  }
}

}  // namespace chatd::loadgen
