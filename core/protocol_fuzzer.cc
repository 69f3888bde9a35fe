// Fuzzes the LineFramer and the parsers. The framer is checked against a
// naive reference that splits the whole input at once: whatever the chunking,
// it must hand out exactly the reference's lines and agree on "too long",
// also when the consumer holds lines back and resumes them (a throttle).
// Every parsed JOIN must round-trip to the line it came from.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/line_framer.h"
#include "core/protocol.h"
#include "tools/fuzz/fuzz_check.h"

namespace chatd {
namespace {

absl::string_view StripCr(absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// The whole input split at once: its lines, and whether framing must fail.
void Reference(absl::string_view input, size_t max,
               std::vector<std::string>* lines, bool* too_long) {
  *too_long = false;
  size_t pos = 0;
  while (true) {
    const size_t newline = input.find('\n', pos);
    if (newline == absl::string_view::npos) break;
    const absl::string_view line = StripCr(input.substr(pos, newline - pos));
    if (line.size() > max) {
      *too_long = true;
      return;
    }
    lines->emplace_back(line);
    pos = newline + 1;
  }
  const absl::string_view tail = input.substr(pos);
  *too_long =
      tail.size() > max + 1 || (tail.size() == max + 1 && tail.back() != '\r');
}

void CheckParsers(absl::string_view line) {
  absl::StatusOr<JoinRequest> join = ParseJoin(line);
  if (join.ok()) {
    FUZZ_CHECK(IsValidIdentifier(join->group));
    FUZZ_CHECK(IsValidName(join->name));
    FUZZ_CHECK(absl::StrCat("JOIN ", join->group, " ", join->name) == line);
  } else {
    const absl::string_view reason = join.status().message();
    FUZZ_CHECK(reason == kErrorExpectedJoin || reason == kErrorInvalidGroup ||
               reason == kErrorInvalidName);
  }
  const ChatInput input = ParseChatLine(line);
  switch (input.kind) {
    case ChatInput::Kind::kEmpty:
      FUZZ_CHECK(line.empty());
      break;
    case ChatInput::Kind::kMessage:
      FUZZ_CHECK(input.text == line ||
                 (line.substr(0, 2) == "//" && input.text == line.substr(1)));
      break;
    case ChatInput::Kind::kWho:
    case ChatInput::Kind::kQuit:
    case ChatInput::Kind::kUnknownCommand:
      FUZZ_CHECK(!line.empty() && line[0] == '/' && line.substr(0, 2) != "//");
      FUZZ_CHECK(line.substr(0, input.text.size()) == input.text);
      break;
  }
}

}  // namespace
}  // namespace chatd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatd;
  if (size < 2) return 0;
  const size_t max = data[0] % 64;
  const size_t step = 1 + data[1] % 17;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 2,
                                size - 2);

  std::vector<std::string> expected;
  bool expect_too_long = false;
  Reference(input, max, &expected, &expect_too_long);

  // Lines to hold back once before taking them, as a throttled session
  // does: a 5-bit pattern from the bytes the other parameters leave unused.
  const unsigned hold_pattern = (data[0] >> 6) | ((data[1] >> 5) << 2);
  size_t calls = 0;
  bool held_last = false;

  LineFramer framer(max);
  std::vector<std::string> got;
  bool too_long = false;
  auto on_line = [&](absl::string_view line) {
    FUZZ_CHECK(line.find('\n') == absl::string_view::npos);
    FUZZ_CHECK(line.size() <= max);
    if (!held_last && ((hold_pattern >> (calls++ % 5)) & 1)) {
      held_last = true;
      return LineFramer::Verdict::kHold;
    }
    held_last = false;
    CheckParsers(line);
    got.emplace_back(line);
    return LineFramer::Verdict::kNext;
  };
  for (size_t pos = 0; pos < input.size() && !too_long; pos += step) {
    LineFramer::Result result = framer.Feed(input.substr(pos, step), on_line);
    while (result == LineFramer::Result::kHeld) {
      FUZZ_CHECK(framer.holding());
      result = framer.Resume(on_line);
    }
    FUZZ_CHECK(!framer.holding());
    FUZZ_CHECK(result != LineFramer::Result::kStopped);
    too_long = result == LineFramer::Result::kLineTooLong;
  }
  FUZZ_CHECK(too_long == expect_too_long);
  FUZZ_CHECK(got == expected);
  return 0;
}
