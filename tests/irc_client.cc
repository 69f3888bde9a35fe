#include "tests/irc_client.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chatd_test {
namespace {

// IRCv3 message-tags value unescaping.
std::string UnescapeTagValue(absl::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out.push_back(value[i]);
      continue;
    }
    if (++i == value.size()) break;  // A lone trailing backslash is dropped.
    switch (value[i]) {
      case ':':
        out.push_back(';');
        break;
      case 's':
        out.push_back(' ');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'n':
        out.push_back('\n');
        break;
      default:
        out.push_back(value[i]);  // "\\" and unknown escapes.
    }
  }
  return out;
}

// Skips the spaces at the front of `rest`.
void SkipSpaces(absl::string_view* rest) {
  while (!rest->empty() && rest->front() == ' ') rest->remove_prefix(1);
}

// The next space-delimited word of `rest`, consumed.
absl::string_view NextWord(absl::string_view* rest) {
  size_t end = rest->find(' ');
  absl::string_view word = rest->substr(0, end);
  rest->remove_prefix(end == absl::string_view::npos ? rest->size() : end);
  return word;
}

bool IsWelcomeEnd(const IrcMessage& message) {
  return message.command == "376" || message.command == "422";
}

bool IsFailure(const IrcMessage& message) {
  return message.IsErrorNumeric() || message.command == "ERROR";
}

}  // namespace

std::optional<std::string> IrcMessage::Tag(absl::string_view key) const {
  for (const auto& [name, value] : tags) {
    if (name == key) return value;
  }
  return std::nullopt;
}

std::string IrcMessage::Nick() const {
  return std::string(source.substr(0, source.find('!')));
}

std::string IrcMessage::Param(size_t i) const {
  return i < params.size() ? params[i] : "";
}

std::string IrcMessage::Last() const {
  return params.empty() ? "" : params.back();
}

bool IrcMessage::IsErrorNumeric() const {
  return command.size() == 3 && absl::ascii_isdigit(command[0]) &&
         absl::ascii_isdigit(command[1]) && absl::ascii_isdigit(command[2]) &&
         command[0] >= '4';
}

absl::StatusOr<IrcMessage> ParseIrcMessage(absl::string_view line) {
  IrcMessage message;
  message.raw = std::string(line);
  absl::string_view rest = line;
  if (absl::ConsumePrefix(&rest, "@")) {
    absl::string_view tags = NextWord(&rest);
    for (absl::string_view tag : absl::StrSplit(tags, ';', absl::SkipEmpty())) {
      const size_t equals = tag.find('=');
      if (equals == absl::string_view::npos) {
        message.tags.emplace_back(std::string(tag), "");
      } else {
        message.tags.emplace_back(std::string(tag.substr(0, equals)),
                                  UnescapeTagValue(tag.substr(equals + 1)));
      }
    }
    SkipSpaces(&rest);
  }
  if (absl::ConsumePrefix(&rest, ":")) {
    message.source = std::string(NextWord(&rest));
    SkipSpaces(&rest);
  }
  message.command = std::string(NextWord(&rest));
  if (message.command.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no command in IRC line \"", absl::CHexEscape(line), "\""));
  }
  while (true) {
    SkipSpaces(&rest);
    if (rest.empty()) break;
    if (absl::ConsumePrefix(&rest, ":")) {
      message.params.emplace_back(rest);
      break;
    }
    message.params.emplace_back(NextWord(&rest));
  }
  return message;
}

std::string DescribeLines(const std::vector<IrcMessage>& lines) {
  std::string out;
  const size_t first = lines.size() > 30 ? lines.size() - 30 : 0;
  if (first > 0) absl::StrAppend(&out, "  ... ", first, " lines before\n");
  for (size_t i = first; i < lines.size(); ++i) {
    absl::StrAppend(&out, "  ", absl::CHexEscape(lines[i].raw), "\n");
  }
  return out;
}

absl::Status IrcClient::Connect(int port, absl::Duration timeout) {
  return tcp_.Connect(port, "", timeout);
}

absl::Status IrcClient::Connect(const Endpoint& endpoint,
                                absl::Duration timeout) {
  return tcp_.Connect(endpoint, timeout);
}

absl::StatusOr<IrcClient> IrcClient::Registered(
    int port, absl::string_view nick, absl::string_view user,
    const std::vector<std::string>& caps) {
  Endpoint endpoint;
  endpoint.port = port;
  return Registered(endpoint, nick, user, caps);
}

absl::StatusOr<IrcClient> IrcClient::Registered(
    const Endpoint& endpoint, absl::string_view nick, absl::string_view user,
    const std::vector<std::string>& caps) {
  IrcClient client;
  absl::Status connected = client.Connect(endpoint);
  if (!connected.ok()) return connected;
  absl::StatusOr<std::vector<IrcMessage>> welcome =
      client.Register(nick, user, caps);
  if (!welcome.ok()) return welcome.status();
  return client;
}

absl::Status IrcClient::Send(absl::string_view line, absl::Duration timeout) {
  return tcp_.SendRaw(absl::StrCat(line, "\r\n"), timeout);
}

absl::Status IrcClient::SendRaw(absl::string_view bytes,
                                absl::Duration timeout) {
  return tcp_.SendRaw(bytes, timeout);
}

absl::StatusOr<std::string> IrcClient::ReadLine(absl::Duration timeout) {
  absl::StatusOr<std::string> line = tcp_.ReadLine(timeout);
  if (line.ok() && absl::EndsWith(*line, "\r")) line->pop_back();
  return line;
}

std::string IrcClient::NextLine(absl::Duration timeout) {
  absl::StatusOr<std::string> line = ReadLine(timeout);
  if (!line.ok())
    return absl::StrCat("<no line: ", line.status().ToString(), ">");
  return *std::move(line);
}

absl::StatusOr<IrcMessage> IrcClient::ReadMessage(absl::Duration timeout) {
  absl::StatusOr<std::string> line = ReadLine(timeout);
  if (!line.ok()) return line.status();
  return ParseIrcMessage(*line);
}

absl::StatusOr<std::vector<IrcMessage>> IrcClient::ReadUntil(
    const Predicate& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<IrcMessage> lines;
  while (true) {
    absl::StatusOr<IrcMessage> message =
        ReadMessage(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!message.ok()) {
      return absl::Status(
          message.status().code(),
          absl::StrCat(message.status().message(), " after ", lines.size(),
                       " lines:\n", DescribeLines(lines)));
    }
    lines.push_back(*std::move(message));
    if (done(lines.back())) return lines;
  }
}

absl::StatusOr<IrcMessage> IrcClient::ExpectNumeric(absl::string_view numeric,
                                                    absl::Duration timeout) {
  absl::StatusOr<IrcMessage> message = ReadMessage(timeout);
  if (!message.ok()) {
    return absl::Status(message.status().code(),
                        absl::StrCat("waiting for ", numeric, ": ",
                                     message.status().message()));
  }
  if (message->command != numeric) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected numeric ", numeric, ", got \"",
                     absl::CHexEscape(message->raw), "\""));
  }
  return message;
}

absl::StatusOr<std::vector<IrcMessage>> IrcClient::Register(
    absl::string_view nick, absl::string_view user,
    const std::vector<std::string>& caps, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  auto left = [deadline] {
    return std::max(deadline - absl::Now(), absl::ZeroDuration());
  };
  const std::string user_line =
      absl::StrCat("USER ", user, " 0 * :", kIrcRealName);
  if (!caps.empty()) {
    absl::Status sent = SendRaw(
        absl::StrCat("CAP LS 302\r\nNICK ", nick, "\r\n", user_line, "\r\n"),
        left());
    if (!sent.ok()) return sent;
    // "CAP * LS * :..." continues; the last LS line has no "*" before the
    // list.
    absl::StatusOr<std::vector<IrcMessage>> listed = ReadUntil(
        [](const IrcMessage& m) {
          return IsFailure(m) || (m.command == "CAP" && m.Param(1) == "LS" &&
                                  m.params.size() == 3);
        },
        left());
    if (!listed.ok()) return listed.status();
    if (IsFailure(listed->back())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "registering ", nick, " (CAP LS):\n", DescribeLines(*listed)));
    }
    const std::string wanted = absl::StrJoin(caps, " ");
    sent = Send(absl::StrCat("CAP REQ :", wanted), left());
    if (!sent.ok()) return sent;
    absl::StatusOr<IrcMessage> answer = ReadMessage(left());
    if (!answer.ok()) return answer.status();
    if (answer->command != "CAP" || answer->Param(1) != "ACK" ||
        absl::StripAsciiWhitespace(answer->Last()) != wanted) {
      return absl::FailedPreconditionError(
          absl::StrCat("CAP REQ :", wanted, " answered \"",
                       absl::CHexEscape(answer->raw), "\""));
    }
    sent = Send("CAP END", left());
    if (!sent.ok()) return sent;
  } else {
    absl::Status sent =
        SendRaw(absl::StrCat("NICK ", nick, "\r\n", user_line, "\r\n"), left());
    if (!sent.ok()) return sent;
  }
  absl::StatusOr<std::vector<IrcMessage>> burst = ReadUntil(
      [](const IrcMessage& m) { return IsWelcomeEnd(m) || IsFailure(m); },
      left());
  if (!burst.ok()) {
    return absl::Status(
        burst.status().code(),
        absl::StrCat("registering ", nick, ": ", burst.status().message()));
  }
  if (!IsWelcomeEnd(burst->back())) {
    return absl::FailedPreconditionError(
        absl::StrCat("registering ", nick, ":\n", DescribeLines(*burst)));
  }
  nick_ = std::string(nick);
  user_ = std::string(user);
  return burst;
}

absl::StatusOr<std::vector<IrcMessage>> IrcClient::JoinChannel(
    absl::string_view channel, absl::Duration timeout) {
  absl::Status sent = Send(absl::StrCat("JOIN ", channel), timeout);
  if (!sent.ok()) return sent;
  absl::StatusOr<std::vector<IrcMessage>> lines = ReadUntil(
      [channel](const IrcMessage& m) {
        return IsFailure(m) || (m.command == "366" &&
                                absl::EqualsIgnoreCase(m.Param(1), channel));
      },
      timeout);
  if (!lines.ok()) return lines.status();
  if (IsFailure(lines->back())) {
    return absl::FailedPreconditionError(
        absl::StrCat(nick_, " JOIN ", channel, ":\n", DescribeLines(*lines)));
  }
  return lines;
}

absl::Status IrcClient::AwaitJoins(const std::vector<std::string>& nicks,
                                   absl::Duration timeout) {
  std::set<std::string> waiting(nicks.begin(), nicks.end());
  if (waiting.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<IrcMessage>> lines = ReadUntil(
      [&waiting](const IrcMessage& m) {
        if (m.command != "JOIN") return true;
        waiting.erase(m.Nick());
        return waiting.empty();
      },
      timeout);
  if (!lines.ok()) return lines.status();
  if (lines->back().command != "JOIN") {
    return absl::FailedPreconditionError(absl::StrCat(
        nick_, " waiting for JOINs got:\n", DescribeLines(*lines)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<IrcMessage>> IrcClient::Sync(
    absl::string_view token, absl::Duration timeout) {
  absl::Status sent = Send(absl::StrCat("PING ", token), timeout);
  if (!sent.ok()) return sent;
  absl::StatusOr<std::vector<IrcMessage>> lines = ReadUntil(
      [token](const IrcMessage& m) {
        return m.command == "PONG" && m.Last() == token;
      },
      timeout);
  if (!lines.ok()) return lines.status();
  lines->pop_back();
  return lines;
}

std::string IrcClient::Mask() const {
  return absl::StrCat(nick_, "!", user_, "@", kIrcHost);
}

}  // namespace chatd_test
