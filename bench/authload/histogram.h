#pragma once
// Log-linear latency histogram in the spirit of HdrHistogram: every power-of-two range of
// nanoseconds is split into 128 equal buckets, so a reported value is within 0.4% of the
// recorded one (1% is promised) from 1 ns up to the 60 s ceiling. Mergeable; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace paystream::bench {

class Histogram {
 public:
  static constexpr uint64_t kMaxValueNs = 60'000'000'000;  // larger values are clamped

  Histogram();

  void record(uint64_t value_ns);
  void merge(const Histogram& other);
  void clear();

  uint64_t count() const { return count_; }
  uint64_t min_ns() const { return count_ == 0 ? 0 : min_; }
  uint64_t max_ns() const { return max_; }
  double mean_ns() const;
  // The value at `percentile` (0-100]: the smallest recorded value that at least that share of
  // values do not exceed, as its bucket's midpoint clamped to the exact min and max. 0 if empty.
  uint64_t value_at_percentile(double percentile) const;

 private:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;

  static size_t index_of(uint64_t value);
  static uint64_t bucket_low(size_t index);
  static uint64_t bucket_width(size_t index);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace paystream::bench
