#include "bench/authload/key_tracker.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace paystream::bench {
namespace {

const std::string kApproved = R"({"transaction_id":"txn_A","status":"approved"})";
const std::string kOther = R"({"transaction_id":"txn_B","status":"approved"})";
const std::string kInUse = R"({"error":"idempotency_key_in_use","message":"x"})";
const std::string kReused = R"({"error":"idempotency_key_reused","message":"x"})";

HttpResponse answer(int status, const std::string& body, bool replayed = false) {
  HttpResponse r;
  r.status = status;
  r.body = body;
  r.replayed = replayed;
  return r;
}

KeyTrackerConfig config(size_t capacity = 64) {
  KeyTrackerConfig c;
  c.capacity = capacity;
  c.conflict_offset = 1000;
  return c;
}

// An original for request `number`, answered with `status` and `body`.
KeyedRef answered_original(KeyTracker& t, uint64_t number, uint32_t pool, int status,
                           const std::string& body) {
  const KeyedChoice c = t.choose(number, pool, true, KeyRole::original);
  t.on_response(c.ref, answer(status, body), true, true);
  return c.ref;
}

TEST(KeyTracker, OriginalsGetTheirRequestNumberAsKey) {
  KeyTracker t(config());
  const KeyedChoice c = t.choose(17, 5, true, KeyRole::original);
  EXPECT_EQ(c.ref.role, KeyRole::original);
  EXPECT_EQ(c.ref.key, 17u);
  EXPECT_EQ(c.pool_index, 5u);
  EXPECT_EQ(t.stats().keyed, 1u);
  EXPECT_EQ(t.stats().originals, 1u);
}

TEST(KeyTracker, KeysAreUniqueAcrossThreads) {
  // Each thread takes the global numbers i with i mod 3 == its index, as LoadWorker does.
  std::set<uint64_t> keys;
  for (uint64_t thread = 0; thread < 3; ++thread) {
    KeyTracker t(config());
    for (uint64_t local = 0; local < 500; ++local) {
      keys.insert(t.choose(local * 3 + thread, 0, true, KeyRole::original).ref.key);
    }
  }
  EXPECT_EQ(keys.size(), 1500u);
}

TEST(KeyTracker, SequentialDuplicateReusesAnAnsweredOriginalsKeyAndBody) {
  KeyTracker t(config());
  const KeyedRef original = answered_original(t, 3, 9, 200, kApproved);
  const KeyedChoice dup = t.choose(4, 1, true, KeyRole::sequential);
  EXPECT_EQ(dup.ref.role, KeyRole::sequential);
  EXPECT_EQ(dup.ref.key, original.key);
  EXPECT_EQ(dup.pool_index, 9u) << "the original's body, not its own";
  EXPECT_EQ(t.stats().sequential.scheduled, 1u);
  EXPECT_EQ(t.stats().originals, 1u);
}

TEST(KeyTracker, NoAnsweredOriginalMeansAFreshKey) {
  KeyTracker t(config());
  const KeyedChoice first = t.choose(0, 2, true, KeyRole::sequential);
  EXPECT_EQ(first.ref.role, KeyRole::original);
  EXPECT_EQ(first.ref.key, 0u);
  // In flight, failed or answered with an error: none of them can be replayed.
  const KeyedChoice failed = t.choose(1, 2, true, KeyRole::original);
  t.on_failed(failed.ref);
  answered_original(t, 2, 2, 503, R"({"error":"circuit_open"})");
  const KeyedChoice again = t.choose(3, 2, true, KeyRole::sequential);
  EXPECT_EQ(again.ref.role, KeyRole::original);
  EXPECT_EQ(t.stats().sequential.unavailable, 2u);
  EXPECT_EQ(t.stats().sequential.scheduled, 0u);
}

TEST(KeyTracker, ConcurrentDuplicatePicksAnOriginalInFlight) {
  KeyTracker t(config());
  EXPECT_EQ(t.choose(0, 0, true, KeyRole::concurrent).ref.role, KeyRole::original);
  const KeyedChoice in_flight = t.choose(1, 7, true, KeyRole::original);
  t.on_sent(in_flight.ref, 12);
  answered_original(t, 2, 8, 200, kApproved);  // newer, but answered
  const KeyedChoice dup = t.choose(3, 0, true, KeyRole::concurrent);
  EXPECT_EQ(dup.ref.role, KeyRole::concurrent);
  EXPECT_EQ(dup.ref.key, 1u);
  EXPECT_EQ(dup.pool_index, 7u);
  EXPECT_EQ(t.original_connection(dup.ref), 12u);
  t.on_response(dup.ref, answer(409, kInUse), true, true);
  EXPECT_EQ(t.stats().concurrent.in_use, 1u);
  EXPECT_EQ(t.stats().in_use, 1u);
  EXPECT_EQ(t.stats().http_409, 1u);
  EXPECT_EQ(t.stats().retry_after_missing, 1u);
  EXPECT_EQ(t.stats().failures(), 0u);
}

TEST(KeyTracker, ConflictingReuseSendsTheOtherAmount) {
  KeyTracker t(config());
  const KeyedRef original = answered_original(t, 0, 4, 200, kApproved);
  const KeyedChoice reuse = t.choose(1, 0, true, KeyRole::conflicting);
  EXPECT_EQ(reuse.ref.key, original.key);
  EXPECT_EQ(reuse.pool_index, 1004u);
  t.on_response(reuse.ref, answer(422, kReused), true, true);
  EXPECT_EQ(t.stats().conflicting.reused, 1u);
  EXPECT_EQ(t.stats().reused, 1u);
  EXPECT_EQ(t.stats().http_422, 1u);
  EXPECT_EQ(t.stats().failures(), 0u);
}

TEST(KeyTracker, ReplayEqualToTheOriginalMatches) {
  KeyTracker t(config());
  answered_original(t, 0, 0, 200, kApproved);
  const KeyedChoice dup = t.choose(1, 0, true, KeyRole::sequential);
  t.on_response(dup.ref, answer(200, kApproved, true), true, true);
  EXPECT_EQ(t.stats().sequential.replayed, 1u);
  EXPECT_EQ(t.stats().sequential.matched, 1u);
  EXPECT_EQ(t.stats().replayed, 1u);
  EXPECT_EQ(t.stats().failures(), 0u);
}

TEST(KeyTracker, ReplayWithAnotherBodyOrStatusIsAFailure) {
  KeyTracker t(config());
  answered_original(t, 0, 0, 200, kApproved);
  const KeyedChoice a = t.choose(1, 0, true, KeyRole::sequential);
  t.on_response(a.ref, answer(200, kOther, true), true, true);
  const KeyedChoice b = t.choose(2, 0, true, KeyRole::sequential);
  t.on_response(b.ref, answer(201, kApproved, true), true, true);
  HttpResponse cut = answer(200, kApproved, true);
  cut.body_complete = false;  // same first bytes, longer body
  const KeyedChoice c = t.choose(3, 0, true, KeyRole::sequential);
  t.on_response(c.ref, cut, true, true);
  EXPECT_EQ(t.stats().sequential.mismatched, 3u);
  EXPECT_EQ(t.stats().failures(), 3u);
}

TEST(KeyTracker, SecondExecutionOfAKeyIsAFailure) {
  KeyTracker t(config());
  answered_original(t, 0, 0, 200, kApproved);
  const KeyedChoice dup = t.choose(1, 0, true, KeyRole::sequential);
  t.on_response(dup.ref, answer(200, kOther), true, true);
  EXPECT_EQ(t.stats().sequential.other, 1u);
  EXPECT_EQ(t.stats().executed_twice, 1u);
  EXPECT_EQ(t.stats().failures(), 1u);
}

TEST(KeyTracker, ReplayedConflictingReuseIsAFailure) {
  KeyTracker t(config());
  answered_original(t, 0, 0, 200, kApproved);
  const KeyedChoice reuse = t.choose(1, 0, true, KeyRole::conflicting);
  t.on_response(reuse.ref, answer(200, kApproved, true), true, true);
  EXPECT_EQ(t.stats().conflicting.replayed, 1u);
  EXPECT_EQ(t.stats().failures(), 1u);
}

TEST(KeyTracker, ConcurrentReplayBeforeTheOriginalsAnswerIsNotCompared) {
  KeyTracker t(config());
  const KeyedChoice original = t.choose(0, 0, true, KeyRole::original);
  const KeyedChoice dup = t.choose(1, 0, true, KeyRole::concurrent);
  t.on_response(dup.ref, answer(200, kApproved, true), true, true);
  t.on_response(original.ref, answer(200, kApproved), true, true);
  EXPECT_EQ(t.stats().concurrent.replayed, 1u);
  EXPECT_EQ(t.stats().concurrent.matched + t.stats().concurrent.mismatched, 0u);
  EXPECT_EQ(t.stats().failures(), 0u);
}

TEST(KeyTracker, OverwrittenOriginalsAreNotChecked) {
  KeyTracker t(config(4));
  answered_original(t, 0, 0, 200, kApproved);
  const KeyedChoice dup = t.choose(1, 0, true, KeyRole::sequential);
  ASSERT_EQ(dup.ref.role, KeyRole::sequential);
  for (uint64_t n = 2; n < 6; ++n) t.choose(n, 0, true, KeyRole::original);  // wraps the ring
  t.on_response(dup.ref, answer(200, kOther, true), true, true);
  EXPECT_EQ(t.stats().untracked, 1u);
  EXPECT_EQ(t.stats().sequential.mismatched, 0u);
}

TEST(KeyTracker, SequentialPicksComeFromTheNewestHalfOfTheRing) {
  KeyTracker t(config(8));
  for (uint64_t n = 0; n < 12; ++n) answered_original(t, n, 0, 200, kApproved);  // wraps once
  std::set<uint64_t> picked;
  for (uint64_t n = 12; n < 200; ++n)
    picked.insert(t.choose(n, 0, true, KeyRole::sequential).ref.key);
  EXPECT_EQ(picked, (std::set<uint64_t>{8, 9, 10, 11}));
}

TEST(KeyTracker, WarmUpIsNotCounted) {
  KeyTracker t(config());
  const KeyedChoice original = t.choose(0, 0, false, KeyRole::original);
  t.on_response(original.ref, answer(200, kApproved), false, false);
  const KeyedChoice dup = t.choose(1, 0, false, KeyRole::sequential);
  EXPECT_EQ(dup.ref.role, KeyRole::sequential) << "warm-up originals can be duplicated";
  t.on_response(dup.ref, answer(200, kOther, true), false, false);
  EXPECT_EQ(t.stats().keyed, 0u);
  EXPECT_EQ(t.stats().responses, 0u);
  EXPECT_EQ(t.stats().failures(), 0u);
}

TEST(KeyTracker, PickerDecidesRolesFromTheSeed) {
  KeyTrackerConfig c = config(256);
  c.plan = DuplicatePlan{0.5, DuplicateMode::sequential, 0};
  c.seed = 5;
  KeyTracker t(c);
  for (uint64_t n = 0; n < 2000; ++n) {
    const KeyedChoice choice = t.next(n, 0, true);
    if (choice.ref.role == KeyRole::original) {
      t.on_response(choice.ref, answer(200, kApproved), true, true);
    }
  }
  EXPECT_NEAR(static_cast<double>(t.stats().sequential.scheduled), 1000, 100);
  EXPECT_EQ(t.stats().keyed, 2000u);
}

}  // namespace
}  // namespace paystream::bench
