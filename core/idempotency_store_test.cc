#include "core/idempotency_store.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/allocation_counter.h"
#include "core/random.h"

namespace paystream::core {
namespace {

// "c3": built by appending (GCC 12 at -O3 warns falsely on "c" + std::to_string(3)).
std::string numbered(const char* prefix, int i) {
  std::string text(prefix);
  text += std::to_string(i);
  return text;
}

using Claim = EmbeddedStore::ClaimResult;
constexpr uint64_t kTtl = 1000;

// A key of `shard` whose hash has `low` as its low 32 bits (the index position and tag); the
// other bytes come from `n`.
StoreKey key_in(size_t shard, uint64_t n, uint32_t low) {
  uint64_t seed = n;
  const uint64_t mixed = splitmix64_next(seed);
  const uint64_t hash = (uint64_t{shard} << 58) | (mixed & 0x03FF'FFFF'0000'0000) | low;
  StoreKey key{};
  for (size_t i = 0; i < 8; ++i) key[i] = static_cast<uint8_t>(hash >> (8 * i));
  for (size_t i = 8; i < kStoreKeyBytes; ++i) {
    key[i] = static_cast<uint8_t>(splitmix64_next(seed));
  }
  return key;
}

StoreKey key_in(size_t shard, uint64_t n) {
  uint64_t seed = n ^ 0xABCDEF;
  return key_in(shard, n, static_cast<uint32_t>(splitmix64_next(seed)));
}

// A store with `slots` slots in every shard.
EmbeddedStore store_with(size_t slots) {
  return EmbeddedStore(EmbeddedStore::memory_for(slots));
}

class Store : public ::testing::Test {
 protected:
  Store() : store_(store_with(4)) {}

  Claim claim(const StoreKey& key, std::string_view value, uint64_t now, uint64_t ttl = kTtl) {
    return store_.claim(key, value, ttl, now, existing_);
  }
  // The live value, without changing anything: claim with an oversized value would be full, so
  // this claims with a value and releases it again when the key was absent.
  std::string live(const StoreKey& key, uint64_t now) {
    std::string out;
    if (store_.claim(key, "probe", kTtl, now, out) == Claim::claimed) {
      EXPECT_TRUE(store_.release(key, "probe", now));
      return "<absent>";
    }
    return out;
  }

  EmbeddedStore store_;
  std::string existing_;
};

TEST_F(Store, ShardAndKeyHelpersAgree) {
  EXPECT_EQ(EmbeddedStore::shard_of(key_in(0, 1)), 0u);
  EXPECT_EQ(EmbeddedStore::shard_of(key_in(37, 1)), 37u);
  EXPECT_EQ(EmbeddedStore::shard_of(key_in(63, 9)), 63u);
  EXPECT_EQ(store_.shard_capacity(), 4u);
}

TEST_F(Store, ClaimStoresTheValueOnceAndReturnsTheLiveOne) {
  const StoreKey k = key_in(3, 1);
  existing_ = "stale";
  EXPECT_EQ(claim(k, "claim-a", 100), Claim::claimed);
  EXPECT_EQ(existing_, "");
  EXPECT_EQ(claim(k, "claim-b", 101), Claim::exists);
  EXPECT_EQ(existing_, "claim-a");
  const auto stats = store_.stats(101);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.pinned, 1u);
}

TEST_F(Store, CompleteReplacesOnlyTheExpectedValue) {
  const StoreKey k = key_in(3, 1);
  EXPECT_FALSE(store_.complete(k, "claim-a", "record", kTtl, 100));  // absent
  ASSERT_EQ(claim(k, "claim-a", 100), Claim::claimed);
  EXPECT_FALSE(store_.complete(k, "claim-b", "record", kTtl, 101));
  EXPECT_FALSE(store_.complete(k, "claim-", "record", kTtl, 101));  // a prefix is not equal
  EXPECT_FALSE(store_.complete(k, "claim-aa", "record", kTtl, 101));
  EXPECT_EQ(live(k, 101), "claim-a");
  EXPECT_TRUE(store_.complete(k, "claim-a", "record", kTtl, 102));
  EXPECT_EQ(live(k, 102), "record");
  EXPECT_FALSE(store_.complete(k, "claim-a", "other", kTtl, 103));  // the claim is gone
  EXPECT_EQ(live(k, 103), "record");
  const auto stats = store_.stats(103);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.pinned, 0u);
}

TEST_F(Store, ReleaseDeletesOnlyTheExpectedValue) {
  const StoreKey k = key_in(3, 1);
  EXPECT_FALSE(store_.release(k, "claim-a", 100));  // absent
  ASSERT_EQ(claim(k, "claim-a", 100), Claim::claimed);
  EXPECT_FALSE(store_.release(k, "claim-b", 101));
  EXPECT_EQ(live(k, 101), "claim-a");
  EXPECT_TRUE(store_.release(k, "claim-a", 101));
  EXPECT_EQ(store_.stats(101).entries, 0u);
  EXPECT_EQ(claim(k, "claim-c", 102), Claim::claimed);
  ASSERT_TRUE(store_.complete(k, "claim-c", "record", kTtl, 103));
  EXPECT_FALSE(store_.release(k, "claim-c", 104));  // completed: the claim is no longer there
  EXPECT_TRUE(store_.release(k, "record", 104));
  EXPECT_EQ(store_.stats(104).entries, 0u);
}

TEST_F(Store, AnEmptyValueIsAValue) {
  const StoreKey k = key_in(3, 1);
  ASSERT_EQ(claim(k, "", 100), Claim::claimed);
  existing_ = "x";
  EXPECT_EQ(claim(k, "y", 100), Claim::exists);
  EXPECT_EQ(existing_, "");
  EXPECT_FALSE(store_.release(k, "y", 100));
  EXPECT_TRUE(store_.complete(k, "", "", kTtl, 100));
  EXPECT_TRUE(store_.release(k, "", 100));
}

TEST_F(Store, KeysDifferingOnlyAfterTheHashAreDistinct) {
  StoreKey a = key_in(3, 1);
  StoreKey b = a;
  b[31] ^= 1;
  StoreKey c = a;
  c[8] ^= 0x80;
  EXPECT_EQ(claim(a, "a", 100), Claim::claimed);
  EXPECT_EQ(claim(b, "b", 100), Claim::claimed);
  EXPECT_EQ(claim(c, "c", 100), Claim::claimed);
  EXPECT_EQ(live(a, 100), "a");
  EXPECT_EQ(live(b, 100), "b");
  EXPECT_EQ(live(c, 100), "c");
  EXPECT_TRUE(store_.release(b, "b", 100));
  EXPECT_EQ(live(a, 100), "a");
  EXPECT_EQ(live(c, 100), "c");
}

TEST_F(Store, AClaimExpiresAtItsTtlAndIsThenAbsent) {
  const StoreKey k = key_in(3, 1);
  ASSERT_EQ(claim(k, "claim-a", 1000, 100), Claim::claimed);
  EXPECT_EQ(claim(k, "claim-b", 1099), Claim::exists);
  EXPECT_EQ(claim(k, "claim-b", 1100), Claim::claimed);  // expired: absent
  EXPECT_EQ(store_.stats(1100).expirations, 1u);
  EXPECT_EQ(store_.stats(1100).entries, 1u);
  EXPECT_EQ(live(k, 1100), "claim-b");
}

TEST_F(Store, LateCompleteAndReleaseOfAnExpiredClaimFail) {
  const StoreKey k = key_in(3, 1);
  ASSERT_EQ(claim(k, "claim-a", 1000, 100), Claim::claimed);
  EXPECT_FALSE(store_.complete(k, "claim-a", "record", kTtl, 1100));
  EXPECT_EQ(store_.stats(1100).entries, 0u);  // reclaimed by the lookup
  EXPECT_EQ(store_.stats(1100).expirations, 1u);
  ASSERT_EQ(claim(k, "claim-b", 2000, 100), Claim::claimed);
  EXPECT_FALSE(store_.release(k, "claim-b", 2100));
  EXPECT_EQ(store_.stats(2100).entries, 0u);
  EXPECT_EQ(store_.stats(2100).expirations, 2u);
}

TEST_F(Store, TheTtlCountsFromCompletionAndReplaysDoNotExtendIt) {
  const StoreKey k = key_in(3, 1);
  ASSERT_EQ(claim(k, "claim-a", 0, 1000), Claim::claimed);
  ASSERT_TRUE(store_.complete(k, "claim-a", "record", 1000, 900));
  EXPECT_EQ(claim(k, "claim-b", 1500), Claim::exists);  // past the claim's own expiry
  EXPECT_EQ(existing_, "record");
  EXPECT_EQ(claim(k, "claim-b", 1899), Claim::exists);
  EXPECT_EQ(claim(k, "claim-b", 1900), Claim::claimed);
}

TEST_F(Store, AZeroTtlExpiresAtOnceAndAHugeOneNeverOverflows) {
  const StoreKey k = key_in(3, 1);
  ASSERT_EQ(claim(k, "a", 100, 0), Claim::claimed);
  EXPECT_EQ(claim(k, "b", 100, ~uint64_t{0}), Claim::claimed);
  EXPECT_EQ(claim(k, "c", ~uint64_t{0} - 1), Claim::exists);
}

TEST_F(Store, ValuesUpToTheMaximumFitAndOneByteMoreIsRefused) {
  const StoreKey k = key_in(3, 1);
  const std::string max(kMaxStoreValueBytes, 'm');
  const std::string over(kMaxStoreValueBytes + 1, 'o');
  EXPECT_EQ(claim(k, over, 100), Claim::full);
  EXPECT_EQ(store_.stats(100).entries, 0u);
  ASSERT_EQ(claim(k, max, 100), Claim::claimed);
  EXPECT_EQ(claim(k, "x", 100), Claim::exists);
  EXPECT_EQ(existing_, max);
  EXPECT_FALSE(store_.complete(k, max, over, kTtl, 100));
  EXPECT_EQ(live(k, 100), max);
  EXPECT_EQ(store_.stats(100).pinned, 1u);
  std::string max2 = max;
  max2.back() = 'n';
  EXPECT_TRUE(store_.complete(k, max, max2, kTtl, 100));
  EXPECT_EQ(live(k, 100), max2);
}

TEST_F(Store, TheOldestCompletedEntryIsEvictedFirst) {
  std::vector<StoreKey> k;
  for (int i = 0; i < 8; ++i) k.push_back(key_in(5, i));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(claim(k[i], numbered("c", i), 10), Claim::claimed);
  // Completion order 2, 0, 1; 3 stays pinned.
  ASSERT_TRUE(store_.complete(k[2], "c2", "r2", kTtl, 20));
  ASSERT_TRUE(store_.complete(k[0], "c0", "r0", kTtl, 21));
  ASSERT_TRUE(store_.complete(k[1], "c1", "r1", kTtl, 22));

  EXPECT_EQ(claim(k[4], "c4", 30), Claim::claimed);  // evicts 2
  EXPECT_EQ(store_.stats(30).evictions, 1u);
  EXPECT_FALSE(store_.release(k[2], "r2", 30));
  EXPECT_EQ(claim(k[0], "x", 30), Claim::exists);
  EXPECT_EQ(claim(k[1], "x", 30), Claim::exists);

  EXPECT_EQ(claim(k[5], "c5", 31), Claim::claimed);  // evicts 0
  EXPECT_FALSE(store_.release(k[0], "r0", 31));
  EXPECT_EQ(claim(k[1], "x", 31), Claim::exists);
  EXPECT_EQ(claim(k[6], "c6", 32), Claim::claimed);  // evicts 1
  EXPECT_FALSE(store_.release(k[1], "r1", 32));
  EXPECT_EQ(store_.stats(32).evictions, 3u);

  // 3, 4, 5, 6 are pinned: nothing is evictable.
  EXPECT_EQ(claim(k[7], "c7", 33), Claim::full);
  for (int i = 3; i < 7; ++i) EXPECT_EQ(live(k[i], 33), numbered("c", i));
  EXPECT_EQ(store_.stats(33).evictions, 3u);
  EXPECT_EQ(store_.stats(33).pinned, 4u);
  // Other shards are not affected.
  EXPECT_EQ(claim(key_in(6, 1), "other", 33), Claim::claimed);
}

TEST_F(Store, AReCompletedEntryMovesToTheBackOfTheEvictionOrder) {
  std::vector<StoreKey> k;
  for (int i = 0; i < 5; ++i) k.push_back(key_in(5, i));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(claim(k[i], "c", 10), Claim::claimed);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_.complete(k[i], "c", "r", kTtl, 20 + i));
  ASSERT_TRUE(store_.complete(k[0], "r", "r0", kTtl, 30));  // 0 is now the newest
  EXPECT_EQ(claim(k[4], "c4", 31), Claim::claimed);         // evicts 1
  EXPECT_EQ(live(k[0], 31), "r0");
  EXPECT_EQ(live(k[1], 31), "<absent>");
}

TEST_F(Store, PinnedEntriesAreNeverEvictedAndAFullShardRefusesClaims) {
  std::vector<StoreKey> k;
  for (int i = 0; i < 5; ++i) k.push_back(key_in(9, i));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(claim(k[i], numbered("c", i), 10), Claim::claimed);
  EXPECT_EQ(claim(k[4], "c4", 11), Claim::full);
  EXPECT_EQ(existing_, "");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(claim(k[i], "x", 12), Claim::exists);
  ASSERT_TRUE(store_.release(k[1], "c1", 13));
  EXPECT_EQ(claim(k[4], "c4", 14), Claim::claimed);
  const auto stats = store_.stats(14);
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.entries, 4u);
  EXPECT_EQ(stats.pinned, 4u);
}

TEST_F(Store, ExpiredEntriesAreReclaimedBeforeAnyEviction) {
  std::vector<StoreKey> k;
  for (int i = 0; i < 8; ++i) k.push_back(key_in(7, i));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(claim(k[i], "c", 0), Claim::claimed);
  ASSERT_TRUE(store_.complete(k[0], "c", "r", 1000, 0));
  ASSERT_TRUE(store_.complete(k[1], "c", "r", 1000, 0));
  ASSERT_TRUE(store_.complete(k[2], "c", "r", 1000, 500));
  ASSERT_TRUE(store_.complete(k[3], "c", "r", 1000, 500));
  EXPECT_EQ(claim(k[4], "c", 1000), Claim::claimed);  // 0 and 1 have expired
  auto stats = store_.stats(1000);
  EXPECT_EQ(stats.expirations, 2u);
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.entries, 3u);
  EXPECT_EQ(claim(k[5], "c", 1000), Claim::claimed);  // the slot 1 left
  EXPECT_EQ(store_.stats(1000).evictions, 0u);
  EXPECT_EQ(claim(k[6], "c", 1000), Claim::claimed);  // evicts 2
  EXPECT_EQ(store_.stats(1000).evictions, 1u);
  EXPECT_EQ(live(k[3], 1000), "r");
}

TEST_F(Store, ExpiredClaimsAreReclaimedToo) {
  std::vector<StoreKey> k;
  for (int i = 0; i < 5; ++i) k.push_back(key_in(7, i));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(claim(k[i], "c", 0, 100), Claim::claimed);
  EXPECT_EQ(claim(k[4], "c", 99), Claim::full);
  EXPECT_EQ(claim(k[4], "c", 100), Claim::claimed);
  const auto stats = store_.stats(100);
  EXPECT_EQ(stats.expirations, 2u);
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.pinned, 3u);
}

TEST_F(Store, StatsReportTheOldestCompletedEntrysAge) {
  EXPECT_EQ(store_.stats(0).oldest_completed_age_ms, 0u);
  ASSERT_EQ(claim(key_in(1, 1), "c", 0), Claim::claimed);
  ASSERT_EQ(claim(key_in(2, 1), "c", 0), Claim::claimed);
  ASSERT_TRUE(store_.complete(key_in(1, 1), "c", "r", kTtl, 100));
  ASSERT_TRUE(store_.complete(key_in(2, 1), "c", "r", kTtl, 300));
  EXPECT_EQ(store_.stats(400).oldest_completed_age_ms, 300u);
  const auto stats = store_.stats(400);
  EXPECT_EQ(stats.capacity, 4 * kStoreShards);
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.pinned, 0u);
}

TEST(StoreCapacity, ComesFromMaxBytesAndStaysWithinIt) {
  for (const size_t max_bytes :
       {size_t{1} << 20, size_t{32} << 20, size_t{100'000'000}, EmbeddedStore::memory_for(7),
        EmbeddedStore::memory_for(7) - 1, EmbeddedStore::memory_for(1)}) {
    const EmbeddedStore store(max_bytes);
    const auto stats = store.stats(0);
    SCOPED_TRACE(max_bytes);
    EXPECT_GT(stats.capacity, 0u);
    EXPECT_EQ(stats.capacity, kStoreShards * store.shard_capacity());
    EXPECT_EQ(stats.memory_bytes, EmbeddedStore::memory_for(store.shard_capacity()));
    EXPECT_LE(stats.memory_bytes, max_bytes);
    EXPECT_GT(EmbeddedStore::memory_for(store.shard_capacity() + 1), max_bytes);  // the most
  }
  EXPECT_EQ(EmbeddedStore(EmbeddedStore::memory_for(7)).shard_capacity(), 7u);
  EXPECT_EQ(EmbeddedStore(EmbeddedStore::memory_for(7) - 1).shard_capacity(), 6u);
  // 32 MiB: at most 1 KiB per entry, slot and index together.
  const EmbeddedStore big(size_t{32} << 20);
  EXPECT_GT(big.stats(0).capacity, (size_t{32} << 20) / 1024);
}

TEST(StoreCapacity, TooSmallABoundHoldsNothing) {
  EmbeddedStore store(EmbeddedStore::memory_for(1) - 1);
  std::string existing;
  EXPECT_EQ(store.claim(key_in(0, 1), "c", kTtl, 0, existing), Claim::full);
  EXPECT_FALSE(store.complete(key_in(0, 1), "c", "r", kTtl, 0));
  EXPECT_FALSE(store.release(key_in(0, 1), "c", 0));
  const auto stats = store.stats(0);
  EXPECT_EQ(stats.capacity, 0u);
  EXPECT_EQ(stats.memory_bytes, 0u);
}

// Thousands of random operations on one crowded shard against a std::map model: keys whose index
// positions cluster at both ends of the table (probes wrap around), pairs of keys with the same
// hash, claims, completions, releases and expiry. As many keys as slots, so nothing is evicted
// and the model is exact; the index's backward-shift deletion is what is under test.
void run_against_model(size_t keys_count, uint64_t seed) {
  constexpr size_t kShard = 11;
  constexpr size_t kSlots = 64;  // index of 128 positions
  EmbeddedStore store = store_with(kSlots);
  ASSERT_LE(keys_count, kSlots);
  std::vector<StoreKey> keys;
  for (size_t i = 0; i < keys_count; ++i) {
    const size_t hash_id = i / 2;  // two keys per hash
    const auto low = static_cast<uint32_t>(hash_id % 2 == 0 ? (hash_id / 2) % 8
                                                            : 0xFFFF'FFF8u + (hash_id / 2) % 8);
    StoreKey key = key_in(kShard, hash_id, low);
    key[31] = static_cast<uint8_t>(i % 2);
    keys.push_back(key);
  }
  struct Entry {
    std::string value;
    uint64_t expires_at = 0;
  };
  std::map<size_t, Entry> model;
  Xoshiro256 rng(seed);
  uint64_t now = 1000;
  std::string existing;
  const auto random_value = [&rng](uint64_t op) {
    std::string v = std::to_string(op) + ":";
    v.resize(rng.next_below(4) == 0 ? kMaxStoreValueBytes : v.size() + rng.next_below(40), 'v');
    return v;
  };
  const auto live = [&](size_t k) -> Entry* {
    const auto it = model.find(k);
    if (it == model.end()) return nullptr;
    if (now >= it->second.expires_at) {
      model.erase(it);
      return nullptr;
    }
    return &it->second;
  };
  int claimed = 0, completed = 0, released = 0;
  for (uint64_t op = 0; op < 20000; ++op) {
    now += rng.next_below(8);
    const size_t k = rng.next_below(keys_count);
    const uint64_t ttl = 1 + rng.next_below(400);
    Entry* entry = live(k);
    // The expected value: the live one half of the time (when there is one), else another.
    const std::string expected =
        entry != nullptr && rng.next_below(2) == 0 ? entry->value : random_value(op);
    const std::string value = random_value(op + 1'000'000);
    SCOPED_TRACE("op " + std::to_string(op) + " key " + std::to_string(k));
    switch (rng.next_below(3)) {
      case 0: {
        const Claim got = store.claim(keys[k], value, ttl, now, existing);
        if (entry != nullptr) {
          ASSERT_EQ(got, Claim::exists);
          ASSERT_EQ(existing, entry->value);
        } else {
          ASSERT_EQ(got, Claim::claimed);
          model[k] = Entry{value, now + ttl};
          ++claimed;
        }
        break;
      }
      case 1: {
        const bool want = entry != nullptr && entry->value == expected;
        ASSERT_EQ(store.complete(keys[k], expected, value, ttl, now), want);
        if (want) {
          *entry = Entry{value, now + ttl};
          ++completed;
        }
        break;
      }
      default: {
        const bool want = entry != nullptr && entry->value == expected;
        ASSERT_EQ(store.release(keys[k], expected, now), want);
        if (want) {
          model.erase(k);
          ++released;
        }
        break;
      }
    }
  }
  // Every operation kind happened many times.
  EXPECT_GT(claimed, 1000);
  EXPECT_GT(completed, 500);
  EXPECT_GT(released, 500);
  // Finally every key agrees with the model.
  for (size_t k = 0; k < keys_count; ++k) {
    Entry* entry = live(k);
    const Claim got = store.claim(keys[k], "final", kTtl, now, existing);
    if (entry != nullptr) {
      EXPECT_EQ(got, Claim::exists) << k;
      EXPECT_EQ(existing, entry->value) << k;
    } else {
      EXPECT_EQ(got, Claim::claimed) << k;
    }
  }
  const auto stats = store.stats(now);
  EXPECT_EQ(stats.entries, keys_count);
  EXPECT_EQ(stats.evictions, 0u);
}

TEST(StoreIndex, AgreesWithAModelOverManyInsertsAndDeletes) {
  run_against_model(48, 15);
}

TEST(StoreIndex, AgreesWithAModelWithAsManyKeysAsSlots) {
  run_against_model(64, 1515);
}

TEST(StoreAllocation, NothingIsAllocatedOnceWarm) {
  EmbeddedStore store = store_with(8);
  std::string existing;
  existing.reserve(kMaxStoreValueBytes);
  const std::string claim_value(40, 'c');
  const std::string record(kMaxStoreValueBytes, 'r');
  const auto round = [&](uint64_t i) {
    const StoreKey k = key_in(i % kStoreShards, i);
    const uint64_t now = 1000 + i;
    EXPECT_EQ(store.claim(k, claim_value, kTtl, now, existing), Claim::claimed);
    EXPECT_EQ(store.claim(k, claim_value, kTtl, now, existing), Claim::exists);
    EXPECT_TRUE(store.complete(k, claim_value, record, kTtl, now));
    EXPECT_EQ(store.claim(k, claim_value, kTtl, now, existing), Claim::exists);
    EXPECT_EQ(existing.size(), record.size());
    if (i % 3 == 0) {
      EXPECT_TRUE(store.release(k, record, now));
    }
  };
  for (uint64_t i = 0; i < 2000; ++i) round(i);  // fills every shard: later claims evict
  base::test_support::AllocationCounter counter;
  for (uint64_t i = 2000; i < 4000; ++i) round(i);
  const auto stats = store.stats(5000);
  EXPECT_EQ(counter.count(), 0);
  EXPECT_GT(stats.evictions, 1000u);
}

}  // namespace
}  // namespace paystream::core
