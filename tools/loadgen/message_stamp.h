// The text of every message loadgen sends: "m <sender> <seq> <t_ns>" and,
// when --payload_bytes asks for more, one space and 'x' padding up to that
// many bytes. Receivers recover (sender, seq, t_ns) from it whatever protocol
// carried it. Pure functions; any thread.
#ifndef CHATD_TOOLS_LOADGEN_MESSAGE_STAMP_H_
#define CHATD_TOOLS_LOADGEN_MESSAGE_STAMP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace chatd::loadgen {

struct MessageStamp {
  uint32_t sender = 0;  // The sending connection's id.
  uint32_t seq = 0;     // Per sender, from 0.
  int64_t t_ns = 0;     // MonotonicNowNs() the message counts as sent at.
};

// Appends the message text to `out` (no line ending). It is exactly
// `payload_bytes` long when that is more than the stamp needs.
void AppendStampedText(const MessageStamp& stamp, size_t payload_bytes,
                       std::string* out);

// Parses text produced by AppendStampedText; nullopt for anything else.
std::optional<MessageStamp> ParseStampedText(absl::string_view text);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_MESSAGE_STAMP_H_
