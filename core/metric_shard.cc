#include "core/metric_shard.h"

#include <algorithm>
#include <limits>

namespace paystream::core {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr auto kRelease = std::memory_order_release;
constexpr auto kAcquire = std::memory_order_acquire;

// Single-writer increments: a load and a store, never a locked read-modify-write.
void bump(std::atomic<uint64_t>& counter, uint64_t amount) {
  counter.store(counter.load(kRelaxed) + amount, kRelaxed);
}
void bump_released(std::atomic<uint32_t>& counter) {
  counter.store(counter.load(kRelaxed) + 1, kRelease);
}

uint64_t window_stamp(uint64_t now_ms) {
  return now_ms / 1000 + 1;
}

}  // namespace

std::string_view processor_call_result_name(ProcessorCallResult result) {
  switch (result) {
    case ProcessorCallResult::answered:
      return "answered";
    case ProcessorCallResult::invalid:
      return "invalid";
    case ProcessorCallResult::timeout:
      return "timeout";
    case ProcessorCallResult::failed:
      return "failed";
    case ProcessorCallResult::busy:
      return "busy";
  }
  return "";
}

std::string_view idempotency_result_name(IdempotencyResult result) {
  switch (result) {
    case IdempotencyResult::new_key:
      return "new";
    case IdempotencyResult::replayed:
      return "replayed";
    case IdempotencyResult::in_use:
      return "in_use";
    case IdempotencyResult::reused:
      return "reused";
    case IdempotencyResult::unknown:
      return "unknown";
    case IdempotencyResult::store_error:
      return "store_error";
  }
  return "";
}

std::string_view store_op_name(StoreOp op) {
  switch (op) {
    case StoreOp::claim:
      return "claim";
    case StoreOp::complete:
      return "complete";
    case StoreOp::release:
      return "release";
  }
  return "";
}

std::string_view auth_status_name(AuthStatus status) {
  switch (status) {
    case AuthStatus::approved:
      return "approved";
    case AuthStatus::declined:
      return "declined";
    case AuthStatus::rejected:
      return "rejected";
    case AuthStatus::error:
      return "error";
    case AuthStatus::invalid:
      return "invalid";
  }
  return "";
}

std::string_view processor_label_name(ProcessorLabel processor) {
  switch (processor) {
    case ProcessorLabel::visa:
      return "visa";
    case ProcessorLabel::mastercard:
      return "mastercard";
    case ProcessorLabel::amex:
      return "amex";
    case ProcessorLabel::discover:
      return "discover";
    case ProcessorLabel::unknown:
      return "unknown";
  }
  return "";
}

ProcessorLabel processor_label(CardNetwork network) {
  switch (network) {
    case CardNetwork::visa:
      return ProcessorLabel::visa;
    case CardNetwork::mastercard:
      return ProcessorLabel::mastercard;
    case CardNetwork::amex:
      return ProcessorLabel::amex;
    case CardNetwork::discover:
      return ProcessorLabel::discover;
  }
  return ProcessorLabel::unknown;
}

size_t duration_bucket_index(uint64_t duration_us) {
  // Branch-free: counts the bounds below the duration (the compiler vectorizes this).
  const uint64_t capped = std::min<uint64_t>(duration_us, std::numeric_limits<uint32_t>::max());
  const uint32_t duration = static_cast<uint32_t>(capped);
  size_t index = 0;
  for (uint32_t bound : kDurationBucketBoundsUs) index += duration > bound;
  return index;
}

double duration_bucket_upper_bound_seconds(size_t index) {
  if (index >= kDurationBucketBoundsUs.size()) return std::numeric_limits<double>::infinity();
  return kDurationBucketBoundsUs[index] / 1e6;
}

uint64_t SeriesTotals::count() const {
  uint64_t total = 0;
  for (uint64_t n : buckets) total += n;
  return total;
}

void MetricShard::record(AuthStatus status, ProcessorLabel processor, uint64_t duration_us,
                         uint64_t now_ms) {
  const size_t bucket = duration_bucket_index(duration_us);
  Series& series = series_[auth_series_index(status, processor)];
  bump(series.buckets[bucket], 1);
  bump(series.sum_us, duration_us);

  WindowSlot& slot = window_slot(now_ms);
  bump_released(slot.buckets[bucket]);
  if (status == AuthStatus::approved) bump_released(slot.approved);
  if (status == AuthStatus::declined) bump_released(slot.declined);
}

void MetricShard::record_idempotency(IdempotencyResult result) {
  bump(idempotency_[static_cast<size_t>(result)], 1);
}

void MetricShard::record_processor_call(ProcessorCallResult result, uint64_t upstream_us) {
  bump(processor_calls_[static_cast<size_t>(result)], 1);
  if (upstream_us == 0) return;
  bump(processor_upstream_.buckets[duration_bucket_index(upstream_us)], 1);
  bump(processor_upstream_.sum_us, upstream_us);
}

void MetricShard::record_store(StoreOp op, uint64_t duration_us) {
  size_t bucket = 0;
  while (bucket < kStoreBucketBoundsUs.size() && duration_us > kStoreBucketBoundsUs[bucket])
    ++bucket;
  StoreSeries& series = store_[static_cast<size_t>(op)];
  bump(series.buckets[bucket], 1);
  bump(series.sum_us, duration_us);
}

MetricShard::WindowSlot& MetricShard::window_slot(uint64_t now_ms) {
  const uint64_t stamp = window_stamp(now_ms);
  WindowSlot& slot = window_[stamp % kWindowSeconds];
  if (slot.stamp.load(kRelaxed) == stamp) return slot;
  // A new second: invalidate, zero (release: ordered after the invalidation), then publish.
  slot.stamp.store(0, kRelaxed);
  slot.approved.store(0, kRelease);
  slot.declined.store(0, kRelease);
  for (std::atomic<uint32_t>& count : slot.buckets) count.store(0, kRelease);
  slot.stamp.store(stamp, kRelease);
  return slot;
}

void MetricShard::add_to(MergedMetrics& into, uint64_t now_ms) const {
  for (size_t s = 0; s < kAuthSeriesCount; ++s) {
    const Series& series = series_[s];
    SeriesTotals& totals = into.series[s];
    for (size_t b = 0; b < kDurationBucketCount; ++b) {
      totals.buckets[b] += series.buckets[b].load(kRelaxed);
    }
    totals.sum_us += series.sum_us.load(kRelaxed);
  }

  for (size_t r = 0; r < kIdempotencyResultCount; ++r) {
    into.idempotency[r] += idempotency_[r].load(kRelaxed);
  }
  for (size_t op = 0; op < kStoreOpCount; ++op) {
    for (size_t b = 0; b < kStoreBucketCount; ++b) {
      into.store_ops[op].buckets[b] += store_[op].buckets[b].load(kRelaxed);
    }
    into.store_ops[op].sum_us += store_[op].sum_us.load(kRelaxed);
  }

  for (size_t r = 0; r < kProcessorCallResultCount; ++r) {
    into.processor_calls[r] += processor_calls_[r].load(kRelaxed);
  }
  for (size_t b = 0; b < kDurationBucketCount; ++b) {
    into.processor_upstream.buckets[b] += processor_upstream_.buckets[b].load(kRelaxed);
  }
  into.processor_upstream.sum_us += processor_upstream_.sum_us.load(kRelaxed);

  const uint64_t newest = window_stamp(now_ms);
  for (const WindowSlot& slot : window_) {
    const uint64_t stamp = slot.stamp.load(kAcquire);
    if (stamp == 0 || stamp > newest || newest - stamp >= kWindowSeconds) continue;
    const uint64_t approved = slot.approved.load(kAcquire);
    const uint64_t declined = slot.declined.load(kAcquire);
    DurationBuckets buckets;
    for (size_t b = 0; b < kDurationBucketCount; ++b) buckets[b] = slot.buckets[b].load(kAcquire);
    if (slot.stamp.load(kRelaxed) != stamp) continue;  // reset while we read: a newer second
    into.window_approved += approved;
    into.window_declined += declined;
    for (size_t b = 0; b < kDurationBucketCount; ++b) into.window_buckets[b] += buckets[b];
  }
}

MergedMetrics merge_shards(std::span<const MetricShard* const> shards, uint64_t now_ms) {
  MergedMetrics merged;
  for (const MetricShard* shard : shards) shard->add_to(merged, now_ms);
  return merged;
}

double duration_quantile_seconds(const DurationBuckets& buckets, double quantile) {
  uint64_t observations = 0;
  for (uint64_t n : buckets) observations += n;
  if (observations == 0) return 0;

  const double rank = quantile * static_cast<double>(observations);
  uint64_t below = 0;  // observations in the buckets before `b`
  for (size_t b = 0; b + 1 < kDurationBucketCount; ++b) {
    const uint64_t cumulative = below + buckets[b];
    if (static_cast<double>(cumulative) >= rank && buckets[b] > 0) {
      const double start = b == 0 ? 0.0 : duration_bucket_upper_bound_seconds(b - 1);
      const double end = duration_bucket_upper_bound_seconds(b);
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(buckets[b]);
      return start + (end - start) * within;
    }
    below = cumulative;
  }
  return duration_bucket_upper_bound_seconds(kDurationBucketCount - 2);
}

double windowed_success_rate(const MergedMetrics& merged) {
  const uint64_t decided = merged.window_approved + merged.window_declined;
  if (decided == 0) return 1.0;
  return static_cast<double>(merged.window_approved) / static_cast<double>(decided);
}

double windowed_p95_ms(const MergedMetrics& merged) {
  return duration_quantile_seconds(merged.window_buckets, 0.95) * 1000.0;
}

}  // namespace paystream::core
