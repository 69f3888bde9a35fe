#include "core/protocol.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace chatd {
namespace {

constexpr absl::string_view kJoinPrefix = "JOIN ";

bool IsIdentifierChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool IsNickSpecial(char c) {
  return c == '[' || c == ']' || c == '\\' || c == '`' || c == '^' ||
         c == '{' || c == '|' || c == '}';
}

}  // namespace

bool IsValidName(absl::string_view s) {
  if (s.empty() || s.size() > kMaxIdentifierBytes) return false;
  for (char c : s) {
    if (!IsIdentifierChar(c) && !IsNickSpecial(c)) return false;
  }
  return true;
}

bool IsValidIdentifier(absl::string_view s) {
  if (s.empty() || s.size() > kMaxIdentifierBytes) return false;
  for (char c : s) {
    if (!IsIdentifierChar(c)) return false;
  }
  return true;
}

absl::StatusOr<JoinRequest> ParseJoin(absl::string_view line) {
  if (line.substr(0, kJoinPrefix.size()) != kJoinPrefix) {
    return absl::InvalidArgumentError(kErrorExpectedJoin);
  }
  const absl::string_view rest = line.substr(kJoinPrefix.size());
  const size_t space = rest.find(' ');
  if (space == absl::string_view::npos) {
    return absl::InvalidArgumentError(kErrorExpectedJoin);
  }
  JoinRequest join{rest.substr(0, space), rest.substr(space + 1)};
  // Empty fields mean doubled or trailing spaces; a space in the name means
  // a third field. Both are the wrong shape, not bad identifiers.
  if (join.group.empty() || join.name.empty() ||
      join.name.find(' ') != absl::string_view::npos) {
    return absl::InvalidArgumentError(kErrorExpectedJoin);
  }
  if (!IsValidIdentifier(join.group)) {
    return absl::InvalidArgumentError(kErrorInvalidGroup);
  }
  if (!IsValidName(join.name)) {
    return absl::InvalidArgumentError(kErrorInvalidName);
  }
  return join;
}

ChatInput ParseChatLine(absl::string_view line) {
  if (line.empty()) return {ChatInput::Kind::kEmpty, line};
  if (line[0] != '/') return {ChatInput::Kind::kMessage, line};
  if (line.size() > 1 && line[1] == '/') {
    return {ChatInput::Kind::kMessage, line.substr(1)};
  }
  const absl::string_view command = line.substr(0, line.find(' '));
  if (command == "/who") return {ChatInput::Kind::kWho, command};
  if (command == "/quit") return {ChatInput::Kind::kQuit, command};
  if (command == "/msg") {
    // "/msg <target> <text>": one space after each, the text as written.
    const absl::string_view rest = line.substr(command.size());
    const size_t space = rest.size() > 1 ? rest.find(' ', 1) : rest.npos;
    if (rest.empty() || rest[0] != ' ' || space == rest.npos || space == 1 ||
        space + 1 == rest.size()) {
      return {ChatInput::Kind::kPrivate, command, absl::string_view()};
    }
    return {ChatInput::Kind::kPrivate, rest.substr(space + 1),
            rest.substr(1, space - 1)};
  }
  return {ChatInput::Kind::kUnknownCommand, command};
}

PayloadRef FormatMessage(absl::string_view name, absl::string_view text) {
  return Payload::Line({name, ": ", text});
}

PayloadRef FormatWelcome(absl::string_view group, absl::string_view name,
                         size_t online) {
  return Payload::Line({absl::StrCat("* you joined ", group, " as ", name, " (",
                                     online, " online)")});
}

PayloadRef FormatJoined(absl::string_view name) {
  return Payload::Line({"* ", name, " has joined"});
}

PayloadRef FormatLeft(absl::string_view name) {
  return Payload::Line({"* ", name, " has left"});
}

PayloadRef FormatRenamed(absl::string_view name, absl::string_view new_name) {
  return Payload::Line({"* ", name, " is now known as ", new_name});
}

PayloadRef FormatWho(absl::string_view group,
                     const std::vector<absl::string_view>& names) {
  return Payload::Line(
      {absl::StrCat("* online in ", group, ": ", absl::StrJoin(names, ", "))});
}

PayloadRef FormatBye() { return Payload::Line({"* bye"}); }

PayloadRef FormatShuttingDown() {
  return Payload::Line({"* server shutting down"});
}

PayloadRef FormatError(absl::string_view reason) {
  return Payload::Line({"ERROR ", reason});
}

}  // namespace chatd
