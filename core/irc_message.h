// Parsing of IRC client lines (RFC 1459/2812 with IRCv3 message tags), and
// the tag and text helpers an IRC front end needs to relay them. Pure
// functions, no sockets, no state, like core/protocol.h; the caller owns
// every result. An IrcMessage and the views SplitForIrc returns point into
// the text they were made from, which must outlive them.
//
// The limits are those of the wire, so that a line this parser accepts can
// be relayed unchanged to any IRC client: 512 bytes of body with its CR LF,
// 4096 bytes of tags with the '@' and the space.
#ifndef CHATD_CORE_IRC_MESSAGE_H_
#define CHATD_CORE_IRC_MESSAGE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace chatd {

// The tag section without '@' and the space after it.
inline constexpr size_t kIrcMaxTagBytes = 4094;
// The rest of the line, without CR LF.
inline constexpr size_t kIrcMaxBodyBytes = 510;
inline constexpr size_t kIrcMaxParams = 15;

// One parsed line. Views into the parsed line.
struct IrcMessage {
  absl::string_view tags;     // Without the '@'; empty if none.
  absl::string_view source;   // Without the ':'; empty if none.
  absl::string_view command;  // As sent; callers compare case-insensitively.
  // The trailing one (after " :") is last.
  absl::InlinedVector<absl::string_view, kIrcMaxParams> params;
  // The last param was given after " :" (it may be empty). A 15th param sent
  // without ':' takes the rest of the line, spaces included, but leaves this
  // false, so a relay can tell what the client wrote.
  bool has_trailing = false;
};

enum class IrcParseResult { kOk, kEmpty, kTooLong, kMalformed };

// `line` is one line without its line ending (CR already stripped).
// kEmpty: empty or only spaces (ignored by servers). kTooLong: tag section >
// kIrcMaxTagBytes, or body > kIrcMaxBodyBytes (the server answers 417 and
// keeps the connection). kMalformed: NUL, CR or LF inside the line, a '@' or
// ':' prefix with nothing after it, no command.
// A NUL, CR or LF makes the line kMalformed even when it is also too long:
// such a line is not IRC at all, and a 417 would suggest shortening it helps.
// The body is everything after "@<tags> ", extra spaces included.
// Params are separated by one or more spaces; after 14 middle params the rest
// of the line is the 15th param even without ':' (RFC 2812). `out` is cleared
// first and reused (keep its storage). On anything but kOk, `out` is left
// cleared.
IrcParseResult ParseIrcMessage(absl::string_view line, IrcMessage* out);

struct IrcTag {
  absl::string_view key;
  absl::string_view value;  // Still escaped; empty if absent.
};

// Splits a tag section ("a=b;+c;d=") into tags, in order, repeats kept.
// False if malformed: an empty tag (so "a;" and "a;;b" are malformed), an
// empty key, a key with bytes outside [A-Za-z0-9-/.] after an optional '+', a
// vendor prefix ("example.com/") with nothing before or after its '/', more
// than one '/', or a value containing a space, NUL, CR or LF (a ';' cannot
// be in one, by construction). An empty section is valid and has no tags.
// `out` is cleared first; on false it holds the tags before the bad one.
bool ParseIrcTags(absl::string_view tags, std::vector<IrcTag>* out);

// The client-only tags (key starts with '+') of a tag section, re-joined with
// ';' in their original order, values kept escaped, to relay to message-tags
// clients; malformed tags are dropped, a key repeated keeps its last value
// (at the place it first appeared). Empty string if none. Never longer than
// the input.
std::string ClientTagsToRelay(absl::string_view tags);

// IRCv3 message-tags value escaping: ';'->"\:", ' '->"\s", '\\'->"\\\\",
// CR->"\r", LF->"\n"; unescaping also drops a lone trailing backslash and
// turns "\x" (unknown) into "x".
std::string EscapeTagValue(absl::string_view value);
std::string UnescapeTagValue(absl::string_view value);

// Splits `text` into chunks of at most `max_bytes` bytes (max_bytes >= 4;
// smaller values count as 4) whose concatenation is `text`, never cutting
// inside a UTF-8 sequence: a cut that would land before a continuation byte
// (10xxxxxx) moves back to the sequence's lead byte (at most 3 bytes back;
// for invalid input that has more continuation bytes in a row, cut at
// max_bytes). Prefer to cut just after the last space in the final 64 bytes
// of a chunk, if there is one, so words stay whole. Empty text -> one empty
// chunk. The chunks are views into `text`.
std::vector<absl::string_view> SplitForIrc(absl::string_view text,
                                           size_t max_bytes);

// The first chunk SplitForIrc(text, max_bytes) would give: `text` cut to at
// most `max_bytes` bytes without cutting a UTF-8 sequence, for a reply or
// an event that must fit one line and is not worth several.
absl::string_view TruncateForIrc(absl::string_view text, size_t max_bytes);

}  // namespace chatd

#endif  // CHATD_CORE_IRC_MESSAGE_H_
