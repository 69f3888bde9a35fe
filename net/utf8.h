// Incremental UTF-8 validation (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), for text that arrives in pieces, such as the
// fragments of a WebSocket message. A validator is a few bytes of state, owned
// by whoever feeds it; it is not thread-safe.
#ifndef CHATD_NET_UTF8_H_
#define CHATD_NET_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace chatd {

class Utf8Validator {
 public:
  // Checks the next bytes. Returns false as soon as the bytes seen so far
  // cannot begin valid UTF-8; the validator must then be Reset() before reuse.
  bool Feed(absl::string_view bytes);
  // Whether the bytes seen so far end at a character boundary (so, after
  // Feed() returned true for all of them, form valid UTF-8).
  bool complete() const { return need_ == 0; }
  void Reset() {
    need_ = 0;
    lo_ = 0x80;
    hi_ = 0xBF;
  }

 private:
  uint8_t need_ = 0;   // Continuation bytes still due.
  uint8_t lo_ = 0x80;  // Allowed range of the next continuation byte.
  uint8_t hi_ = 0xBF;
};

// Whether `bytes` is entirely valid UTF-8.
bool IsValidUtf8(absl::string_view bytes);

// `bytes` with each invalid sequence replaced by U+FFFD (one per maximal
// ill-formed subpart, as Unicode recommends).
std::string ToValidUtf8(absl::string_view bytes);

// The longest prefix of valid UTF-8 `bytes` that is at most `max_bytes` long
// and ends at a character boundary; returns its length.
size_t Utf8TruncationPoint(absl::string_view bytes, size_t max_bytes);

}  // namespace chatd

#endif  // CHATD_NET_UTF8_H_
