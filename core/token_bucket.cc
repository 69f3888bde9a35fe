#include "core/token_bucket.h"

#include <algorithm>

namespace chatd {

bool TokenBucket::Take(absl::Time now) {
  if (unlimited()) return true;
  if (last_ != absl::InfinitePast() && now > last_) {
    tokens_ = std::min(
        burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_per_sec_);
  }
  if (last_ == absl::InfinitePast() || now > last_) last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

absl::Time TokenBucket::NextTokenAt() const {
  if (unlimited() || tokens_ >= 1 || last_ == absl::InfinitePast()) {
    return absl::InfinitePast();
  }
  return last_ + absl::Seconds((1 - tokens_) / rate_per_sec_) +
         absl::Microseconds(1);
}

}  // namespace chatd
