#include "tools/loadgen/message_stamp.h"

#include <cstdio>
#include <limits>

namespace chatd::loadgen {
namespace {

// Parses a decimal number ending at a space or the end of `text`, starting
// at `*pos`; advances `*pos` past the space.
template <typename T>
bool ParseField(absl::string_view text, size_t* pos, T* value) {
  size_t i = *pos;
  uint64_t v = 0;
  const size_t start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (i - start >= 19) return false;  // Would overflow.
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == start) return false;
  if (i < text.size()) {
    if (text[i] != ' ') return false;
    ++i;
  }
  if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
  *value = static_cast<T>(v);
  *pos = i;
  return true;
}

}  // namespace

void AppendStampedText(const MessageStamp& stamp, size_t payload_bytes,
                       std::string* out) {
  char head[64];
  const int n = snprintf(head, sizeof(head), "m %u %u %lld", stamp.sender,
                         stamp.seq, static_cast<long long>(stamp.t_ns));
  out->append(head, static_cast<size_t>(n));
  if (payload_bytes > static_cast<size_t>(n) + 1) {
    out->push_back(' ');
    out->append(payload_bytes - static_cast<size_t>(n) - 1, 'x');
  }
}

std::optional<MessageStamp> ParseStampedText(absl::string_view text) {
  if (text.size() < 2 || text[0] != 'm' || text[1] != ' ') return std::nullopt;
  size_t pos = 2;
  MessageStamp stamp;
  if (!ParseField(text, &pos, &stamp.sender) ||
      !ParseField(text, &pos, &stamp.seq) ||
      !ParseField(text, &pos, &stamp.t_ns)) {
    return std::nullopt;
  }
  // Whatever follows is padding; its length is the server's business.
  return stamp;
}

}  // namespace chatd::loadgen
