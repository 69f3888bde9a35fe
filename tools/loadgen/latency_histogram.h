// LatencyHistogram records delivery latencies (nanoseconds) into HDR-style
// log-linear buckets: exact below 512 ns, then 256 buckets per power of two,
// so any reported percentile is within 0.2% of a recorded value (the bucket
// midpoint is reported, and never more than the exact maximum).
//
// Each reactor thread owns one and is its only writer; the controller thread
// may read it at any time for progress lines (counts are relaxed atomics, so
// such a snapshot is approximate but never torn) and merges all of them at
// the end. Fixed size (~115 KiB), no allocation after construction.
#ifndef CHATD_TOOLS_LOADGEN_LATENCY_HISTOGRAM_H_
#define CHATD_TOOLS_LOADGEN_LATENCY_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>

namespace chatd::loadgen {

// A plain (non-atomic) copy that can be merged and queried.
class LatencySnapshot;

class LatencyHistogram {
 public:
  // log2 of the buckets per power of two.
  static constexpr int kSubBucketBits = 8;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  // Values up to 2^62 ns; larger ones are clamped (and counted as the max).
  static constexpr int kBucketCount = (62 - kSubBucketBits + 1) * kSubBuckets;

  LatencyHistogram();
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Owner thread only. Negative values (clock skew cannot happen with one
  // monotonic clock, but a corrupt stamp can) are recorded as 0.
  void Record(int64_t value_ns);

  // Any thread: adds this histogram's current counts into `out`.
  void AddTo(LatencySnapshot* out) const;

  static int BucketOf(uint64_t value);
  // Smallest value in bucket `index`, and how many values it spans.
  static uint64_t BucketLow(int index);
  static uint64_t BucketWidth(int index);

 private:
  // Single writer: load+store instead of fetch_add keeps the hot path free
  // of locked instructions while readers still see whole values.
  static void Bump(std::atomic<uint64_t>& a, uint64_t by) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
};

class LatencySnapshot {
 public:
  LatencySnapshot();

  void Add(uint64_t value_ns);
  void Merge(const LatencySnapshot& other);

  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return total_ == 0 ? 0 : min_; }
  double MeanNs() const {
    return total_ == 0 ? 0 : static_cast<double>(sum_) / total_;
  }
  // The value at quantile `q` in [0, 1] (0 when empty): the midpoint of the
  // bucket holding the ceil(q * count)-th smallest value, clamped to
  // [min, max] so q=0 and q=1 are exact.
  uint64_t Percentile(double q) const;

 private:
  friend class LatencyHistogram;

  std::unique_ptr<uint64_t[]> counts_;
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_LATENCY_HISTOGRAM_H_
