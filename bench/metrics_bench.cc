// Metrics cost: recording one authorize request in a reactor's shard (the request path), and a
// whole /metrics scrape of 16 shards with every label combination populated (the admin thread).

#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <vector>

#include "bench/alloc_counter.h"
#include "core/metric_shard.h"
#include "core/metrics_collector.h"
#include "core/random.h"

namespace paystream {
namespace {

using core::AuthStatus;
using core::ProcessorLabel;

constexpr uint64_t kStartMs = 1'000'000;

struct Sample {
  AuthStatus status;
  ProcessorLabel processor;
  uint64_t duration_us;
};

// A realistic mix: mostly approved or declined around the simulated 200 ± 50 ms.
std::vector<Sample> samples(size_t count) {
  core::Xoshiro256 rng(42);
  std::vector<Sample> out;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t roll = rng.next_below(100);
    const AuthStatus status = roll < 88   ? AuthStatus::approved
                              : roll < 96 ? AuthStatus::declined
                              : roll < 98 ? AuthStatus::invalid
                                          : AuthStatus::error;
    out.push_back({status, static_cast<ProcessorLabel>(rng.next_below(4)),
                   150'000 + rng.next_below(100'000)});
  }
  return out;
}

void BM_ShardRecord(benchmark::State& state) {
  const std::vector<Sample> mix = samples(4096);
  auto shard = std::make_unique<core::MetricShard>();
  size_t i = 0;
  uint64_t now_ms = kStartMs;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const Sample& s = mix[i & 4095];
    shard->record(s.status, s.processor, s.duration_us, now_ms);
    ++i;
    now_ms += (i & 63) == 0;  // a new millisecond every 64 requests: slots turn over too
  }
  meter.report(state);
  benchmark::DoNotOptimize(shard.get());
  state.counters["shard_bytes"] = sizeof(core::MetricShard);
}
BENCHMARK(BM_ShardRecord);

void BM_Scrape16Shards(benchmark::State& state) {
  constexpr size_t kShards = 16;
  std::array<core::MetricShard, kShards> shards;
  core::HttpMetrics http;
  for (int code : {400, 401, 404, 405, 408, 413, 415, 417, 431, 500, 502, 503, 504, 505}) {
    http.errors_by_code.emplace_back(code, 1);
  }
  http.reactor_requests.assign(kShards, 1);
  core::ScrapeSources sources;
  for (size_t r = 0; r < kShards; ++r) {
    // Every (status, processor) series, several buckets each, and the window.
    for (size_t s = 0; s < core::kAuthStatusCount; ++s) {
      for (size_t p = 0; p < core::kProcessorLabelCount; ++p) {
        for (uint32_t bound : core::kDurationBucketBoundsUs) {
          shards[r].record(static_cast<AuthStatus>(s), static_cast<ProcessorLabel>(p), bound,
                           kStartMs + bound / 1000);
        }
      }
    }
    sources.shards.push_back(&shards[r]);
  }
  sources.now_ms = [] { return kStartMs + 30'000; };
  sources.http = [&http] { return http; };
  sources.breaker = [] { return core::BreakerMetrics{}; };
  sources.fault = [] { return core::FaultMetrics{}; };
  sources.build = {"1.4.2", "0123456789ab", "0.1.0"};
  const core::MetricsCollector collector(std::move(sources));

  size_t bytes = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const std::string text = core::render_metrics(collector);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  meter.report(state);
  state.counters["text_bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_Scrape16Shards)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace paystream
