// The chatd line protocol: parsing what clients send and formatting what the
// server sends. Pure functions, no sockets, no state; the contract they
// implement is written out in docs/PROTOCOL.md.
//
// Every Format* function returns one complete line as an immutable line
// Payload (Payload::Line), ready to be queued on any number of connections
// on either wire: "\n"-terminated on a stream, one text message on a
// WebSocket.
#ifndef CHATD_CORE_PROTOCOL_H_
#define CHATD_CORE_PROTOCOL_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/payload.h"

namespace chatd {

// Longest group or member name, in bytes.
inline constexpr size_t kMaxIdentifierBytes = 32;

// Reasons sent as "ERROR <reason>".
inline constexpr absl::string_view kErrorExpectedJoin =
    "expected JOIN <group> <name>";
inline constexpr absl::string_view kErrorInvalidGroup = "invalid group name";
inline constexpr absl::string_view kErrorInvalidName = "invalid name";
inline constexpr absl::string_view kErrorNameTaken = "name taken";
inline constexpr absl::string_view kErrorLineTooLong = "line too long";
inline constexpr absl::string_view kErrorServerFull = "server full";
inline constexpr absl::string_view kErrorTooManyFromAddress =
    "too many connections from your address";
inline constexpr absl::string_view kErrorTooSlow = "too slow";
inline constexpr absl::string_view kErrorJoinTimeout = "join timeout";
inline constexpr absl::string_view kErrorNoSuchName = "no such name";
inline constexpr absl::string_view kErrorMsgUsage = "usage: /msg <name> <text>";

// 1 to kMaxIdentifierBytes characters of A-Z a-z 0-9 _ . -: a group name.
bool IsValidIdentifier(absl::string_view s);
// A member's name, on any transport: 1 to kMaxIdentifierBytes characters of
// A-Z a-z 0-9 _ . - and the IRC nick specials [ ] \ ` ^ { | }.
bool IsValidName(absl::string_view s);

struct JoinRequest {
  absl::string_view group;  // Views into the parsed line.
  absl::string_view name;
};

// Parses a connection's first line, which must be exactly
// "JOIN <group> <name>". On failure the status message is the reason to send
// after "ERROR ".
absl::StatusOr<JoinRequest> ParseJoin(absl::string_view line);

// What a joined member's line asks for.
struct ChatInput {
  enum class Kind {
    kEmpty,           // Ignored.
    kMessage,         // `text` goes to the other members.
    kWho,             // List the members.
    kQuit,            // Say goodbye and close.
    kPrivate,         // `/msg <target> <text>`.
    kUnknownCommand,  // `text` is the command word, e.g. "/nick".
  };
  Kind kind;
  absl::string_view text;  // A view into the parsed line.
  // kPrivate: the recipient; empty (with `text`) when the command is
  // malformed.
  absl::string_view target = {};
};

ChatInput ParseChatLine(absl::string_view line);

// "<name>: <text>"
PayloadRef FormatMessage(absl::string_view name, absl::string_view text);
// "* you joined <group> as <name> (<online> online)"
PayloadRef FormatWelcome(absl::string_view group, absl::string_view name,
                         size_t online);
// "* <name> has joined"
PayloadRef FormatJoined(absl::string_view name);
// "* <name> has left"
PayloadRef FormatLeft(absl::string_view name);
// "* <name> is now known as <new_name>"
PayloadRef FormatRenamed(absl::string_view name, absl::string_view new_name);
// "* online in <group>: <a>, <b>, ..." with `names` in the order given.
PayloadRef FormatWho(absl::string_view group,
                     const std::vector<absl::string_view>& names);
// "* bye"
PayloadRef FormatBye();
// "* server shutting down"
PayloadRef FormatShuttingDown();
// "ERROR <reason>"
PayloadRef FormatError(absl::string_view reason);

}  // namespace chatd

#endif  // CHATD_CORE_PROTOCOL_H_
