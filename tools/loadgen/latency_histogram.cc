#include "tools/loadgen/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace chatd::loadgen {
namespace {

constexpr uint64_t kMaxValue = (uint64_t{1} << 62) - 1;

int FloorLog2(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

LatencyHistogram::LatencyHistogram()
    : counts_(new std::atomic<uint64_t>[kBucketCount]) {
  for (int i = 0; i < kBucketCount; ++i) {
    counts_[i].store(0, std::memory_order_relaxed);
  }
}

int LatencyHistogram::BucketOf(uint64_t value) {
  value = std::min(value, kMaxValue);
  if (value < 2 * kSubBuckets) return static_cast<int>(value);
  const int shift = FloorLog2(value) - kSubBucketBits;
  return (shift + 1) * kSubBuckets +
         static_cast<int>((value >> shift) - kSubBuckets);
}

uint64_t LatencyHistogram::BucketLow(int index) {
  if (index < 2 * kSubBuckets) return static_cast<uint64_t>(index);
  const int shift = index / kSubBuckets - 1;
  const uint64_t sub = static_cast<uint64_t>(index % kSubBuckets);
  return (kSubBuckets + sub) << shift;
}

uint64_t LatencyHistogram::BucketWidth(int index) {
  if (index < 2 * kSubBuckets) return 1;
  return uint64_t{1} << (index / kSubBuckets - 1);
}

void LatencyHistogram::Record(int64_t value_ns) {
  const uint64_t v = std::min(
      static_cast<uint64_t>(std::max<int64_t>(value_ns, 0)), kMaxValue);
  Bump(counts_[BucketOf(v)], 1);
  Bump(total_, 1);
  Bump(sum_, v);
  if (v > max_.load(std::memory_order_relaxed)) {
    max_.store(v, std::memory_order_relaxed);
  }
  if (v < min_.load(std::memory_order_relaxed)) {
    min_.store(v, std::memory_order_relaxed);
  }
}

void LatencyHistogram::AddTo(LatencySnapshot* out) const {
  uint64_t total = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    const uint64_t c = counts_[i].load(std::memory_order_relaxed);
    out->counts_[i] += c;
    total += c;
  }
  // The bucket sum, not total_, so a snapshot taken mid-write is consistent
  // with its own buckets.
  out->total_ += total;
  out->sum_ += sum_.load(std::memory_order_relaxed);
  out->max_ = std::max(out->max_, max_.load(std::memory_order_relaxed));
  out->min_ = std::min(out->min_, min_.load(std::memory_order_relaxed));
}

LatencySnapshot::LatencySnapshot()
    : counts_(new uint64_t[LatencyHistogram::kBucketCount]()) {}

void LatencySnapshot::Add(uint64_t value_ns) {
  const uint64_t v = std::min(value_ns, kMaxValue);
  ++counts_[LatencyHistogram::BucketOf(v)];
  ++total_;
  sum_ += v;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
}

void LatencySnapshot::Merge(const LatencySnapshot& other) {
  for (int i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    counts_[i] += other.counts_[i];
  }
  total_ += other.total_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

uint64_t LatencySnapshot::Percentile(double q) const {
  if (total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_))));
  uint64_t seen = 0;
  for (int i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = LatencyHistogram::BucketLow(i) +
                           (LatencyHistogram::BucketWidth(i) - 1) / 2;
      // Not std::clamp: a racy progress snapshot may see min > max.
      return std::min(std::max(mid, min()), max_);
    }
  }
  return max_;
}

}  // namespace chatd::loadgen
