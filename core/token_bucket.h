// TokenBucket limits a rate with bursts: it holds up to `burst` tokens,
// refilled at `rate_per_sec`, and each event takes one. Pure and
// single-threaded: one per session, owned by it; the caller passes the time.
#ifndef CHATD_CORE_TOKEN_BUCKET_H_
#define CHATD_CORE_TOKEN_BUCKET_H_

#include <cstdint>

#include "absl/time/time.h"

namespace chatd {

class TokenBucket {
 public:
  // A rate of 0 disables the limit: Take() always succeeds.
  TokenBucket(double rate_per_sec, double burst)
      : rate_per_sec_(static_cast<float>(rate_per_sec)),
        burst_(static_cast<float>(burst)),
        tokens_(burst) {}

  // Takes one token at time `now`; false (taking nothing) when none is left.
  bool Take(absl::Time now);

  // The earliest time at which Take() will succeed; in the past when a
  // token is there already. Callers that wait for it wait slightly past the
  // exact instant, so the refill is never a rounding error short.
  absl::Time NextTokenAt() const;

  bool unlimited() const { return rate_per_sec_ <= 0; }

 private:
  // One bucket per member: the limits as floats and the last refill as Unix
  // nanoseconds keep it at 24 bytes instead of 40. A float holds any
  // sensible rate or burst exactly enough; the running count stays double.
  static constexpr int64_t kNever = INT64_MIN;
  float rate_per_sec_;
  float burst_;
  double tokens_;
  int64_t last_ns_ = kNever;
};

}  // namespace chatd

#endif  // CHATD_CORE_TOKEN_BUCKET_H_
