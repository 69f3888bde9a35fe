#include "net/utf8.h"

namespace chatd {

bool Utf8Validator::Feed(absl::string_view bytes) {
  for (const char c : bytes) {
    const uint8_t b = static_cast<uint8_t>(c);
    if (need_ > 0) {
      if (b < lo_ || b > hi_) return false;
      --need_;
      lo_ = 0x80;
      hi_ = 0xBF;
      continue;
    }
    if (b < 0x80) continue;
    if (b >= 0xC2 && b <= 0xDF) {
      need_ = 1;
    } else if (b == 0xE0) {
      need_ = 2;
      lo_ = 0xA0;  // No overlong three-byte forms.
    } else if (b == 0xED) {
      need_ = 2;
      hi_ = 0x9F;  // No surrogates.
    } else if (b >= 0xE1 && b <= 0xEF) {
      need_ = 2;
    } else if (b == 0xF0) {
      need_ = 3;
      lo_ = 0x90;  // No overlong four-byte forms.
    } else if (b >= 0xF1 && b <= 0xF3) {
      need_ = 3;
    } else if (b == 0xF4) {
      need_ = 3;
      hi_ = 0x8F;  // Nothing above U+10FFFF.
    } else {
      return false;  // 0x80-0xC1 (stray or overlong) and 0xF5-0xFF.
    }
  }
  return true;
}

bool IsValidUtf8(absl::string_view bytes) {
  Utf8Validator validator;
  return validator.Feed(bytes) && validator.complete();
}

size_t Utf8TruncationPoint(absl::string_view bytes, size_t max_bytes) {
  if (bytes.size() <= max_bytes) return bytes.size();
  size_t cut = max_bytes;
  // Back up over continuation bytes to the start of the cut character.
  while (cut > 0 && (static_cast<uint8_t>(bytes[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace chatd
