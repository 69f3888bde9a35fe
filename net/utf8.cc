#include "net/utf8.h"

#include <cstring>

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
  // Every formatted line is checked, and most are ASCII: skip those eight
  // bytes at a time.
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    if (word & 0x8080808080808080ull) break;
  }
  Utf8Validator validator;
  return validator.Feed(bytes.substr(i)) && validator.complete();
}

std::string ToValidUtf8(absl::string_view bytes) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(bytes.size() + 8);
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t lead = static_cast<uint8_t>(bytes[i]);
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    // The sequence's length and the range of its second byte (RFC 3629):
    // no overlong forms, no surrogates, nothing past U+10FFFF.
    size_t length = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    }
    // Take as many bytes as still form a valid prefix; a complete sequence
    // is copied, an incomplete one becomes one U+FFFD.
    size_t taken = 1;
    while (length > 0 && taken < length && i + taken < bytes.size()) {
      const uint8_t next = static_cast<uint8_t>(bytes[i + taken]);
      if (next < lo || next > hi) break;
      lo = 0x80;
      hi = 0xBF;
      ++taken;
    }
    if (length > 0 && taken == length) {
      out.append(bytes.data() + i, length);
    } else {
      out.append(kReplacement, 3);
    }
    i += taken;
  }
  return out;
}

size_t Utf8TruncationPoint(absl::string_view bytes, size_t max_bytes) {
  if (bytes.size() <= max_bytes) return bytes.size();
  size_t cut = max_bytes;
  // Back up over continuation bytes to the start of the cut character.
  while (cut > 0 && (static_cast<uint8_t>(bytes[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace chatd
