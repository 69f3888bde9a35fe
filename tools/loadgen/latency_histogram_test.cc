// Tests for LatencyHistogram and LatencySnapshot: bucket layout, exact
// small values, and percentiles within 1% of the exact order statistic.
#include "tools/loadgen/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace chatd::loadgen {
namespace {

// The exact value Percentile() approximates: the ceil(q*n)-th smallest.
uint64_t ExactPercentile(std::vector<uint64_t> values, double q) {
  std::sort(values.begin(), values.end());
  const size_t rank = std::max<size_t>(
      1,
      static_cast<size_t>(std::ceil(q * static_cast<double>(values.size()))));
  return values[rank - 1];
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGaps) {
  uint64_t expected_low = 0;
  for (int b = 0; b < LatencyHistogram::kBucketCount; ++b) {
    ASSERT_EQ(LatencyHistogram::BucketLow(b), expected_low) << "bucket " << b;
    expected_low += LatencyHistogram::BucketWidth(b);
  }
}

TEST(LatencyHistogramTest, EveryValueLandsInItsBucket) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 40 + 3);
    const int b = LatencyHistogram::BucketOf(v);
    ASSERT_LE(LatencyHistogram::BucketLow(b), v);
    ASSERT_LT(
        v, LatencyHistogram::BucketLow(b) + LatencyHistogram::BucketWidth(b));
    // Relative width is what bounds the error.
    if (v >= 512) {
      ASSERT_LE(static_cast<double>(LatencyHistogram::BucketWidth(b)) / v,
                1.0 / 256);
    }
  }
}

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencySnapshot s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.Percentile(0.5), 0u);
  EXPECT_EQ(s.max(), 0u);
  EXPECT_EQ(s.min(), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  LatencySnapshot s;
  h.AddTo(&s);
  EXPECT_EQ(s.count(), 100u);
  EXPECT_EQ(s.Percentile(0.5), 50u);
  EXPECT_EQ(s.Percentile(0.99), 99u);
  EXPECT_EQ(s.Percentile(1.0), 100u);
  EXPECT_EQ(s.Percentile(0.0), 1u);
  EXPECT_EQ(s.max(), 100u);
  EXPECT_DOUBLE_EQ(s.MeanNs(), 50.5);
}

TEST(LatencyHistogramTest, NegativeIsRecordedAsZero) {
  LatencyHistogram h;
  h.Record(-5);
  LatencySnapshot s;
  h.AddTo(&s);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(s.max(), 0u);
}

TEST(LatencyHistogramTest, PercentilesWithinOnePercentOnWideDistribution) {
  // Log-uniform from 1 us to 10 s, plus a heavy tail: a shape like real
  // delivery latencies under overload.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(3, 10);
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = static_cast<uint64_t>(std::pow(10.0, exponent(rng)));
    values.push_back(v);
    h.Record(static_cast<int64_t>(v));
  }
  LatencySnapshot s;
  h.AddTo(&s);
  for (double q : {0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const double exact = static_cast<double>(ExactPercentile(values, q));
    const double got = static_cast<double>(s.Percentile(q));
    EXPECT_NEAR(got, exact, exact * 0.01) << "q=" << q;
  }
  EXPECT_EQ(s.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(s.Percentile(1.0), s.max());
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a;
  LatencyHistogram b;
  LatencySnapshot both;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const int64_t v = static_cast<int64_t>(rng() % 5000000);
    (i % 2 == 0 ? a : b).Record(v);
    both.Add(static_cast<uint64_t>(v));
  }
  LatencySnapshot sa;
  LatencySnapshot sb;
  a.AddTo(&sa);
  b.AddTo(&sb);
  sa.Merge(sb);
  EXPECT_EQ(sa.count(), both.count());
  EXPECT_EQ(sa.max(), both.max());
  EXPECT_EQ(sa.min(), both.min());
  for (double q : {0.1, 0.5, 0.9, 0.99}) {
    EXPECT_EQ(sa.Percentile(q), both.Percentile(q)) << "q=" << q;
  }
}

TEST(LatencyHistogramTest, HugeValuesAreClampedNotLost) {
  LatencyHistogram h;
  h.Record(INT64_MAX);
  LatencySnapshot s;
  h.AddTo(&s);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_GT(s.max(), uint64_t{1} << 61);
}

}  // namespace
}  // namespace chatd::loadgen
