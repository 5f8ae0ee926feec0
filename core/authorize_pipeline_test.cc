// The authorize pipeline driven by hand: the same code the service and the warm-path
// benchmark run, with the clock and the wake-ups in the test's control.

#include "core/authorize_pipeline.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/allocation_counter.h"

namespace paystream::core {
namespace {

constexpr uint64_t kStartNs = 5'000'000'000;
constexpr uint64_t kStartUnixMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kVisa =
    R"({"card_number":"4111111111111111","amount":"24.50","currency":"USD","merchant":"Shop"})";
constexpr std::string_view kLuhnInvalid =
    R"({"card_number":"4111111111111112","amount":"24.50","currency":"USD","merchant":"Shop"})";

// Fixed entropy, so transaction ids are known.
void counting_entropy(std::span<uint8_t> out, void* context) {
  auto* calls = static_cast<int*>(context);
  ++*calls;
  for (uint8_t& b : out) b = 0xAB;
}

std::string member(std::string_view body, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\":";
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  size_t end = at + key.size();
  if (body[end] == '"') {
    return std::string(body.substr(end + 1, body.find('"', end + 1) - end - 1));
  }
  while (end < body.size() && body[end] != ',' && body[end] != '}') ++end;
  return std::string(body.substr(at + key.size(), end - at - key.size()));
}

class Pipeline : public ::testing::Test {
 protected:
  explicit Pipeline(ProcessorParameters environment = {
                        .latency_ms = 0, .jitter_ms = 0, .success_rate = 1.0, .error_rate = 0.0}) {
    shared_.environment = environment;
    shared_.version = "9.9.9-test";
    shared_.processor_timeout_ms = 2000;
    rebuild();
  }

  void rebuild() {
    pipeline_ =
        std::make_unique<AuthorizePipeline>(shared_, shard_, 42, counting_entropy, &entropy_calls_);
  }

  void set(const FaultUpdate& update) {
    FaultState state = shared_.faults.current().state;
    state.apply(update);
    shared_.faults.publish(state);
  }

  AuthorizeStep begin(std::string_view body, std::string_view content_type = kJson,
                      std::string_view request_id = {}) {
    return pipeline_->begin({.content_type = content_type, .request_id = request_id, .body = body},
                            time());
  }

  PipelineTime time() const { return {.monotonic_ns = now_ns_, .unix_ms = unix_ms_}; }
  void advance_ms(uint64_t ms) {
    now_ns_ += ms * 1'000'000;
    unix_ms_ += ms;
  }

  uint64_t recorded(AuthStatus status, ProcessorLabel label = ProcessorLabel::visa) const {
    const MetricShard* shards[] = {&shard_};
    return merge_shards(shards, now_ns_ / 1'000'000).at(status, label).count();
  }

  AuthorizeShared shared_{BreakerSettings{.failure_threshold = 3, .open_timeout_ms = 1000},
                          kStartNs / 1'000'000};
  MetricShard shard_;
  int entropy_calls_ = 0;
  std::unique_ptr<AuthorizePipeline> pipeline_;
  uint64_t now_ns_ = kStartNs;
  uint64_t unix_ms_ = kStartUnixMs;
};

TEST_F(Pipeline, AnswersAtOnceWhenTheProcessorDoes) {
  const AuthorizeStep step = begin(kVisa, kJson, "req-1");
  ASSERT_EQ(step.kind, AuthorizeStep::Kind::respond);
  EXPECT_EQ(step.status, 200);
  EXPECT_EQ(step.request_id, "req-1");
  EXPECT_TRUE(step.retry_after.empty());
  EXPECT_FALSE(step.failed);
  EXPECT_EQ(member(step.body, "status"), "approved");
  EXPECT_EQ(member(step.body, "amount"), "24.50");
  EXPECT_EQ(member(step.body, "card_last4"), "1111");
  EXPECT_EQ(member(step.body, "version"), "9.9.9-test");
  EXPECT_EQ(member(step.body, "transaction_id").substr(0, 4), "txn_");
  EXPECT_EQ(step.body.find("4111111111111111"), std::string_view::npos) << "the full card number";
  EXPECT_EQ(recorded(AuthStatus::approved), 1u);
  EXPECT_EQ(pipeline_->in_flight(), 0u);
}

TEST_F(Pipeline, GeneratesARequestIdWhenNoneOrAnInvalidOneIsGiven) {
  for (std::string_view given : {std::string_view{}, std::string_view("bad id with spaces")}) {
    const AuthorizeStep step = begin(kVisa, kJson, given);
    EXPECT_EQ(step.request_id.size(), kGeneratedRequestIdLength) << given;
    EXPECT_TRUE(is_valid_request_id(step.request_id));
  }
}

TEST_F(Pipeline, RefusesAnotherContentTypeWith415) {
  const AuthorizeStep step = begin(kVisa, "text/plain");
  ASSERT_EQ(step.kind, AuthorizeStep::Kind::respond);
  EXPECT_EQ(step.status, 415);
  EXPECT_EQ(member(step.body, "error"), "unsupported_media_type");
  EXPECT_EQ(recorded(AuthStatus::invalid, ProcessorLabel::unknown), 1u);
  EXPECT_EQ(entropy_calls_, 0) << "no transaction id for a refused request";
}

TEST_F(Pipeline, RefusesAnInvalidBodyWith400NamingTheField) {
  const AuthorizeStep step = begin(
      R"({"card_number":"4111111111111111","amount":"24.505","currency":"USD","merchant":"S"})");
  EXPECT_EQ(step.status, 400);
  EXPECT_EQ(member(step.body, "error"), "invalid_request");
  EXPECT_EQ(member(step.body, "field"), "amount");
  EXPECT_EQ(recorded(AuthStatus::invalid, ProcessorLabel::unknown), 1u);
}

TEST_F(Pipeline, DeclinesALuhnFailureLocallyWithoutTheBreaker) {
  set({.enabled = true, .error_rate = 1.0});
  for (int i = 0; i < 10; ++i) {
    const AuthorizeStep step = begin(kLuhnInvalid);
    EXPECT_EQ(step.status, 200);
    EXPECT_EQ(member(step.body, "decline_code"), "invalid_card_number");
  }
  EXPECT_EQ(shared_.breaker.snapshot(now_ns_ / 1'000'000).state, BreakerState::closed);
}

TEST_F(Pipeline, AsksToBeWokenForTheProcessorsLatencyThenAnswers) {
  set({.enabled = true, .latency_ms = 120});
  const AuthorizeStep wait = begin(kVisa);
  ASSERT_EQ(wait.kind, AuthorizeStep::Kind::wake);
  EXPECT_EQ(wait.wake_after_ms, 120u);
  EXPECT_EQ(pipeline_->in_flight(), 1u);
  EXPECT_EQ(recorded(AuthStatus::approved), 0u) << "nothing is counted before the answer";
  advance_ms(121);
  const AuthorizeStep done = pipeline_->resume(wait.call, time());
  ASSERT_EQ(done.kind, AuthorizeStep::Kind::respond);
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(member(done.body, "latency_ms"), "121");
  EXPECT_EQ(pipeline_->in_flight(), 0u);
  EXPECT_EQ(recorded(AuthStatus::approved), 1u);
}

TEST_F(Pipeline, ReportsAtLeastTheProcessorsLatencyWhenWokenAFractionEarly) {
  set({.enabled = true, .latency_ms = 320});
  const AuthorizeStep wait = begin(kVisa);
  now_ns_ += 319'600'000;  // a timer on a truncated-millisecond clock fired 0.4 ms early
  EXPECT_EQ(member(pipeline_->resume(wait.call, time()).body, "latency_ms"), "320");
}

TEST_F(Pipeline, CallsInFlightAreIndependent) {
  set({.enabled = true, .latency_ms = 50});
  const AuthorizeStep first = begin(kVisa, kJson, "first");
  const AuthorizeStep second = begin(kVisa, kJson, "second");
  ASSERT_EQ(second.kind, AuthorizeStep::Kind::wake);
  EXPECT_NE(first.call, second.call);
  advance_ms(50);
  EXPECT_EQ(pipeline_->resume(second.call, time()).request_id, "second");
  EXPECT_EQ(pipeline_->resume(first.call, time()).request_id, "first");
}

TEST_F(Pipeline, AProcessorSlowerThanTheTimeoutIs504AtTheTimeout) {
  shared_.processor_timeout_ms = 300;
  set({.enabled = true, .latency_ms = 5000});
  const AuthorizeStep wait = begin(kVisa);
  ASSERT_EQ(wait.kind, AuthorizeStep::Kind::wake);
  EXPECT_EQ(wait.wake_after_ms, 300u);
  advance_ms(300);
  const AuthorizeStep done = pipeline_->resume(wait.call, time());
  EXPECT_EQ(done.status, 504);
  EXPECT_TRUE(done.failed);
  EXPECT_EQ(done.error, ServiceError::processor_timeout);
  EXPECT_EQ(member(done.body, "error"), "processor_timeout");
  EXPECT_EQ(member(done.body, "transaction_id"), done.transaction_id);
  EXPECT_EQ(recorded(AuthStatus::error), 1u);
}

TEST_F(Pipeline, ProcessorErrorsOpenTheBreakerThenRequestsAre503WithRetryAfter) {
  set({.enabled = true, .error_rate = 1.0});
  for (int i = 0; i < 2; ++i) EXPECT_EQ(begin(kVisa).status, 502);
  const AuthorizeStep third = begin(kVisa);
  EXPECT_EQ(third.status, 502);
  EXPECT_EQ(third.transitions[1], (BreakerTransition{BreakerState::closed, BreakerState::open}));
  const AuthorizeStep rejected = begin(kVisa);
  EXPECT_EQ(rejected.status, 503);
  EXPECT_EQ(rejected.retry_after, "1");
  EXPECT_EQ(rejected.error, ServiceError::circuit_open);
  EXPECT_EQ(member(rejected.body, "error"), "circuit_open");
  EXPECT_EQ(recorded(AuthStatus::rejected), 1u);

  // After the open period a probe succeeds and closes it: both changes are reported.
  set({.enabled = false});
  advance_ms(1000);
  const AuthorizeStep probe = begin(kVisa);
  EXPECT_EQ(probe.status, 200);
  EXPECT_EQ(probe.transitions[0], (BreakerTransition{BreakerState::open, BreakerState::half_open}));
}

TEST_F(Pipeline, AWokenCallWhoseClientLeftStillReportsToTheBreaker) {
  set({.enabled = true, .latency_ms = 10, .error_rate = 1.0});
  AuthorizeStep waits[3];
  for (AuthorizeStep& w : waits) w = begin(kVisa);
  advance_ms(10);
  // The driver resumes them all (their answers are dropped): three failures open it.
  for (const AuthorizeStep& w : waits) pipeline_->resume(w.call, time());
  EXPECT_EQ(shared_.breaker.snapshot(now_ns_ / 1'000'000).state, BreakerState::open);
}

TEST_F(Pipeline, ResetRateAsksForAResetAndCountsNothing) {
  set({.enabled = true, .reset_rate = 1.0});
  const AuthorizeStep step = begin(kVisa);
  EXPECT_EQ(step.kind, AuthorizeStep::Kind::reset);
  EXPECT_EQ(pipeline_->in_flight(), 0u);
  for (AuthStatus status : {AuthStatus::approved, AuthStatus::declined, AuthStatus::error}) {
    EXPECT_EQ(recorded(status), 0u);
  }
  EXPECT_EQ(begin(kVisa, "text/plain").status, 415) << "an invalid request is still refused";
}

TEST_F(Pipeline, SlowRateAddsTheSlowLatencyToThatFractionOfCalls) {
  set({.enabled = true, .latency_ms = 10, .slow_rate = 0.25, .slow_latency_ms = 400});
  int slow = 0;
  constexpr int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) {
    const AuthorizeStep wait = begin(kVisa);
    ASSERT_EQ(wait.kind, AuthorizeStep::Kind::wake);
    ASSERT_TRUE(wait.wake_after_ms == 10 || wait.wake_after_ms == 410) << wait.wake_after_ms;
    slow += wait.wake_after_ms == 410;
    pipeline_->resume(wait.call, time());
  }
  EXPECT_NEAR(slow, kCalls / 4, 80);  // ~4 standard deviations
}

TEST_F(Pipeline, TransactionIdsIncreaseAndTakeEntropyOncePerMillisecond) {
  const std::string a = member(begin(kVisa).body, "transaction_id");
  const std::string b = member(begin(kVisa).body, "transaction_id");
  advance_ms(1);
  const std::string c = member(begin(kVisa).body, "transaction_id");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(entropy_calls_, 2);
  EXPECT_EQ(txn_id_unix_ms(c), kStartUnixMs + 1);
}

TEST_F(Pipeline, TheWarmPathAllocatesNothing) {
  set({.enabled = true, .latency_ms = 5, .success_rate = 0.5});
  // Warm-up: every answer shape once, and a few calls in flight at the same time.
  for (int i = 0; i < 200; ++i) {
    AuthorizeStep w[4];
    for (AuthorizeStep& s : w) s = begin(kVisa);
    advance_ms(5);
    for (const AuthorizeStep& s : w) pipeline_->resume(s.call, time());
    begin(kLuhnInvalid);
    begin(kVisa, "text/plain");
  }
  base::test_support::AllocationCounter counter;
  for (int i = 0; i < 1000; ++i) {
    AuthorizeStep w[4];
    for (AuthorizeStep& s : w) s = begin(kVisa);
    advance_ms(5);
    for (const AuthorizeStep& s : w) pipeline_->resume(s.call, time());
    begin(kLuhnInvalid);
  }
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace paystream::core
