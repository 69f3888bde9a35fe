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

TEST(TokenBucketTest, NextTokenAtIsWhenTakeSucceedsAgain) {
  const absl::Time t0 = absl::FromUnixSeconds(100);
  TokenBucket bucket(20, 2);            // A token every 50 ms.
  EXPECT_LT(bucket.NextTokenAt(), t0);  // Full before first use.
  ASSERT_TRUE(bucket.Take(t0));
  EXPECT_LT(bucket.NextTokenAt(), t0);  // One token left.
  ASSERT_TRUE(bucket.Take(t0));
  ASSERT_FALSE(bucket.Take(t0));
  const absl::Time next = bucket.NextTokenAt();
  EXPECT_GE(next, t0 + absl::Milliseconds(50));
  EXPECT_LT(next, t0 + absl::Milliseconds(51));
  EXPECT_FALSE(bucket.Take(next - absl::Milliseconds(1)));
  EXPECT_TRUE(bucket.Take(next));
  EXPECT_FALSE(bucket.Take(next));
  // Waiting for each token in turn paces takes at the rate, never faster.
  absl::Time now = next;
  for (int i = 0; i < 100; ++i) {
    now = bucket.NextTokenAt();
    ASSERT_TRUE(bucket.Take(now)) << i;
    ASSERT_FALSE(bucket.Take(now)) << i;
  }
  EXPECT_GE(now - next, absl::Milliseconds(100 * 50));
  EXPECT_LT(now - next, absl::Milliseconds(100 * 50 + 5));
}

TEST(TokenBucketTest, UnlimitedNeverWaits) {
  TokenBucket bucket(0, 0);
  EXPECT_EQ(bucket.NextTokenAt(), absl::InfinitePast());
}

}  // namespace
}  // namespace chatd
