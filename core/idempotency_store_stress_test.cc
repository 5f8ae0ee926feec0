// Several threads racing on the same keys of one EmbeddedStore: exactly one claim per key wins,
// a completion and a release of the same claim never both succeed, and pinned claims survive
// eviction under contention. Bounded (well under 2 s, also under ThreadSanitizer).

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "core/idempotency_store.h"
#include "core/random.h"

namespace paystream::core {
namespace {

using Claim = EmbeddedStore::ClaimResult;
constexpr int kThreads = 4;
constexpr uint64_t kTtl = 1'000'000;

StoreKey make_key(uint64_t n) {
  StoreKey key{};
  uint64_t seed = n;
  for (size_t i = 0; i < kStoreKeyBytes; i += 8) {
    const uint64_t word = splitmix64_next(seed);
    for (size_t b = 0; b < 8; ++b) key[i + b] = static_cast<uint8_t>(word >> (8 * b));
  }
  return key;
}

std::string claim_value(int thread, size_t key) {
  return "claim:t" + std::to_string(thread) + ":k" + std::to_string(key);
}

std::string record_value(int thread, size_t key) {
  return "record:t" + std::to_string(thread) + ":k" + std::to_string(key);
}

// Runs body(thread) on kThreads threads released together.
template <typename Body>
void race(Body body) {
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      body(t);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

TEST(StoreStress, ExactlyOneClaimWinsAndCompleteOrReleaseNotBoth) {
  constexpr size_t kKeys = 256;
  constexpr int kRounds = 12;
  EmbeddedStore store(EmbeddedStore::memory_for(256));  // 16384 slots: nothing is evicted
  uint64_t now = 1000;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<StoreKey> keys;
    for (size_t i = 0; i < kKeys; ++i) keys.push_back(make_key(round * kKeys + i));

    // Phase 1: every thread claims every key, in the same order (the most collisions).
    std::array<std::array<Claim, kKeys>, kThreads> results{};
    std::array<std::array<std::string, kKeys>, kThreads> seen;
    race([&](int t) {
      std::string existing;
      for (size_t i = 0; i < kKeys; ++i) {
        results[t][i] = store.claim(keys[i], claim_value(t, i), kTtl, now, existing);
        seen[t][i] = existing;
      }
    });
    std::array<int, kKeys> winner{};
    for (size_t i = 0; i < kKeys; ++i) {
      int wins = 0;
      for (int t = 0; t < kThreads; ++t) {
        if (results[t][i] == Claim::claimed) {
          ++wins;
          winner[i] = t;
        }
      }
      ASSERT_EQ(wins, 1) << "round " << round << " key " << i;
      for (int t = 0; t < kThreads; ++t) {
        if (t == winner[i]) continue;
        ASSERT_EQ(results[t][i], Claim::exists);
        ASSERT_EQ(seen[t][i], claim_value(winner[i], i));  // the winner's value, whole
      }
    }

    // Phase 2: the winner completes while the next thread releases the same claim; the two
    // others try to complete and release with their own (losing) claims.
    std::array<std::array<bool, kKeys>, kThreads> ok{};
    race([&](int t) {
      for (size_t i = 0; i < kKeys; ++i) {
        const int w = winner[i];
        if (t == w) {
          ok[t][i] = store.complete(keys[i], claim_value(w, i), record_value(w, i), kTtl, now);
        } else if (t == (w + 1) % kThreads) {
          ok[t][i] = store.release(keys[i], claim_value(w, i), now);
        } else {
          ok[t][i] = store.complete(keys[i], claim_value(t, i), record_value(t, i), kTtl, now) ||
                     store.release(keys[i], claim_value(t, i), now);
        }
      }
    });
    std::string existing;
    for (size_t i = 0; i < kKeys; ++i) {
      const int w = winner[i];
      const bool completed = ok[w][i];
      const bool released = ok[(w + 1) % kThreads][i];
      ASSERT_NE(completed, released) << "round " << round << " key " << i;
      ASSERT_FALSE(ok[(w + 2) % kThreads][i]);
      ASSERT_FALSE(ok[(w + 3) % kThreads][i]);
      const Claim after = store.claim(keys[i], "check", kTtl, now, existing);
      if (completed) {
        ASSERT_EQ(after, Claim::exists);
        ASSERT_EQ(existing, record_value(w, i));
      } else {
        ASSERT_EQ(after, Claim::claimed);
      }
    }
    ++now;
  }
  const auto stats = store.stats(now);
  EXPECT_EQ(stats.entries, kKeys * kRounds);
  EXPECT_EQ(stats.evictions, 0u);
}

// A small store under steady eviction: each thread claims keys from a shared pool and completes
// or releases what it claimed, while another thread reads stats. A thread's own claim is pinned,
// so its completion or release must always succeed however much is evicted meanwhile.
TEST(StoreStress, PinnedClaimsSurviveEvictionUnderContention) {
  EmbeddedStore store(EmbeddedStore::memory_for(4));  // 256 slots
  constexpr uint64_t kPool = 4096;
  constexpr int kOpsPerThread = 3000;
  std::atomic<uint64_t> clock{1000};
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> claimed{0};
  std::thread reader([&] {
    while (!done.load()) {
      const auto stats = store.stats(clock.load());
      if (stats.entries > stats.capacity || stats.pinned > stats.entries) failures.fetch_add(1);
      std::this_thread::yield();
    }
  });
  race([&](int t) {
    Xoshiro256 rng(static_cast<uint64_t>(t) + 77);
    std::string existing;
    for (int op = 0; op < kOpsPerThread; ++op) {
      const uint64_t now = clock.fetch_add(1);
      const size_t k = rng.next_below(kPool);
      const StoreKey key = make_key(1'000'000 + k);
      const std::string mine = claim_value(t, op);
      const Claim got = store.claim(key, mine, kTtl, now, existing);
      if (got == Claim::full) failures.fetch_add(1);  // at most 3 other claims are pinned
      if (got != Claim::claimed) continue;
      claimed.fetch_add(1);
      const bool ok = rng.next_below(4) == 0
                          ? store.release(key, mine, now)
                          : store.complete(key, mine, record_value(t, op), kTtl, now);
      if (!ok) failures.fetch_add(1);
    }
  });
  done.store(true);
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  const auto stats = store.stats(clock.load());
  EXPECT_EQ(stats.pinned, 0u);
  EXPECT_GT(stats.evictions, 500u);
  EXPECT_GT(claimed.load(), 2000u);
}

}  // namespace
}  // namespace paystream::core
