#include "core/metric_shard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

namespace paystream::core {
namespace {

constexpr uint64_t kStartMs = 1'000'000;

MergedMetrics merge_one(const MetricShard& shard, uint64_t now_ms) {
  const MetricShard* shards[] = {&shard};
  return merge_shards(shards, now_ms);
}

TEST(MetricShard, LabelNames) {
  EXPECT_EQ(auth_status_name(AuthStatus::approved), "approved");
  EXPECT_EQ(auth_status_name(AuthStatus::declined), "declined");
  EXPECT_EQ(auth_status_name(AuthStatus::rejected), "rejected");
  EXPECT_EQ(auth_status_name(AuthStatus::error), "error");
  EXPECT_EQ(auth_status_name(AuthStatus::invalid), "invalid");
  EXPECT_EQ(processor_label_name(ProcessorLabel::visa), "visa");
  EXPECT_EQ(processor_label_name(ProcessorLabel::mastercard), "mastercard");
  EXPECT_EQ(processor_label_name(ProcessorLabel::amex), "amex");
  EXPECT_EQ(processor_label_name(ProcessorLabel::discover), "discover");
  EXPECT_EQ(processor_label_name(ProcessorLabel::unknown), "unknown");
  EXPECT_EQ(processor_label(CardNetwork::amex), ProcessorLabel::amex);
  EXPECT_EQ(processor_label(CardNetwork::discover), ProcessorLabel::discover);
}

TEST(MetricShard, BucketBoundsMeetTheIssue) {
  auto has_bound = [](double seconds) {
    for (size_t i = 0; i + 1 < kDurationBucketCount; ++i) {
      if (duration_bucket_upper_bound_seconds(i) == seconds) return true;
    }
    return false;
  };
  for (double exact : {0.0005, 0.001, 0.01, 0.15, 0.25, 0.3, 0.35, 0.5, 2.5, 10.0}) {
    EXPECT_TRUE(has_bound(exact)) << exact;
  }
  for (size_t i = 1; i + 1 < kDurationBucketCount; ++i) {
    EXPECT_LT(kDurationBucketBoundsUs[i - 1], kDurationBucketBoundsUs[i]);
    if (kDurationBucketBoundsUs[i] > 150'000 && kDurationBucketBoundsUs[i] <= 350'000) {
      EXPECT_LE(kDurationBucketBoundsUs[i] - kDurationBucketBoundsUs[i - 1], 25'000u);
    }
  }
  EXPECT_TRUE(std::isinf(duration_bucket_upper_bound_seconds(kDurationBucketCount - 1)));
}

TEST(MetricShard, BucketIndexFollowsLessOrEqual) {
  EXPECT_EQ(duration_bucket_index(0), 0u);
  EXPECT_EQ(duration_bucket_index(500), 0u);
  EXPECT_EQ(duration_bucket_index(501), 1u);
  EXPECT_EQ(duration_bucket_index(250'000), 13u);
  EXPECT_EQ(duration_bucket_upper_bound_seconds(13), 0.25);
  EXPECT_EQ(duration_bucket_index(250'001), 14u);
  EXPECT_EQ(duration_bucket_index(10'000'000), kDurationBucketCount - 2);
  EXPECT_EQ(duration_bucket_index(10'000'001), kDurationBucketCount - 1);
  EXPECT_EQ(duration_bucket_index(UINT64_MAX), kDurationBucketCount - 1);
}

TEST(MetricShard, IsCacheFriendly) {
  EXPECT_EQ(sizeof(MetricShard), 12'352u);
  EXPECT_EQ(alignof(MetricShard), 64u);
}

TEST(MetricShard, RecordsPerStatusAndProcessor) {
  MetricShard shard;
  shard.record(AuthStatus::approved, ProcessorLabel::visa, 200'000, kStartMs);
  shard.record(AuthStatus::approved, ProcessorLabel::visa, 180'000, kStartMs);
  shard.record(AuthStatus::invalid, ProcessorLabel::unknown, 40, kStartMs);

  const MergedMetrics merged = merge_one(shard, kStartMs);
  const SeriesTotals& visa = merged.at(AuthStatus::approved, ProcessorLabel::visa);
  EXPECT_EQ(visa.count(), 2u);
  EXPECT_EQ(visa.sum_us, 380'000u);
  EXPECT_EQ(visa.buckets[duration_bucket_index(200'000)], 2u);  // (0.175, 0.2]
  EXPECT_EQ(merged.at(AuthStatus::invalid, ProcessorLabel::unknown).buckets[0], 1u);
  EXPECT_EQ(merged.at(AuthStatus::declined, ProcessorLabel::visa).count(), 0u);
  uint64_t total = 0;
  for (const SeriesTotals& series : merged.series) total += series.count();
  EXPECT_EQ(total, 3u);
}

TEST(MetricShard, MergeSumsShards) {
  MetricShard a;
  MetricShard b;
  a.record(AuthStatus::declined, ProcessorLabel::amex, 1'000, kStartMs);
  b.record(AuthStatus::declined, ProcessorLabel::amex, 3'000, kStartMs);
  b.record(AuthStatus::approved, ProcessorLabel::amex, 3'000, kStartMs);
  const std::vector<const MetricShard*> shards = {&a, &b};

  const MergedMetrics merged = merge_shards(shards, kStartMs);
  EXPECT_EQ(merged.at(AuthStatus::declined, ProcessorLabel::amex).count(), 2u);
  EXPECT_EQ(merged.at(AuthStatus::declined, ProcessorLabel::amex).sum_us, 4'000u);
  EXPECT_EQ(merged.window_approved, 1u);
  EXPECT_EQ(merged.window_declined, 2u);
  EXPECT_DOUBLE_EQ(windowed_success_rate(merged), 1.0 / 3.0);
}

TEST(MetricShard, IdleWindowReadsAsHealthy) {
  MetricShard shard;
  const MergedMetrics merged = merge_one(shard, kStartMs);
  EXPECT_EQ(windowed_success_rate(merged), 1.0);
  EXPECT_EQ(windowed_p95_ms(merged), 0.0);
}

TEST(MetricShard, WindowKeepsTheLastSixtySeconds) {
  MetricShard shard;
  shard.record(AuthStatus::approved, ProcessorLabel::visa, 1'000, kStartMs);
  shard.record(AuthStatus::declined, ProcessorLabel::visa, 1'000, kStartMs + 30'000);

  MergedMetrics merged = merge_one(shard, kStartMs + 59'999);
  EXPECT_EQ(merged.window_approved, 1u);
  EXPECT_EQ(merged.window_declined, 1u);

  merged = merge_one(shard, kStartMs + 60'000);  // the first second has left the window
  EXPECT_EQ(merged.window_approved, 0u);
  EXPECT_EQ(merged.window_declined, 1u);
  EXPECT_EQ(merged.at(AuthStatus::approved, ProcessorLabel::visa).count(), 1u);  // totals stay

  merged = merge_one(shard, kStartMs + 200'000);
  EXPECT_EQ(merged.window_declined, 0u);
  EXPECT_EQ(windowed_success_rate(merged), 1.0);
}

TEST(MetricShard, ReusedSlotStartsFromZero) {
  MetricShard shard;
  for (int i = 0; i < 5; ++i) shard.record(AuthStatus::approved, ProcessorLabel::visa, 1, kStartMs);
  // The same slot, 60 seconds later.
  shard.record(AuthStatus::declined, ProcessorLabel::visa, 1, kStartMs + 60'000);
  const MergedMetrics merged = merge_one(shard, kStartMs + 60'000);
  EXPECT_EQ(merged.window_approved, 0u);
  EXPECT_EQ(merged.window_declined, 1u);
  EXPECT_EQ(merged.window_buckets[0], 1u);
}

TEST(MetricShard, QuantileInterpolatesLikePrometheus) {
  DurationBuckets buckets{};
  // 100 observations in (0.175, 0.2]: rank 95 sits 95% into the bucket.
  buckets[duration_bucket_index(190'000)] = 100;
  EXPECT_NEAR(duration_quantile_seconds(buckets, 0.95), 0.175 + 0.025 * 0.95, 1e-12);

  // 90 in [0, 0.0005], 10 in (0.25, 0.275]: rank 95 is half-way into the second bucket.
  buckets = {};
  buckets[0] = 90;
  buckets[duration_bucket_index(260'000)] = 10;
  EXPECT_NEAR(duration_quantile_seconds(buckets, 0.95), 0.2625, 1e-12);
  EXPECT_NEAR(duration_quantile_seconds(buckets, 0.5), 0.0005 * 50 / 90, 1e-12);

  // A rank in +Inf is answered with the highest finite bound.
  buckets = {};
  buckets[kDurationBucketCount - 1] = 3;
  EXPECT_EQ(duration_quantile_seconds(buckets, 0.95), 10.0);
}

TEST(MetricShard, WindowedP95) {
  MetricShard shard;
  for (int i = 0; i < 100; ++i) {
    shard.record(AuthStatus::approved, ProcessorLabel::visa, 190'000, kStartMs + i * 100);
  }
  const MergedMetrics merged = merge_one(shard, kStartMs + 10'000);
  EXPECT_NEAR(windowed_p95_ms(merged), 198.75, 1e-9);
}

// One writer records while a reader merges: totals never go backwards and end exact.
// Run under ThreadSanitizer too.
TEST(MetricShard, ConcurrentReaderSeesMonotonicTotals) {
  constexpr int kRecords = 200'000;
  MetricShard shard;
  constexpr uint64_t kLastMs = kStartMs + kRecords - 1;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kRecords; ++i) {
      const AuthStatus status = i % 2 == 0 ? AuthStatus::approved : AuthStatus::declined;
      shard.record(status, ProcessorLabel::mastercard, static_cast<uint64_t>(i % 400'000),
                   kStartMs + static_cast<uint64_t>(i));  // 1 ms apart
    }
    done.store(true, std::memory_order_release);
  });

  uint64_t last_total = 0;
  while (!done.load(std::memory_order_acquire)) {
    const MergedMetrics merged = merge_one(shard, kLastMs);
    const uint64_t total = merged.at(AuthStatus::approved, ProcessorLabel::mastercard).count() +
                           merged.at(AuthStatus::declined, ProcessorLabel::mastercard).count();
    EXPECT_GE(total, last_total);
    // The window is read after the totals, so it may be ahead of them, but never holds more
    // than 60 seconds of records.
    EXPECT_LE(merged.window_approved + merged.window_declined, 60'000u);
    if (total < last_total) break;
    last_total = total;
  }
  writer.join();

  const MergedMetrics merged = merge_one(shard, kLastMs);
  EXPECT_EQ(merged.at(AuthStatus::approved, ProcessorLabel::mastercard).count(), kRecords / 2u);
  EXPECT_EQ(merged.at(AuthStatus::declined, ProcessorLabel::mastercard).count(), kRecords / 2u);
  EXPECT_EQ(merged.window_approved + merged.window_declined, 60'000u);
}

}  // namespace
}  // namespace paystream::core
