#include "core/processor_dedupe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace paystream::core {
namespace {

using Outcome = ProcessorDedupe::Outcome;

RequestFingerprint fp(uint8_t n) {
  RequestFingerprint f{};
  f[0] = n;
  return f;
}

TEST(ProcessorDedupe, FirstExecutesThenPendingThenReplaysTheFirstAnswer) {
  ProcessorDedupe store({.ttl_ms = 1000, .max_keys = 100});
  std::string body;
  EXPECT_EQ(store.begin("k", fp(1), 0, body).outcome, Outcome::execute);
  EXPECT_EQ(store.begin("k", fp(1), 1, body).outcome, Outcome::pending);
  EXPECT_EQ(store.keys(), 1u);
  store.complete("k", 200, "first");
  store.complete("k", 200, "second");  // a key keeps its first answer
  const auto r = store.begin("k", fp(1), 2, body);
  EXPECT_EQ(r.outcome, Outcome::replay);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body, "first");
}

TEST(ProcessorDedupe, SameKeyDifferentRequestConflicts) {
  ProcessorDedupe store({.ttl_ms = 1000, .max_keys = 100});
  std::string body;
  EXPECT_EQ(store.begin("k", fp(1), 0, body).outcome, Outcome::execute);
  EXPECT_EQ(store.begin("k", fp(2), 0, body).outcome, Outcome::conflict);
  store.complete("k", 200, "a");
  EXPECT_EQ(store.begin("k", fp(2), 0, body).outcome, Outcome::conflict);
  EXPECT_EQ(store.begin("other", fp(2), 0, body).outcome, Outcome::execute);
}

TEST(ProcessorDedupe, AbandonedKeysAreDecidedAfresh) {
  ProcessorDedupe store({.ttl_ms = 1000, .max_keys = 100});
  std::string body;
  EXPECT_EQ(store.begin("k", fp(1), 0, body).outcome, Outcome::execute);
  store.abandon("k");
  EXPECT_EQ(store.keys(), 0u);
  EXPECT_EQ(store.begin("k", fp(2), 0, body).outcome, Outcome::execute);
  store.complete("k", 200, "a");
  store.abandon("k");  // an answered key stays
  EXPECT_EQ(store.begin("k", fp(2), 0, body).outcome, Outcome::replay);
}

TEST(ProcessorDedupe, KeysExpireAfterTheTtl) {
  ProcessorDedupe store({.ttl_ms = 1000, .max_keys = 100});
  std::string body;
  ASSERT_EQ(store.begin("k", fp(1), 5000, body).outcome, Outcome::execute);
  store.complete("k", 200, "a");
  EXPECT_EQ(store.begin("k", fp(2), 5999, body).outcome, Outcome::conflict);
  EXPECT_EQ(store.begin("k", fp(2), 6000, body).outcome, Outcome::execute);
  EXPECT_EQ(store.keys(), 1u);
  // Expired keys leave as new ones arrive, without counting as evictions.
  ASSERT_EQ(store.begin("a", fp(1), 6000, body).outcome, Outcome::execute);
  ASSERT_EQ(store.begin("b", fp(1), 7500, body).outcome, Outcome::execute);
  EXPECT_EQ(store.keys(), 1u);
  EXPECT_EQ(store.evictions(), 0u);
}

TEST(ProcessorDedupe, TheOldestKeyIsEvictedAtTheBound) {
  ProcessorDedupe store({.ttl_ms = 1'000'000, .max_keys = 3});
  ASSERT_EQ(store.shard_count(), 1u);
  std::string body;
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_EQ(store.begin(key, fp(1), 0, body).outcome, Outcome::execute);
    store.complete(key, 200, key);
  }
  store.abandon("zz");
  ASSERT_EQ(store.begin("d", fp(1), 1, body).outcome, Outcome::execute);
  EXPECT_EQ(store.keys(), 3u);
  EXPECT_EQ(store.evictions(), 1u);
  EXPECT_EQ(store.begin("a", fp(1), 2, body).outcome, Outcome::execute);  // "a" was evicted
  EXPECT_EQ(store.begin("c", fp(1), 2, body).outcome, Outcome::replay);
  EXPECT_EQ(body, "c");
  EXPECT_EQ(store.keys(), 3u);
}

TEST(ProcessorDedupe, LargeStoresAreShardedWithinTheBound) {
  ProcessorDedupe store({.ttl_ms = 1'000'000, .max_keys = 65'536});
  EXPECT_EQ(store.shard_count(), 64u);
  std::string body;
  for (int i = 0; i < 100'000; ++i) {
    store.begin("key-" + std::to_string(i), fp(1), 0, body);
  }
  EXPECT_LE(store.keys(), 65'536u);
  EXPECT_GT(store.keys(), 60'000u);
  EXPECT_EQ(store.evictions(), 100'000u - store.keys());
}

TEST(ProcessorDedupe, ConcurrentCallersExecuteEachKeyOnce) {
  ProcessorDedupe store({.ttl_ms = 1'000'000, .max_keys = 1'000'000});
  constexpr int kThreads = 4;
  constexpr int kKeys = 20'000;
  std::atomic<int> executed{0};
  std::atomic<int> mismatched{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::string body;
      for (int i = 0; i < kKeys; ++i) {
        const std::string key = "k" + std::to_string(i);
        const auto r = store.begin(key, fp(1), 0, body);
        if (r.outcome == Outcome::execute) {
          executed.fetch_add(1);
          store.complete(key, 200, key);
        } else if (r.outcome == Outcome::replay && body != key) {
          mismatched.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(executed.load(), kKeys);
  EXPECT_EQ(mismatched.load(), 0);
  EXPECT_EQ(store.keys(), static_cast<size_t>(kKeys));
}

TEST(ProcessorDedupe, FingerprintCoversEveryField) {
  ProcessorRequest a;
  a.transaction_id.fill('A');
  a.currency = find_currency("USD");
  a.amount_minor = 100;
  a.card.assign("4111111111111111");
  a.merchant.assign("Acme");
  const RequestFingerprint base = request_fingerprint(a);
  EXPECT_EQ(request_fingerprint(a), base);
  auto differs = [&](auto change) {
    ProcessorRequest b = a;
    change(b);
    return request_fingerprint(b) != base;
  };
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.transaction_id[5] = 'B'; }));
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.amount_minor = 101; }));
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.currency = find_currency("EUR"); }));
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.card.assign("5555555555554444"); }));
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.network = CardNetwork::mastercard; }));
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.merchant.assign("Acme2"); }));
  EXPECT_TRUE(differs([](ProcessorRequest& b) { b.merchant_id.assign("m"); }));
  // Field boundaries count: "ab"+"" differs from "a"+"b".
  ProcessorRequest c = a, d = a;
  c.merchant.assign("ab");
  d.merchant.assign("a");
  d.merchant_id.assign("b");
  EXPECT_NE(request_fingerprint(c), request_fingerprint(d));
}

}  // namespace
}  // namespace paystream::core
