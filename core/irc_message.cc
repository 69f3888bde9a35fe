#include "core/irc_message.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace chatd {
namespace {

constexpr absl::string_view kForbiddenInLine("\0\r\n", 3);
constexpr absl::string_view kForbiddenInTagValue("\0\r\n ", 4);
// How far back from a chunk's end SplitForIrc looks for a space: far enough
// to keep most words whole, near enough that chunks stay nearly full.
constexpr size_t kWordBreakWindow = 64;
// The longest UTF-8 sequence has a lead byte and 3 continuation bytes.
constexpr size_t kMaxContinuationBytes = 3;

bool IsKeyNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool IsValidTagKey(absl::string_view key) {
  if (!key.empty() && key[0] == '+') key.remove_prefix(1);
  if (key.empty()) return false;
  const size_t slash = key.find('/');
  if (slash != absl::string_view::npos &&
      (slash == 0 || slash + 1 == key.size() ||
       key.find('/', slash + 1) != absl::string_view::npos)) {
    return false;
  }
  for (size_t i = 0; i < key.size(); ++i) {
    if (i != slash && !IsKeyNameChar(key[i])) return false;
  }
  return true;
}

// Parses one "key[=value]" element of a tag section.
bool ParseOneTag(absl::string_view element, IrcTag* tag) {
  const size_t equals = element.find('=');
  tag->key = element.substr(0, equals);
  tag->value = equals == absl::string_view::npos ? absl::string_view()
                                                 : element.substr(equals + 1);
  return IsValidTagKey(tag->key) &&
         tag->value.find_first_of(kForbiddenInTagValue) ==
             absl::string_view::npos;
}

// Calls `on_element` for each ';'-separated element, empty ones included, and
// stops when it returns false. Returns whether it went through all of them.
template <typename OnElement>
bool ForEachTagElement(absl::string_view tags, OnElement on_element) {
  while (true) {
    const size_t semicolon = tags.find(';');
    if (!on_element(tags.substr(0, semicolon))) return false;
    if (semicolon == absl::string_view::npos) return true;
    tags.remove_prefix(semicolon + 1);
  }
}

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

size_t SkipSpaces(absl::string_view line, size_t pos) {
  while (pos < line.size() && line[pos] == ' ') ++pos;
  return pos;
}

// The end of the token starting at `pos`: the next space or the line's end.
size_t TokenEnd(absl::string_view line, size_t pos) {
  return std::min(line.find(' ', pos), line.size());
}

}  // namespace

IrcParseResult ParseIrcMessage(absl::string_view line, IrcMessage* out) {
  out->tags = {};
  out->source = {};
  out->command = {};
  out->params.clear();
  out->has_trailing = false;

  if (line.find_first_not_of(' ') == absl::string_view::npos) {
    return IrcParseResult::kEmpty;
  }
  if (line.find_first_of(kForbiddenInLine) != absl::string_view::npos) {
    return IrcParseResult::kMalformed;
  }

  size_t pos = 0;
  absl::string_view tags;
  if (line[0] == '@') {
    const size_t end = TokenEnd(line, 1);
    tags = line.substr(1, end - 1);
    if (tags.size() > kIrcMaxTagBytes) return IrcParseResult::kTooLong;
    if (tags.empty()) return IrcParseResult::kMalformed;
    pos = std::min(end + 1, line.size());
  }
  if (line.size() - pos > kIrcMaxBodyBytes) return IrcParseResult::kTooLong;

  pos = SkipSpaces(line, pos);
  absl::string_view source;
  if (pos < line.size() && line[pos] == ':') {
    const size_t end = TokenEnd(line, pos + 1);
    source = line.substr(pos + 1, end - pos - 1);
    if (source.empty()) return IrcParseResult::kMalformed;
    pos = SkipSpaces(line, end);
  }
  if (pos == line.size()) return IrcParseResult::kMalformed;  // No command.
  const size_t command_end = TokenEnd(line, pos);
  const absl::string_view command = line.substr(pos, command_end - pos);
  pos = command_end;

  // Filled in place so that a caller parsing line after line into the same
  // message never allocates: 15 params fit the inline storage.
  auto& params = out->params;
  bool has_trailing = false;
  while (true) {
    pos = SkipSpaces(line, pos);
    if (pos == line.size()) break;
    if (line[pos] == ':') {
      params.push_back(line.substr(pos + 1));
      has_trailing = true;
      break;
    }
    if (params.size() == kIrcMaxParams - 1) {
      params.push_back(line.substr(pos));
      break;
    }
    const size_t end = TokenEnd(line, pos);
    params.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  out->tags = tags;
  out->source = source;
  out->command = command;
  out->has_trailing = has_trailing;
  return IrcParseResult::kOk;
}

bool ParseIrcTags(absl::string_view tags, std::vector<IrcTag>* out) {
  out->clear();
  if (tags.empty()) return true;
  return ForEachTagElement(tags, [out](absl::string_view element) {
    IrcTag tag;
    if (!ParseOneTag(element, &tag)) return false;
    out->push_back(tag);
    return true;
  });
}

std::string ClientTagsToRelay(absl::string_view tags) {
  // Each kept key's latest element, in the order the keys first appeared.
  std::vector<absl::string_view> kept;
  absl::flat_hash_map<absl::string_view, size_t> index_by_key;
  ForEachTagElement(tags, [&](absl::string_view element) {
    IrcTag tag;
    if (!ParseOneTag(element, &tag) || tag.key[0] != '+') return true;
    const auto [it, inserted] = index_by_key.try_emplace(tag.key, kept.size());
    if (inserted) {
      kept.push_back(element);
    } else {
      kept[it->second] = element;
    }
    return true;
  });
  // Kept elements are distinct elements of `tags`, joined by as many ';' as
  // separated them there at least, so the result is never longer.
  std::string relay;
  for (const absl::string_view element : kept) {
    if (!relay.empty()) relay.push_back(';');
    relay.append(element.data(), element.size());
  }
  return relay;
}

std::string EscapeTagValue(absl::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case ';':
        escaped.append("\\:");
        break;
      case ' ':
        escaped.append("\\s");
        break;
      case '\\':
        escaped.append("\\\\");
        break;
      case '\r':
        escaped.append("\\r");
        break;
      case '\n':
        escaped.append("\\n");
        break;
      default:
        escaped.push_back(c);
    }
  }
  return escaped;
}

std::string UnescapeTagValue(absl::string_view value) {
  std::string unescaped;
  unescaped.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      unescaped.push_back(value[i]);
      continue;
    }
    if (++i == value.size()) break;  // A lone trailing backslash.
    switch (value[i]) {
      case ':':
        unescaped.push_back(';');
        break;
      case 's':
        unescaped.push_back(' ');
        break;
      case 'r':
        unescaped.push_back('\r');
        break;
      case 'n':
        unescaped.push_back('\n');
        break;
      default:  // "\\" and unknown escapes alike stand for the character.
        unescaped.push_back(value[i]);
    }
  }
  return unescaped;
}

std::vector<absl::string_view> SplitForIrc(absl::string_view text,
                                           size_t max_bytes) {
  max_bytes = std::max<size_t>(max_bytes, kMaxContinuationBytes + 1);
  std::vector<absl::string_view> chunks;
  while (text.size() > max_bytes) {
    size_t cut = max_bytes;
    size_t back = 0;
    while (back < kMaxContinuationBytes && IsContinuationByte(text[cut])) {
      --cut;
      ++back;
    }
    // Not UTF-8 anyway: no cut keeps it whole, so keep chunks full.
    if (IsContinuationByte(text[cut])) cut = max_bytes;
    // A space is never inside a sequence, so cutting after it is safe too.
    const size_t window_start =
        cut > kWordBreakWindow ? cut - kWordBreakWindow : 0;
    const size_t space =
        text.substr(window_start, cut - window_start).rfind(' ');
    if (space != absl::string_view::npos) cut = window_start + space + 1;
    chunks.push_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  chunks.push_back(text);
  return chunks;
}

absl::string_view TruncateForIrc(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return SplitForIrc(text.substr(0, max_bytes + 1), max_bytes).front();
}

}  // namespace chatd
