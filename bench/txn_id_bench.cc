// Transaction ids ("txn_" + 26 Crockford base32 characters, ULID layout): the per-thread
// generator within one millisecond (increments the random part) and across milliseconds (fresh
// entropy each time), and the bare formatting.

#include <benchmark/benchmark.h>

#include "bench/alloc_counter.h"
#include "core/random.h"
#include "core/txn_id.h"

namespace paystream::core {
namespace {

constexpr uint64_t kUnixMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

TxnIdEntropy entropy_from(Xoshiro256& rng) {
  TxnIdEntropy e{};
  const uint64_t a = rng.next();
  const uint64_t b = rng.next();
  for (size_t i = 0; i < 8; ++i) e[i] = static_cast<uint8_t>(a >> (8 * i));
  e[8] = static_cast<uint8_t>(b);
  e[9] = static_cast<uint8_t>(b >> 8);
  return e;
}

// ms_step 0: every id in the same millisecond; 1: a new millisecond (fresh entropy) every id.
void BM_TxnIdNext(benchmark::State& state) {
  const uint64_t ms_step = static_cast<uint64_t>(state.range(0));
  Xoshiro256 rng(7);
  TxnIdGenerator generator;
  char out[kTxnIdLength];
  uint64_t now = kUnixMs;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    TxnIdEntropy fresh{};
    if (generator.needs_entropy(now)) fresh = entropy_from(rng);
    generator.next(now, fresh, out);
    benchmark::DoNotOptimize(out);
    now += ms_step;
  }
  meter.report(state);
}
BENCHMARK(BM_TxnIdNext)->ArgName("ms_step")->Arg(0)->Arg(1);

void BM_FormatTxnId(benchmark::State& state) {
  Xoshiro256 rng(7);
  const TxnIdEntropy entropy = entropy_from(rng);
  char out[kTxnIdLength];
  uint64_t now = kUnixMs;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    format_txn_id(now++, entropy, out);
    benchmark::DoNotOptimize(out);
  }
  meter.report(state);
}
BENCHMARK(BM_FormatTxnId);

}  // namespace
}  // namespace paystream::core
