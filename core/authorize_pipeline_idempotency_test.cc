// The authorize pipeline with Idempotency-Key headers, driven by hand. The store here is a
// plain map with the protocol's three conditional operations (the real backends, the
// embedded store and Redis, are tested on their own and end to end through the service).

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "core/authorize_pipeline.h"

namespace paystream::core {
namespace {

constexpr uint64_t kStartNs = 5'000'000'000;
constexpr uint64_t kStartUnixMs = 1'767'225'600'000;
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kBody =
    R"({"card_number":"4111111111111111","amount":"24.50","currency":"USD","merchant":"Shop"})";
// The same request, spelled differently: key order, spacing, amount as a number, grouping.
constexpr std::string_view kSameRequest =
    R"({ "merchant" : "Shop", "currency":"USD", "amount": 24.5, "card_number":"4111 1111 1111 1111"})";
constexpr std::string_view kOtherAmount =
    R"({"card_number":"4111111111111111","amount":"24.51","currency":"USD","merchant":"Shop"})";

void fixed_entropy(std::span<uint8_t> out, void*) {
  for (uint8_t& b : out) b = 0x5A;
}

// The protocol's semantics over a map; `fail` makes every operation fail (store down).
struct MapStore {
  std::map<HmacDigest, std::string> values;
  bool fail = false;
  int operations = 0;

  StoreReply run(const StoreCall& call) {
    ++operations;
    if (fail) return {.kind = StoreReply::Kind::failed};
    auto it = values.find(call.key);
    switch (call.op) {
      case StoreOp::claim:
        if (it != values.end()) return {.kind = StoreReply::Kind::exists, .existing = it->second};
        values[call.key] = std::string(call.claim);
        return {.kind = StoreReply::Kind::done};
      case StoreOp::complete:
        if (it == values.end() || it->second != call.claim)
          return {.kind = StoreReply::Kind::refused};
        it->second = std::string(call.answer);
        return {.kind = StoreReply::Kind::done};
      case StoreOp::release:
        if (it == values.end() || it->second != call.claim)
          return {.kind = StoreReply::Kind::refused};
        values.erase(it);
        return {.kind = StoreReply::Kind::done};
    }
    return {};
  }
};

struct Answer {
  int status = 0;
  std::string body;
  std::string request_id;
  std::string retry_after;
  bool replayed = false;
  bool store_write_failed = false;
  int store_steps = 0;
  int processor_calls = 0;
};

class KeyedPipeline : public ::testing::Test {
 protected:
  KeyedPipeline() {
    shared_.environment = {.latency_ms = 0, .jitter_ms = 0, .success_rate = 1.0, .error_rate = 0.0};
    shared_.version = "9.9.9-test";
    shared_.processor_timeout_ms = 2000;
    shared_.idempotency.emplace("a test secret of thirty-two bytes");
    shared_.idempotency_ttl_ms = 60'000;
    rebuild();
  }

  void rebuild() {
    pipeline_ = std::make_unique<AuthorizePipeline>(shared_, shard_, 7, fixed_entropy, nullptr);
  }

  AuthorizeStep begin(std::string_view body, std::string_view key, size_t key_count = 1,
                      std::string_view request_id = {}) {
    return pipeline_->begin({.content_type = kJson,
                             .request_id = request_id,
                             .body = body,
                             .idempotency_key = key,
                             .idempotency_key_count = key.empty() ? 0 : key_count},
                            time());
  }

  // Runs store and wake steps until the answer.
  Answer drive(AuthorizeStep step) {
    Answer answer;
    while (step.kind != AuthorizeStep::Kind::respond) {
      if (step.kind == AuthorizeStep::Kind::store) {
        ++answer.store_steps;
        const StoreReply reply = store_.run(step.store);
        step = pipeline_->resume_store(step.call, reply, time());
      } else if (step.kind == AuthorizeStep::Kind::wake) {
        advance_ms(step.wake_after_ms);
        step = pipeline_->resume(step.call, time());
      } else if (step.kind == AuthorizeStep::Kind::process) {
        ++answer.processor_calls;
        step = pipeline_->resume_processor(step.call, processor_reply_, time());
      } else {
        ADD_FAILURE() << "reset";
        return answer;
      }
    }
    answer.status = step.status;
    answer.body = std::string(step.body);
    answer.request_id = std::string(step.request_id);
    answer.retry_after = std::string(step.retry_after);
    answer.replayed = step.replayed;
    answer.store_write_failed = step.store_write_failed;
    return answer;
  }

  Answer authorize(std::string_view body, std::string_view key, std::string_view request_id = {}) {
    return drive(begin(body, key, 1, request_id));
  }

  PipelineTime time() const { return {.monotonic_ns = now_ns_, .unix_ms = unix_ms_}; }
  void advance_ms(uint64_t ms) {
    now_ns_ += ms * 1'000'000;
    unix_ms_ += ms;
  }
  MergedMetrics merged() const {
    const MetricShard* shards[] = {&shard_};
    return merge_shards(shards, now_ns_ / 1'000'000);
  }
  uint64_t idempotency(IdempotencyResult r) const {
    return merged().idempotency[static_cast<size_t>(r)];
  }
  uint64_t executed() const {
    const MergedMetrics m = merged();
    return m.at(AuthStatus::approved, ProcessorLabel::visa).count() +
           m.at(AuthStatus::declined, ProcessorLabel::visa).count() +
           m.at(AuthStatus::error, ProcessorLabel::visa).count();
  }

  AuthorizeShared shared_{BreakerSettings{.failure_threshold = 2, .open_timeout_ms = 1000},
                          kStartNs / 1'000'000};
  MetricShard shard_;
  MapStore store_;
  // PROCESSOR_MODE=http: what every processor call gets.
  ProcessorReply processor_reply_{.kind = ProcessorReply::Kind::answered,
                                  .status = 200,
                                  .body = R"({"status":"approved","authorization_code":"Q7W8E9"})"};
  std::unique_ptr<AuthorizePipeline> pipeline_;
  uint64_t now_ns_ = kStartNs;
  uint64_t unix_ms_ = kStartUnixMs;
};

TEST_F(KeyedPipeline, WithoutAKeyNothingChanges) {
  const Answer a = authorize(kBody, {});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.store_steps, 0);
  EXPECT_EQ(store_.operations, 0);
  EXPECT_FALSE(a.replayed);
}

TEST_F(KeyedPipeline, FirstExecutesThenTheSameRequestIsReplayedByteForByte) {
  const Answer first = authorize(kBody, "order-1", "req-first");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.store_steps, 2);  // claim, complete
  EXPECT_FALSE(first.replayed);
  EXPECT_EQ(executed(), 1u);

  advance_ms(5000);
  const Answer again = authorize(kSameRequest, "order-1", "req-retry");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.request_id, "req-first");  // the original's
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.store_steps, 1);
  EXPECT_EQ(executed(), 1u);  // not executed again
  EXPECT_EQ(idempotency(IdempotencyResult::new_key), 1u);
  EXPECT_EQ(idempotency(IdempotencyResult::replayed), 1u);
  // The quoted (Structured Field) spelling is the same key.
  EXPECT_TRUE(authorize(kBody, "\"order-1\"").replayed);
}

TEST_F(KeyedPipeline, ADifferentRequestWithTheKeyIs422) {
  ASSERT_EQ(authorize(kBody, "order-2").status, 200);
  const Answer reused = authorize(kOtherAmount, "order-2");
  EXPECT_EQ(reused.status, 422);
  EXPECT_NE(reused.body.find("\"idempotency_key_reused\""), std::string::npos) << reused.body;
  EXPECT_EQ(executed(), 1u);
  EXPECT_EQ(idempotency(IdempotencyResult::reused), 1u);
  // Another merchant may use the same key for its own request.
  const std::string other_merchant =
      R"({"card_number":"4111111111111111","amount":"24.51","currency":"USD","merchant":"Other"})";
  EXPECT_EQ(authorize(other_merchant, "order-2").status, 200);
  EXPECT_EQ(executed(), 2u);
}

TEST_F(KeyedPipeline, WhileTheFirstRunsTheSecondIs409WithRetryAfter) {
  shared_.environment.latency_ms = 200;
  AuthorizeStep first = begin(kBody, "order-3");
  ASSERT_EQ(first.kind, AuthorizeStep::Kind::store);
  first = pipeline_->resume_store(first.call, store_.run(first.store), time());
  ASSERT_EQ(first.kind, AuthorizeStep::Kind::wake);  // at the processor

  const Answer second = authorize(kBody, "order-3");
  EXPECT_EQ(second.status, 409);
  EXPECT_NE(second.body.find("\"idempotency_key_in_use\""), std::string::npos);
  EXPECT_EQ(second.retry_after, "1");
  const Answer conflicting = authorize(kOtherAmount, "order-3");
  EXPECT_EQ(conflicting.status, 422);  // a different request is refused even in flight

  const Answer done = drive(first);
  EXPECT_EQ(done.status, 200);
  EXPECT_TRUE(authorize(kBody, "order-3").replayed);
  EXPECT_EQ(executed(), 1u);
}

TEST_F(KeyedPipeline, AClaimThatNeverCompletesIsNeverExecutedAgain) {
  shared_.environment.latency_ms = 200;
  AuthorizeStep first = begin(kBody, "order-4");
  first = pipeline_->resume_store(first.call, store_.run(first.store), time());
  ASSERT_EQ(first.kind, AuthorizeStep::Kind::wake);
  // Its owner dies here (a crashed pod): the claim stays.
  advance_ms(shared_.idempotency_lease_ms() - 1);
  EXPECT_EQ(authorize(kBody, "order-4").status, 409);
  advance_ms(1);
  const Answer unknown = authorize(kBody, "order-4");
  EXPECT_EQ(unknown.status, 409);
  EXPECT_NE(unknown.body.find("\"idempotency_outcome_unknown\""), std::string::npos);
  EXPECT_TRUE(unknown.retry_after.empty());
  EXPECT_EQ(idempotency(IdempotencyResult::unknown), 1u);
  EXPECT_EQ(executed(), 0u);
}

TEST_F(KeyedPipeline, StoreDownRefusesKeyedRequestsOnlyAndExecutesNothing) {
  store_.fail = true;
  const Answer keyed = authorize(kBody, "order-5");
  EXPECT_EQ(keyed.status, 503);
  EXPECT_NE(keyed.body.find("\"idempotency_store_unavailable\""), std::string::npos);
  EXPECT_EQ(keyed.retry_after, "1");
  EXPECT_EQ(keyed.body.find("transaction_id"), std::string::npos);
  EXPECT_EQ(executed(), 0u);
  EXPECT_EQ(shared_.breaker.snapshot(now_ns_ / 1'000'000).state, BreakerState::closed);
  EXPECT_EQ(authorize(kBody, {}).status, 200);
  EXPECT_EQ(idempotency(IdempotencyResult::store_error), 1u);
  // Recovered: the key was never claimed, so it runs now.
  store_.fail = false;
  EXPECT_EQ(authorize(kBody, "order-5").status, 200);
  EXPECT_EQ(executed(), 2u);
}

TEST_F(KeyedPipeline, ALostCompletionIsReportedAndTheRetryIsNotExecuted) {
  AuthorizeStep step = begin(kBody, "order-6");
  step = pipeline_->resume_store(step.call, store_.run(step.store), time());
  ASSERT_EQ(step.kind, AuthorizeStep::Kind::store);
  ASSERT_EQ(step.store.op, StoreOp::complete);
  step = pipeline_->resume_store(step.call, {.kind = StoreReply::Kind::failed}, time());
  ASSERT_EQ(step.kind, AuthorizeStep::Kind::respond);
  EXPECT_EQ(step.status, 200);  // the client still gets the real answer
  EXPECT_TRUE(step.store_write_failed);
  EXPECT_EQ(authorize(kBody, "order-6").status, 409);
  EXPECT_EQ(executed(), 1u);
}

TEST_F(KeyedPipeline, ProcessorTimeoutIsStoredAndReplayed) {
  shared_.environment.latency_ms = 5000;  // beyond the 2 s deadline
  const Answer first = authorize(kBody, "order-7");
  ASSERT_EQ(first.status, 504);
  const Answer again = authorize(kBody, "order-7");
  EXPECT_EQ(again.status, 504);
  EXPECT_EQ(again.body, first.body);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(merged().at(AuthStatus::error, ProcessorLabel::visa).count(), 1u);
}

TEST_F(KeyedPipeline, CircuitOpenReleasesTheKeySoARetryRuns) {
  shared_.environment.error_rate = 1.0;
  ASSERT_EQ(authorize(kBody, {}).status, 502);
  ASSERT_EQ(authorize(kBody, {}).status, 502);  // threshold 2: open
  const Answer rejected = authorize(kBody, "order-8");
  EXPECT_EQ(rejected.status, 503);
  EXPECT_NE(rejected.body.find("\"circuit_open\""), std::string::npos);
  EXPECT_FALSE(rejected.retry_after.empty());
  EXPECT_EQ(rejected.store_steps, 2);  // claim, release
  EXPECT_TRUE(store_.values.empty());
  shared_.environment.error_rate = 0.0;
  rebuild();         // a pipeline reads the environment once (it changes only through faults)
  advance_ms(1000);  // half-open
  EXPECT_EQ(authorize(kBody, "order-8").status, 200);
}

TEST_F(KeyedPipeline, OverHttpTheAnswerIsStoredAndTheRetryMakesNoSecondCall) {
  shared_.processor_mode = ProcessorMode::http;
  shared_.environment = no_simulation();
  rebuild();
  const Answer first = authorize(kBody, "order-http");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.processor_calls, 1);
  EXPECT_NE(first.body.find("Q7W8E9"), std::string::npos);
  const Answer again = authorize(kBody, "order-http");
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.processor_calls, 0);
}

TEST_F(KeyedPipeline, ProcessorBusyReleasesTheKeySoARetryRuns) {
  shared_.processor_mode = ProcessorMode::http;
  shared_.environment = no_simulation();
  rebuild();
  processor_reply_ = {.kind = ProcessorReply::Kind::busy};
  const Answer busy = authorize(kBody, "order-busy");
  EXPECT_EQ(busy.status, 503);
  EXPECT_NE(busy.body.find("\"processor_busy\""), std::string::npos);
  EXPECT_EQ(busy.retry_after, "1");
  EXPECT_EQ(busy.store_steps, 2);  // claim, release
  EXPECT_TRUE(store_.values.empty());
  processor_reply_ = {.kind = ProcessorReply::Kind::answered,
                      .status = 200,
                      .body = R"({"status":"declined","decline_code":"do_not_honor"})"};
  const Answer retried = authorize(kBody, "order-busy");
  EXPECT_EQ(retried.status, 200);
  EXPECT_FALSE(retried.replayed);
  EXPECT_NE(retried.body.find("do_not_honor"), std::string::npos);
}

TEST_F(KeyedPipeline, LuhnDeclineIsStoredAndReplayed) {
  const std::string luhn =
      R"({"card_number":"4111111111111112","amount":"24.50","currency":"USD","merchant":"Shop"})";
  const Answer first = authorize(luhn, "order-9");
  ASSERT_EQ(first.status, 200);
  EXPECT_NE(first.body.find("invalid_card_number"), std::string::npos);
  EXPECT_TRUE(authorize(luhn, "order-9").replayed);
}

TEST_F(KeyedPipeline, InvalidOrRepeatedHeaderIs400NamingIt) {
  for (const std::string& key :
       {std::string(256, 'k'), std::string("caf\xc3\xa9"), std::string("\"\"")}) {
    const Answer bad = authorize(kBody, key);
    EXPECT_EQ(bad.status, 400) << key;
    EXPECT_NE(bad.body.find(R"("field":"Idempotency-Key")"), std::string::npos) << bad.body;
  }
  const Answer twice = drive(begin(kBody, "k", 2));
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.body.find(R"("field":"Idempotency-Key")"), std::string::npos);
  EXPECT_EQ(store_.operations, 0);
}

TEST_F(KeyedPipeline, NoSecretMeansNoKeyedExecution) {
  shared_.idempotency.reset();
  EXPECT_EQ(authorize(kBody, "order-10").status, 503);
  EXPECT_EQ(executed(), 0u);
}

TEST_F(KeyedPipeline, StoredValuesHoldNoCardNumberOrKey) {
  ASSERT_EQ(authorize(kBody, "order-secret-key").status, 200);
  ASSERT_EQ(store_.values.size(), 1u);
  const std::string& value = store_.values.begin()->second;
  EXPECT_EQ(value.find("4111111111111111"), std::string::npos);
  EXPECT_EQ(value.find("order-secret-key"), std::string::npos);
  EXPECT_EQ(value.find("Shop"), std::string::npos);
}

}  // namespace
}  // namespace paystream::core
