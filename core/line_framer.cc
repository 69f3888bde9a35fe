#include "core/line_framer.h"

namespace chatd {

absl::string_view LineFramer::StripCr(absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool LineFramer::Fits(absl::string_view line) const {
  return StripCr(line).size() <= max_line_bytes_;
}

bool LineFramer::CannotFit(absl::string_view unterminated) const {
  // The tail may still end in the "\r" of a "\r\n", which does not count.
  if (unterminated.size() <= max_line_bytes_) return false;
  if (unterminated.size() == max_line_bytes_ + 1) {
    return unterminated.back() != '\r';
  }
  return true;
}

void LineFramer::ReleaseBuffer() {
  // Keep a small buffer for the common split line; free a large one.
  constexpr size_t kKeepCapacity = 256;
  if (buffer_.capacity() > kKeepCapacity) {
    std::string().swap(buffer_);
  } else {
    buffer_.clear();
  }
}

}  // namespace chatd
