#include "core/token_bucket.h"

#include <algorithm>

namespace chatd {

bool TokenBucket::Take(absl::Time now) {
  if (unlimited()) return true;
  const int64_t now_ns = absl::ToUnixNanos(now);
  if (last_ns_ != kNever && now_ns > last_ns_) {
    tokens_ = std::min<double>(
        burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * 1e-9 *
                              rate_per_sec_);
  }
  if (last_ns_ == kNever || now_ns > last_ns_) last_ns_ = now_ns;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

absl::Time TokenBucket::NextTokenAt() const {
  if (unlimited() || tokens_ >= 1 || last_ns_ == kNever) {
    return absl::InfinitePast();
  }
  return absl::FromUnixNanos(last_ns_) +
         absl::Seconds((1 - tokens_) / rate_per_sec_) + absl::Microseconds(1);
}

}  // namespace chatd
