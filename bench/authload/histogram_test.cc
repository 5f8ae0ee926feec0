#include "bench/authload/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/random.h"

namespace paystream::bench {
namespace {

constexpr double kPercentiles[] = {1, 10, 50, 90, 99, 99.9, 99.99, 100};

// The exact percentile of a sample under the same definition the histogram uses.
uint64_t exact_percentile(std::vector<uint64_t> sorted, double percentile) {
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::ceil(percentile / 100.0 * static_cast<double>(sorted.size()) - 1e-7);
  const size_t index = static_cast<size_t>(std::max(1.0, rank)) - 1;
  return sorted[index];
}

void expect_within_one_percent(const std::vector<uint64_t>& values) {
  Histogram h;
  for (uint64_t v : values) h.record(v);
  ASSERT_EQ(h.count(), values.size());
  for (double p : kPercentiles) {
    const double exact = static_cast<double>(exact_percentile(values, p));
    const double got = static_cast<double>(h.value_at_percentile(p));
    EXPECT_LE(std::abs(got - exact), exact * 0.01) << "p" << p << " exact " << exact;
  }
}

TEST(Histogram, UniformWithinOnePercent) {
  core::Xoshiro256 rng(7);
  std::vector<uint64_t> values;
  for (int i = 0; i < 200'000; ++i) values.push_back(1'000 + rng.next_below(50'000'000));
  expect_within_one_percent(values);
}

TEST(Histogram, ExponentialWithinOnePercent) {
  core::Xoshiro256 rng(11);
  std::vector<uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    const double mean_ns = 2'000'000;  // 2 ms
    values.push_back(1'000 + static_cast<uint64_t>(-std::log(1.0 - rng.next_unit()) * mean_ns));
  }
  expect_within_one_percent(values);
}

TEST(Histogram, ConstantIsReportedExactly) {
  Histogram h;
  for (int i = 0; i < 1000; ++i) h.record(123'456'789);
  for (double p : kPercentiles) EXPECT_EQ(h.value_at_percentile(p), 123'456'789u);
  EXPECT_EQ(h.min_ns(), 123'456'789u);
  EXPECT_EQ(h.max_ns(), 123'456'789u);
  EXPECT_DOUBLE_EQ(h.mean_ns(), 123'456'789.0);
}

TEST(Histogram, TwoPointsSplitAtTheirShare) {
  Histogram h;
  for (int i = 0; i < 990; ++i) h.record(1'000);
  for (int i = 0; i < 10; ++i) h.record(100'000'000);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99)), 1e3, 10);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99.9)), 1e8, 1e6);
}

TEST(Histogram, BoundsOneMicrosecondAndSixtySeconds) {
  for (uint64_t v : {uint64_t{1'000}, uint64_t{1'001}, uint64_t{1'999}, uint64_t{59'999'999'999},
                     Histogram::kMaxValueNs}) {
    Histogram lone;
    lone.record(v);
    EXPECT_EQ(lone.value_at_percentile(50), v) << "a lone value is clamped to the exact min/max";
    Histogram mixed;
    mixed.record(1);
    mixed.record(v);
    mixed.record(Histogram::kMaxValueNs);
    const double got = static_cast<double>(mixed.value_at_percentile(50));
    EXPECT_LE(std::abs(got - static_cast<double>(v)), static_cast<double>(v) * 0.01) << v;
  }
  Histogram over;
  over.record(Histogram::kMaxValueNs * 10);
  EXPECT_EQ(over.max_ns(), Histogram::kMaxValueNs);
  EXPECT_EQ(over.value_at_percentile(100), Histogram::kMaxValueNs);
}

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.value_at_percentile(99), 0u);
  EXPECT_EQ(h.max_ns(), 0u);
  EXPECT_EQ(h.min_ns(), 0u);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  core::Xoshiro256 rng(3);
  Histogram all;
  Histogram parts[3];
  for (int i = 0; i < 30'000; ++i) {
    const uint64_t v = 500 + rng.next_below(5'000'000'000);
    all.record(v);
    parts[i % 3].record(v);
  }
  Histogram merged;
  for (const Histogram& part : parts) merged.merge(part);
  merged.merge(Histogram());
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min_ns(), all.min_ns());
  EXPECT_EQ(merged.max_ns(), all.max_ns());
  EXPECT_DOUBLE_EQ(merged.mean_ns(), all.mean_ns());
  for (double p : kPercentiles)
    EXPECT_EQ(merged.value_at_percentile(p), all.value_at_percentile(p));
  merged.clear();
  EXPECT_EQ(merged.count(), 0u);
  EXPECT_EQ(merged.value_at_percentile(50), 0u);
}

}  // namespace
}  // namespace paystream::bench
