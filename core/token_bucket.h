// TokenBucket limits a rate with bursts: it holds up to `burst` tokens,
// refilled at `rate_per_sec`, and each event takes one. Pure and
// single-threaded: one per session, owned by it; the caller passes the time.
#ifndef CHATD_CORE_TOKEN_BUCKET_H_
#define CHATD_CORE_TOKEN_BUCKET_H_

#include "absl/time/time.h"

namespace chatd {

class TokenBucket {
 public:
  // A rate of 0 disables the limit: Take() always succeeds.
  TokenBucket(double rate_per_sec, double burst)
      : rate_per_sec_(rate_per_sec), burst_(burst), tokens_(burst) {}

  // Takes one token at time `now`; false (taking nothing) when none is left.
  bool Take(absl::Time now);

  // The earliest time at which Take() will succeed; in the past when a
  // token is there already. Callers that wait for it wait slightly past the
  // exact instant, so the refill is never a rounding error short.
  absl::Time NextTokenAt() const;

  bool unlimited() const { return rate_per_sec_ <= 0; }

 private:
  double rate_per_sec_;
  double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace chatd

#endif  // CHATD_CORE_TOKEN_BUCKET_H_
