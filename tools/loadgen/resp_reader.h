// RespReader parses one complete RESP2/RESP3 value (Redis's wire format)
// from the front of a buffer, without copying: it reports where the value
// ends and, for a top-level array or push, views of its first few scalar
// elements. Nested aggregates are walked and skipped. Stateless; any thread.
#ifndef CHATD_TOOLS_LOADGEN_RESP_READER_H_
#define CHATD_TOOLS_LOADGEN_RESP_READER_H_

#include <array>
#include <cstddef>

#include "absl/strings/string_view.h"

namespace chatd::loadgen {

struct RespValue {
  enum class Status { kOk, kIncomplete, kMalformed };
  Status status = Status::kIncomplete;
  size_t size = 0;  // Bytes the value occupies when kOk.
  char type = 0;    // The type byte: '>' push, '*' array, '-' error, ...
  // For scalars: the value itself (a line, a bulk string's bytes).
  absl::string_view text;
  // For top-level '*' and '>': element count and up to kMaxElements
  // scalar elements (nested aggregates are left empty).
  static constexpr int kMaxElements = 3;
  long elements = 0;
  std::array<absl::string_view, kMaxElements> element;
};

// Reads the value starting at data[0].
RespValue ReadRespValue(absl::string_view data);

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_RESP_READER_H_
