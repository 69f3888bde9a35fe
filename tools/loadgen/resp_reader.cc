#include "tools/loadgen/resp_reader.h"

#include "absl/strings/numbers.h"

namespace chatd::loadgen {
namespace {

// Deeper nesting than any reply loadgen asks for means garbage.
constexpr int kMaxDepth = 16;

using Status = RespValue::Status;

// Reads the value at data[pos..]; on kOk sets *end past it and *text to a
// scalar's contents. `depth` bounds recursion.
Status Skip(absl::string_view data, size_t pos, int depth, size_t* end,
            absl::string_view* text, long* count) {
  if (depth > kMaxDepth) return Status::kMalformed;
  if (pos >= data.size()) return Status::kIncomplete;
  const char type = data[pos];
  const size_t crlf = data.find("\r\n", pos + 1);
  if (crlf == absl::string_view::npos) return Status::kIncomplete;
  const absl::string_view line = data.substr(pos + 1, crlf - pos - 1);
  size_t next = crlf + 2;
  switch (type) {
    case '+':  // Simple string.
    case '-':  // Simple error.
    case ':':  // Integer.
    case '_':  // Null.
    case '#':  // Boolean.
    case ',':  // Double.
    case '(':  // Big number.
      *text = line;
      *end = next;
      return Status::kOk;
    case '$':    // Bulk string.
    case '!':    // Bulk error.
    case '=': {  // Verbatim string.
      long len = 0;
      if (!absl::SimpleAtoi(line, &len) || len < -1) return Status::kMalformed;
      if (len == -1) {  // RESP2 null.
        *text = absl::string_view();
        *end = next;
        return Status::kOk;
      }
      const size_t n = static_cast<size_t>(len);
      if (data.size() - next < n + 2) return Status::kIncomplete;
      if (data.substr(next + n, 2) != "\r\n") return Status::kMalformed;
      *text = data.substr(next, n);
      *end = next + n + 2;
      return Status::kOk;
    }
    case '*':    // Array.
    case '~':    // Set.
    case '>':    // Push.
    case '%':    // Map: count pairs.
    case '|': {  // Attribute: count pairs, then the value it annotates.
      long n = 0;
      if (!absl::SimpleAtoi(line, &n) || n < -1) return Status::kMalformed;
      *count = n;
      if (n == -1) {  // RESP2 null array.
        *end = next;
        return Status::kOk;
      }
      const long items = (type == '%' || type == '|') ? 2 * n : n;
      for (long i = 0; i < items; ++i) {
        absl::string_view ignored_text;
        long ignored_count = 0;
        const Status s =
            Skip(data, next, depth + 1, &next, &ignored_text, &ignored_count);
        if (s != Status::kOk) return s;
      }
      if (type == '|') {
        absl::string_view ignored_text;
        long ignored_count = 0;
        return Skip(data, next, depth + 1, end, &ignored_text, &ignored_count);
      }
      *end = next;
      return Status::kOk;
    }
    default:
      return Status::kMalformed;
  }
}

}  // namespace

RespValue ReadRespValue(absl::string_view data) {
  RespValue value;
  if (data.empty()) return value;
  value.type = data[0];
  size_t end = 0;
  value.status = Skip(data, 0, 0, &end, &value.text, &value.elements);
  if (value.status != Status::kOk) return value;
  value.size = end;
  if ((value.type == '*' || value.type == '>') && value.elements > 0) {
    // Walk again to pick out the leading scalar elements.
    size_t pos = data.find("\r\n") + 2;
    for (long i = 0; i < value.elements && i < RespValue::kMaxElements; ++i) {
      absl::string_view text;
      long count = 0;
      size_t next = 0;
      if (Skip(data, pos, 1, &next, &text, &count) != Status::kOk) break;
      const char t = data[pos];
      if (t != '*' && t != '~' && t != '>' && t != '%' && t != '|') {
        value.element[i] = text;
      }
      pos = next;
    }
  }
  return value;
}

}  // namespace chatd::loadgen
