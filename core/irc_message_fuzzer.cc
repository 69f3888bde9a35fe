// Fuzzes the IRC parser and its helpers one line at a time. The parser must
// only ever hand out views into the line it was given, shaped as the grammar
// says; the tag helpers must agree with each other (what ClientTagsToRelay
// emits, ParseIrcTags accepts); escaping must round-trip; and SplitForIrc
// must lose nothing and never break a valid UTF-8 line into invalid chunks.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/irc_message.h"
#include "net/utf8.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

bool IsSubrange(absl::string_view view, absl::string_view outer) {
  return view.empty() ||
         (view.data() >= outer.data() &&
          view.data() + view.size() <= outer.data() + outer.size());
}

// A middle param, source or command: one non-empty space-free token.
void CheckToken(absl::string_view token) {
  FUZZ_CHECK(!token.empty());
  FUZZ_CHECK(token.find(' ') == absl::string_view::npos);
}

void CheckMessage(absl::string_view line, const IrcMessage& message) {
  FUZZ_CHECK(IsSubrange(message.tags, line));
  FUZZ_CHECK(IsSubrange(message.source, line));
  FUZZ_CHECK(IsSubrange(message.command, line));
  FUZZ_CHECK(message.tags.size() <= kIrcMaxTagBytes);
  FUZZ_CHECK(message.tags.find(' ') == absl::string_view::npos);
  FUZZ_CHECK(message.tags.empty() == (line[0] != '@'));
  if (!message.source.empty()) CheckToken(message.source);
  CheckToken(message.command);
  FUZZ_CHECK(message.params.size() <= kIrcMaxParams);
  FUZZ_CHECK(!message.has_trailing || !message.params.empty());
  for (size_t i = 0; i < message.params.size(); ++i) {
    const absl::string_view param = message.params[i];
    FUZZ_CHECK(IsSubrange(param, line));
    const bool last = i + 1 == message.params.size();
    if (last && message.has_trailing) continue;
    if (last && message.params.size() == kIrcMaxParams) {
      // The rest of the line: anything but empty or a leading space.
      FUZZ_CHECK(!param.empty() && param[0] != ' ');
      continue;
    }
    CheckToken(param);
    FUZZ_CHECK(param[0] != ':');
  }
}

void CheckTags(absl::string_view tags) {
  std::vector<IrcTag> parsed;
  if (ParseIrcTags(tags, &parsed)) {
    for (const IrcTag& tag : parsed) {
      FUZZ_CHECK(!tag.key.empty());
      FUZZ_CHECK(IsSubrange(tag.key, tags));
      FUZZ_CHECK(IsSubrange(tag.value, tags));
      FUZZ_CHECK(tag.value.find_first_of(absl::string_view("\0\r\n; ", 5)) ==
                 absl::string_view::npos);
      const std::string value = UnescapeTagValue(tag.value);
      FUZZ_CHECK(UnescapeTagValue(EscapeTagValue(value)) == value);
    }
  }
  const std::string relay = ClientTagsToRelay(tags);
  FUZZ_CHECK(relay.size() <= tags.size());
  std::vector<IrcTag> relayed;
  FUZZ_CHECK(ParseIrcTags(relay, &relayed));
  for (const IrcTag& tag : relayed) FUZZ_CHECK(tag.key[0] == '+');
  // Relaying again changes nothing: the result is already filtered.
  FUZZ_CHECK(ClientTagsToRelay(relay) == relay);
}

void CheckSplit(absl::string_view line) {
  const size_t max_bytes =
      4 + (line.empty() ? 0 : static_cast<unsigned char>(line[0]) % 500);
  const std::vector<absl::string_view> chunks = SplitForIrc(line, max_bytes);
  FUZZ_CHECK(!chunks.empty());
  FUZZ_CHECK(absl::StrJoin(chunks, "") == line);
  const bool valid = IsValidUtf8(line);
  for (const absl::string_view chunk : chunks) {
    FUZZ_CHECK(chunk.size() <= max_bytes);
    FUZZ_CHECK(chunks.size() == 1 || !chunk.empty());
    if (valid) FUZZ_CHECK(IsValidUtf8(chunk));
  }
}

void CheckLine(absl::string_view line, IrcMessage* message) {
  const IrcParseResult result = ParseIrcMessage(line, message);
  switch (result) {
    case IrcParseResult::kOk:
      CheckMessage(line, *message);
      CheckTags(message->tags);
      break;
    case IrcParseResult::kEmpty:
      FUZZ_CHECK(line.find_first_not_of(' ') == absl::string_view::npos);
      break;
    case IrcParseResult::kTooLong:
      FUZZ_CHECK(line.size() > kIrcMaxBodyBytes);
      break;
    case IrcParseResult::kMalformed:
      break;
  }
  if (result != IrcParseResult::kOk) {
    FUZZ_CHECK(message->command.empty() && message->params.empty());
  }
  // The tag helpers take any bytes, not only what the parser lets through.
  CheckTags(line);
  FUZZ_CHECK(UnescapeTagValue(EscapeTagValue(line)) == line);
  CheckSplit(line);
}

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  // One message reused across lines, as a connection would.
  IrcMessage message;
  while (true) {
    const size_t newline = input.find('\n');
    absl::string_view line = input.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    CheckLine(line, &message);
    if (newline == absl::string_view::npos) break;
    input.remove_prefix(newline + 1);
  }
  return 0;
}
