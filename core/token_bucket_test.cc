#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(TokenBucketTest, AllowsTheBurstThenRefusesUntilRefilled) {
  TokenBucket bucket(/*rate_per_sec=*/2, /*burst=*/3);
  EXPECT_TRUE(bucket.Take(kStart));
  EXPECT_TRUE(bucket.Take(kStart));
  EXPECT_TRUE(bucket.Take(kStart));
  EXPECT_FALSE(bucket.Take(kStart));
  // Half a second buys one token at 2/s.
  EXPECT_FALSE(bucket.Take(kStart + absl::Milliseconds(400)));
  EXPECT_TRUE(bucket.Take(kStart + absl::Milliseconds(500)));
  EXPECT_FALSE(bucket.Take(kStart + absl::Milliseconds(500)));
}

TEST(TokenBucketTest, RefillIsCappedAtTheBurst) {
  TokenBucket bucket(10, 2);
  EXPECT_TRUE(bucket.Take(kStart));
  EXPECT_TRUE(bucket.Take(kStart));
  const absl::Time later = kStart + absl::Hours(1);
  EXPECT_TRUE(bucket.Take(later));
  EXPECT_TRUE(bucket.Take(later));
  EXPECT_FALSE(bucket.Take(later));
}

TEST(TokenBucketTest, SteadyRateBelowTheLimitIsNeverRefused) {
  TokenBucket bucket(10, 1);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(bucket.Take(kStart + absl::Milliseconds(100 * i))) << i;
  }
}

TEST(TokenBucketTest, ClockGoingBackwardsDoesNotMintTokens) {
  TokenBucket bucket(1, 1);
  EXPECT_TRUE(bucket.Take(kStart));
  EXPECT_FALSE(bucket.Take(kStart - absl::Seconds(10)));
  EXPECT_FALSE(bucket.Take(kStart));
}

TEST(TokenBucketTest, ZeroRateIsUnlimited) {
  TokenBucket bucket(0, 0);
  EXPECT_TRUE(bucket.unlimited());
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(bucket.Take(kStart));
}

}  // namespace
}  // namespace chatd
