#pragma once
// Per-reactor authorize metrics, Seastar-style: each reactor owns one MetricShard and is its only
// writer, with relaxed atomic loads and stores (no read-modify-write, no lock). Scrapes on other
// threads read every shard and sum them (merge_shards).
//
// A shard holds, per (status, processor): a histogram of request durations (the series' request
// counter is the sum of its buckets, so counter and histogram _count always agree), and, over all
// series, a 60-second sliding window of approved/declined counts and duration buckets for /health.
//
// Clocks: now_ms is a monotonic millisecond clock with the same origin on every thread
// (uv_now(), or uv_hrtime() / 1e6).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/card.h"

namespace paystream::core {

enum class AuthStatus : uint8_t {
  approved,
  declined,
  rejected,  // circuit breaker open, or half-open with every probe slot taken (503)
  error,     // processor error (502) or timeout (504)
  invalid,   // the request was refused with a 4xx
};
inline constexpr size_t kAuthStatusCount = 5;

enum class ProcessorLabel : uint8_t { visa, mastercard, amex, discover, unknown };
inline constexpr size_t kProcessorLabelCount = 5;

// The metric label values: "approved", ... and "visa", ..., "unknown".
std::string_view auth_status_name(AuthStatus status);
std::string_view processor_label_name(ProcessorLabel processor);
ProcessorLabel processor_label(CardNetwork network);

inline constexpr size_t kAuthSeriesCount = kAuthStatusCount * kProcessorLabelCount;

// What an authorize request with an Idempotency-Key got from the store.
enum class IdempotencyResult : uint8_t {
  new_key,      // claimed: executed
  replayed,     // the stored answer sent again
  in_use,       // 409: the first is in flight
  reused,       // 422: another request's key
  unknown,      // 409: the first never completed
  store_error,  // 503: the store did not answer
};
inline constexpr size_t kIdempotencyResultCount = 6;
// "new", "replayed", "in_use", "reused", "unknown", "store_error".
std::string_view idempotency_result_name(IdempotencyResult result);

// How a call to the processor over HTTP (PROCESSOR_MODE=http) ended.
enum class ProcessorCallResult : uint8_t {
  answered,  // approved or declined by the contract
  invalid,   // an answer outside the contract (a 5xx included): 502
  timeout,   // no answer by the deadline: 504
  failed,    // connect failure, close, reset, malformed or oversized: 502
  busy,      // never sent, every connection busy and the queue full: 503
};
inline constexpr size_t kProcessorCallResultCount = 5;
// "answered", "invalid", "timeout", "failed", "busy".
std::string_view processor_call_result_name(ProcessorCallResult result);

// The idempotency store's operations (core/authorize_pipeline.h, StoreCall).
enum class StoreOp : uint8_t { claim, complete, release };
inline constexpr size_t kStoreOpCount = 3;
std::string_view store_op_name(StoreOp op);  // "claim", "complete", "release"

// Store operation durations, in microseconds: an in-process store answers in about one, Redis
// on the same node in tens to hundreds, across zones in a millisecond or more.
inline constexpr std::array<uint32_t, 12> kStoreBucketBoundsUs = {
    5, 25, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 250000};
inline constexpr size_t kStoreBucketCount = kStoreBucketBoundsUs.size() + 1;
using StoreBuckets = std::array<uint64_t, kStoreBucketCount>;
struct StoreOpTotals {
  StoreBuckets buckets{};
  uint64_t sum_us = 0;
};

constexpr size_t auth_series_index(AuthStatus status, ProcessorLabel processor) {
  return static_cast<size_t>(status) * kProcessorLabelCount + static_cast<size_t>(processor);
}

// Upper bounds of auth_request_duration_seconds' finite buckets, in microseconds: fine below
// 10 ms (the service's own overhead), 25 ms steps from 0.15 to 0.35 s (the simulated processor's
// 200 ± 50 ms), then 0.5, 1, 2.5, 5 and 10 s. A last bucket (+Inf) follows.
inline constexpr std::array<uint32_t, 23> kDurationBucketBoundsUs = {
    500,    1000,   2500,   5000,    7500,    10000,   25000,   50000,
    100000, 150000, 175000, 200000,  225000,  250000,  275000,  300000,
    325000, 350000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr size_t kDurationBucketCount = kDurationBucketBoundsUs.size() + 1;

// Per-bucket (not cumulative) counts; the last one is +Inf.
using DurationBuckets = std::array<uint64_t, kDurationBucketCount>;

// The bucket a duration falls in: the first whose bound is >= duration (Prometheus `le`).
size_t duration_bucket_index(uint64_t duration_us);
// The bucket's upper bound in seconds; +infinity for the last.
double duration_bucket_upper_bound_seconds(size_t index);

struct SeriesTotals {
  DurationBuckets buckets{};
  uint64_t sum_us = 0;

  uint64_t count() const;
};

// Every shard summed at one instant.
struct MergedMetrics {
  std::array<SeriesTotals, kAuthSeriesCount> series{};
  // Over the last 60 s (the current second included), all series together.
  uint64_t window_approved = 0;
  uint64_t window_declined = 0;
  DurationBuckets window_buckets{};
  std::array<uint64_t, kIdempotencyResultCount> idempotency{};
  std::array<StoreOpTotals, kStoreOpCount> store_ops{};
  std::array<uint64_t, kProcessorCallResultCount> processor_calls{};
  SeriesTotals processor_upstream;  // answers' upstream time (request written -> answer read)

  const SeriesTotals& at(AuthStatus status, ProcessorLabel processor) const {
    return series[auth_series_index(status, processor)];
  }
};

// 12,352 bytes, 64-byte aligned: 25 series of 24 buckets and a sum (5,000 bytes), 60 window
// slots of 112 bytes, the idempotency counts and store histograms (384 bytes), and the
// processor call counts and upstream histogram (240 bytes). One record() touches at most four
// cache lines.
class alignas(64) MetricShard {
 public:
  static constexpr size_t kWindowSeconds = 60;

  MetricShard() = default;
  MetricShard(const MetricShard&) = delete;
  MetricShard& operator=(const MetricShard&) = delete;

  // Writer side: only the owning reactor's thread. duration_us runs from request complete to
  // response written.
  void record(AuthStatus status, ProcessorLabel processor, uint64_t duration_us, uint64_t now_ms);
  void record_idempotency(IdempotencyResult result);
  void record_store(StoreOp op, uint64_t duration_us);
  // upstream_us: 0 when unknown (not sent, or no byte written); such calls are only counted.
  void record_processor_call(ProcessorCallResult result, uint64_t upstream_us);

  // Reader side, any thread: adds this shard's totals, and its window as of now_ms, to `into`.
  void add_to(MergedMetrics& into, uint64_t now_ms) const;

 private:
  struct Series {
    std::array<std::atomic<uint64_t>, kDurationBucketCount> buckets{};
    std::atomic<uint64_t> sum_us{0};
  };

  // One second of the window. `stamp` is the second + 1 (0: being reset or never used). Counts
  // are stored with release and loaded with acquire, so a reader that sees any count of a newer
  // second also sees the stamp change, and drops the slot (a seqlock on the stamp).
  struct WindowSlot {
    std::atomic<uint64_t> stamp{0};
    std::atomic<uint32_t> approved{0};
    std::atomic<uint32_t> declined{0};
    std::array<std::atomic<uint32_t>, kDurationBucketCount> buckets{};
  };

  struct StoreSeries {
    std::array<std::atomic<uint64_t>, kStoreBucketCount> buckets{};
    std::atomic<uint64_t> sum_us{0};
  };

  WindowSlot& window_slot(uint64_t now_ms);

  std::array<Series, kAuthSeriesCount> series_;
  std::array<WindowSlot, kWindowSeconds> window_;
  std::array<std::atomic<uint64_t>, kIdempotencyResultCount> idempotency_{};
  std::array<StoreSeries, kStoreOpCount> store_{};
  std::array<std::atomic<uint64_t>, kProcessorCallResultCount> processor_calls_{};
  Series processor_upstream_;
};

// Sums the shards; the window counts slots of the 60 seconds up to now_ms.
MergedMetrics merge_shards(std::span<const MetricShard* const> shards, uint64_t now_ms);

// Like Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank,
// the lowest bucket starting at 0, a rank in +Inf answered with the highest finite bound.
// In seconds; 0 when there are no observations.
double duration_quantile_seconds(const DurationBuckets& buckets, double quantile);

// approved / (approved + declined) over the window; 1 when there were none.
double windowed_success_rate(const MergedMetrics& merged);
// The 95th percentile of every authorize request's duration over the window, in milliseconds.
double windowed_p95_ms(const MergedMetrics& merged);

}  // namespace paystream::core
