// The embedded idempotency store (32 MiB, the default bound) at steady-state eviction:
// - ClaimComplete: per operation a new key is claimed and the key claimed kInFlight operations
//   earlier is completed (as in service, other requests run between a claim and its completion),
//   the store full of completed entries, so every claim evicts the oldest one (->ThreadRange: 1,
//   2, 4 threads on one store; with several threads the time is wall time over every thread's
//   operations together);
// - Replay: a claim of a completed key answered with its record, keys visited out of order
//   across the whole store (cache misses as in service).
// A run fails (not a timing) when an operation answers wrongly or anything is allocated.

#include <benchmark/benchmark.h>

#include <atomic>
#include <numeric>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "core/idempotency_store.h"
#include "core/random.h"

namespace paystream::core {
namespace {

constexpr size_t kStoreBytes = size_t{32} << 20;
constexpr uint64_t kTtlMs = 86'400'000;
constexpr uint64_t kNowMs = 1'000'000;
// The sizes of a claim record and of a completed record (status, request id, body, fingerprint).
const std::string kClaimValue(64, 'c');
const std::string kRecordValue(512, 'r');
constexpr uint64_t kInFlight = 256;  // claims a thread holds before completing them

StoreKey make_key(uint64_t id) {
  StoreKey key{};
  uint64_t seed = id;
  for (size_t i = 0; i < kStoreKeyBytes; i += 8) {
    const uint64_t word = splitmix64_next(seed);
    for (size_t b = 0; b < 8; ++b) key[i + b] = static_cast<uint8_t>(word >> (8 * b));
  }
  return key;
}

// Every thread of every run draws fresh keys from its own block of 2^32 ids.
uint64_t next_key_block() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1) << 32;
}

// Completes `count` new keys in `store`; their keys.
std::vector<StoreKey> fill(EmbeddedStore& store, size_t count) {
  const uint64_t block = next_key_block();
  std::vector<StoreKey> keys;
  keys.reserve(count);
  std::string existing;
  for (uint64_t i = 0; i < count; ++i) {
    const StoreKey key = make_key(block + i);
    store.claim(key, kClaimValue, kTtlMs, kNowMs, existing);
    store.complete(key, kClaimValue, kRecordValue, kTtlMs, kNowMs);
    keys.push_back(key);
  }
  return keys;
}

// One store for every thread and run of ClaimComplete, full from the start.
EmbeddedStore& full_store() {
  static EmbeddedStore* store = [] {
    auto* s = new EmbeddedStore(kStoreBytes);
    fill(*s, s->stats(kNowMs).capacity * 2);  // twice what fits: every shard is full
    return s;
  }();
  return *store;
}

void BM_IdempotencyStoreClaimComplete(benchmark::State& state) {
  EmbeddedStore& store = full_store();
  const uint64_t block = next_key_block();
  const uint64_t evictions_before = store.stats(kNowMs).evictions;
  std::string existing;
  existing.reserve(kMaxStoreValueBytes);
  std::vector<StoreKey> in_flight(kInFlight);
  uint64_t i = 0;
  uint64_t wrong = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    StoreKey& slot = in_flight[i % kInFlight];
    if (i >= kInFlight) {
      wrong += !store.complete(slot, kClaimValue, kRecordValue, kTtlMs, kNowMs);
    }
    slot = make_key(block + i++);
    wrong += store.claim(slot, kClaimValue, kTtlMs, kNowMs, existing) !=
             EmbeddedStore::ClaimResult::claimed;
  }
  const bench::AllocationCount used = meter.report(state);
  for (uint64_t j = i > kInFlight ? i - kInFlight : 0; j < i; ++j) {  // untimed: none left pinned
    store.complete(in_flight[j % kInFlight], kClaimValue, kRecordValue, kTtlMs, kNowMs);
  }
  if (wrong != 0) bench::fail_run(state, std::to_string(wrong) + " claims or completions failed");
  if (used.calls != 0) bench::fail_run(state, "the store allocated");
  if (state.thread_index() == 0 && store.stats(kNowMs).evictions == evictions_before) {
    bench::fail_run(state, "no eviction: the store was not full");
  }
}
BENCHMARK(BM_IdempotencyStoreClaimComplete)->ThreadRange(1, 4)->UseRealTime();

void BM_IdempotencyStoreReplay(benchmark::State& state) {
  EmbeddedStore store(kStoreBytes);
  // Three quarters full: no shard overflows, so every key is held.
  const std::vector<StoreKey> keys = fill(store, store.stats(kNowMs).capacity * 3 / 4);
  const size_t held = keys.size();
  if (store.stats(kNowMs).evictions != 0) bench::fail_run(state, "keys were evicted");
  std::string existing;
  existing.reserve(kMaxStoreValueBytes);
  // A stride coprime with the key count visits every key, far apart in memory.
  size_t stride = held / 2 + 1;
  while (std::gcd(stride, held) != 1) ++stride;
  size_t at = 0;
  uint64_t wrong = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const auto got = store.claim(keys[at], kClaimValue, kTtlMs, kNowMs, existing);
    wrong += got != EmbeddedStore::ClaimResult::exists || existing.size() != kRecordValue.size();
    at += stride;
    if (at >= held) at -= held;
  }
  const bench::AllocationCount used = meter.report(state);
  if (wrong != 0) bench::fail_run(state, std::to_string(wrong) + " replays were not found");
  if (used.calls != 0) bench::fail_run(state, "the store allocated");
}
BENCHMARK(BM_IdempotencyStoreReplay);

}  // namespace
}  // namespace paystream::core
