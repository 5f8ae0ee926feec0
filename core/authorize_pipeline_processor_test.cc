// The authorize pipeline in PROCESSOR_MODE=http, driven by hand: the test plays the HTTP
// client, so each processor outcome (answers in and out of the contract, timeouts,
// failures, a full pool) is checked against the answer, the breaker and the metrics.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/allocation_counter.h"
#include "core/authorize_pipeline.h"

namespace paystream::core {
namespace {

constexpr uint64_t kStartNs = 5'000'000'000;
constexpr uint64_t kStartUnixMs = 1'767'225'600'000;
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kVisa =
    R"({"card_number":"4111111111111111","amount":"24.50","currency":"USD","merchant":"Shop"})";
constexpr std::string_view kApproved = R"({"status":"approved","authorization_code":"A1B2C3"})";
constexpr std::string_view kDeclined = R"({"status":"declined","decline_code":"card_expired"})";

void fixed_entropy(std::span<uint8_t> out, void*) {
  for (uint8_t& b : out) b = 0x5A;
}

std::string member(std::string_view body, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\":\"";
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  const size_t start = at + key.size();
  return std::string(body.substr(start, body.find('"', start) - start));
}

ProcessorReply answered(int status, std::string_view body, uint64_t upstream_us = 900) {
  return {.kind = ProcessorReply::Kind::answered,
          .status = status,
          .body = body,
          .upstream_us = upstream_us};
}

class HttpPipeline : public ::testing::Test {
 protected:
  HttpPipeline() {
    shared_.processor_mode = ProcessorMode::http;
    shared_.environment = no_simulation();
    shared_.version = "9.9.9-test";
    shared_.processor_timeout_ms = 2000;
    pipeline_ = std::make_unique<AuthorizePipeline>(shared_, shard_, 11, fixed_entropy, nullptr);
  }

  AuthorizeStep begin(std::string_view body = kVisa) {
    return pipeline_->begin({.content_type = kJson, .body = body}, time());
  }
  void set(const FaultUpdate& update) {
    FaultState state = shared_.faults.current().state;
    state.apply(update);
    shared_.faults.publish(state);
  }
  PipelineTime time() const { return {.monotonic_ns = now_ns_, .unix_ms = kStartUnixMs}; }
  uint64_t now_ms() const { return now_ns_ / 1'000'000; }
  MergedMetrics merged() const {
    const MetricShard* shards[] = {&shard_};
    return merge_shards(shards, now_ms());
  }
  uint64_t calls(ProcessorCallResult r) const {
    return merged().processor_calls[static_cast<size_t>(r)];
  }
  BreakerSnapshot breaker() const { return shared_.breaker.snapshot(now_ms()); }

  // One authorization whose processor call ends with `reply`.
  AuthorizeStep authorize(const ProcessorReply& reply) {
    const AuthorizeStep call = begin();
    EXPECT_EQ(call.kind, AuthorizeStep::Kind::process);
    return pipeline_->resume_processor(call.call, reply, time());
  }

  AuthorizeShared shared_{
      BreakerSettings{.failure_threshold = 3, .open_timeout_ms = 1000, .half_open_max_requests = 1},
      kStartNs / 1'000'000};
  MetricShard shard_;
  std::unique_ptr<AuthorizePipeline> pipeline_;
  uint64_t now_ns_ = kStartNs;
};

TEST_F(HttpPipeline, AsksForACallCarryingTheContractAndTheTransactionIdAsKey) {
  const AuthorizeStep step = begin();
  ASSERT_EQ(step.kind, AuthorizeStep::Kind::process);
  EXPECT_EQ(step.processor.timeout_ms, 2000u);
  EXPECT_EQ(step.processor.idempotency_key.substr(0, 4), "txn_");
  EXPECT_EQ(member(step.processor.body, "transaction_id"), step.processor.idempotency_key);
  EXPECT_EQ(member(step.processor.body, "amount"), "24.50");
  EXPECT_EQ(member(step.processor.body, "currency"), "USD");
  EXPECT_EQ(member(step.processor.body, "card_number"), "4111111111111111");
  EXPECT_EQ(member(step.processor.body, "merchant"), "Shop");
  EXPECT_EQ(member(step.processor.body, "network"), "visa");
  EXPECT_EQ(pipeline_->in_flight(), 1u);
}

TEST_F(HttpPipeline, ApprovalAndDeclineComeFromTheProcessor) {
  const AuthorizeStep call = begin();
  const std::string txn = std::string(call.processor.idempotency_key);
  const AuthorizeStep approved =
      pipeline_->resume_processor(call.call, answered(200, kApproved), time());
  ASSERT_EQ(approved.kind, AuthorizeStep::Kind::respond);
  EXPECT_EQ(approved.status, 200);
  EXPECT_EQ(member(approved.body, "status"), "approved");
  EXPECT_EQ(member(approved.body, "authorization_code"), "A1B2C3");
  EXPECT_EQ(member(approved.body, "transaction_id"), txn);
  EXPECT_EQ(approved.body.find("4111111111111111"), std::string_view::npos);

  const AuthorizeStep declined = authorize(answered(200, kDeclined));
  EXPECT_EQ(declined.status, 200);
  EXPECT_EQ(member(declined.body, "status"), "declined");
  EXPECT_EQ(member(declined.body, "decline_code"), "card_expired");
  EXPECT_EQ(calls(ProcessorCallResult::answered), 2u);
  EXPECT_EQ(merged().processor_upstream.count(), 2u);
  EXPECT_EQ(breaker().consecutive_successes, 2u);
  EXPECT_EQ(pipeline_->in_flight(), 0u);
}

TEST_F(HttpPipeline, AnythingOutsideTheContractIs502AndABreakerFailure) {
  const ProcessorReply bad[] = {
      answered(500, R"({"error":"processor_error"})"),
      answered(200, "not json"),
      answered(200, R"({"status":"approved","authorization_code":"short"})"),
  };
  for (const ProcessorReply& reply : bad) {
    const AuthorizeStep step = authorize(reply);
    EXPECT_EQ(step.status, 502) << reply.body;
    EXPECT_TRUE(step.failed);
    EXPECT_EQ(step.error, ServiceError::processor_error);
  }
  EXPECT_EQ(calls(ProcessorCallResult::invalid), 3u);
  EXPECT_EQ(breaker().state, BreakerState::open);
  EXPECT_EQ(breaker().trips, 1u);
  const AuthorizeStep rejected = begin();
  EXPECT_EQ(rejected.kind, AuthorizeStep::Kind::respond) << "no call while open";
  EXPECT_EQ(rejected.status, 503);
}

TEST_F(HttpPipeline, TimeoutIs504AndAFailedLinkIs502) {
  const AuthorizeStep timeout = authorize({.kind = ProcessorReply::Kind::timeout});
  EXPECT_EQ(timeout.status, 504);
  EXPECT_EQ(timeout.error, ServiceError::processor_timeout);
  const AuthorizeStep failed = authorize({.kind = ProcessorReply::Kind::failed});
  EXPECT_EQ(failed.status, 502);
  EXPECT_EQ(failed.error, ServiceError::processor_error);
  EXPECT_EQ(calls(ProcessorCallResult::timeout), 1u);
  EXPECT_EQ(calls(ProcessorCallResult::failed), 1u);
  EXPECT_EQ(breaker().consecutive_failures, 2u);
}

TEST_F(HttpPipeline, BusyIs503ProcessorBusyAtOnceAndNeverABreakerFailure) {
  for (int i = 0; i < 10; ++i) {
    const AuthorizeStep step = authorize({.kind = ProcessorReply::Kind::busy});
    EXPECT_EQ(step.status, 503);
    EXPECT_EQ(step.retry_after, "1");
    EXPECT_EQ(step.error, ServiceError::processor_busy);
    EXPECT_NE(step.body.find(R"("error":"processor_busy")"), std::string_view::npos);
  }
  EXPECT_EQ(breaker().state, BreakerState::closed);
  EXPECT_EQ(breaker().consecutive_failures, 0u);
  EXPECT_EQ(calls(ProcessorCallResult::busy), 10u);
  EXPECT_EQ(merged().at(AuthStatus::rejected, ProcessorLabel::visa).count(), 10u);
}

TEST_F(HttpPipeline, ABusyProbeFreesItsHalfOpenSlot) {
  for (int i = 0; i < 3; ++i) authorize({.kind = ProcessorReply::Kind::failed});
  ASSERT_EQ(breaker().state, BreakerState::open);
  now_ns_ += 1'000'000'000;
  EXPECT_EQ(authorize({.kind = ProcessorReply::Kind::busy}).status, 503);
  EXPECT_EQ(breaker().state, BreakerState::half_open);
  // The only probe slot is free again: the next call is admitted and closes the breaker.
  EXPECT_EQ(authorize(answered(200, kApproved)).status, 200);
  EXPECT_EQ(breaker().state, BreakerState::closed);
}

TEST_F(HttpPipeline, InjectedFaultsActBeforeTheCall) {
  set({.enabled = true, .error_rate = 1.0});
  const AuthorizeStep error = begin();
  ASSERT_EQ(error.kind, AuthorizeStep::Kind::respond) << "an injected error makes no call";
  EXPECT_EQ(error.status, 502);

  set({.enabled = true, .success_rate = 0.0, .error_rate = 0.0});
  const AuthorizeStep declined = begin();
  ASSERT_EQ(declined.kind, AuthorizeStep::Kind::respond) << "a forced decline makes no call";
  EXPECT_EQ(member(declined.body, "status"), "declined");

  set({.enabled = true, .latency_ms = 300, .success_rate = 1.0});
  const AuthorizeStep wait = begin();
  ASSERT_EQ(wait.kind, AuthorizeStep::Kind::wake);
  EXPECT_EQ(wait.wake_after_ms, 300u);
  now_ns_ += 300'000'000;
  const AuthorizeStep call = pipeline_->resume(wait.call, time());
  ASSERT_EQ(call.kind, AuthorizeStep::Kind::process);
  EXPECT_EQ(call.processor.timeout_ms, 1700u) << "the injected latency counts in the deadline";
  EXPECT_EQ(pipeline_->resume_processor(call.call, answered(200, kApproved), time()).status, 200);

  set({.enabled = true, .latency_ms = 2500});
  const AuthorizeStep slow = begin();
  ASSERT_EQ(slow.kind, AuthorizeStep::Kind::wake);
  EXPECT_EQ(slow.wake_after_ms, 2000u);
  now_ns_ += 2'000'000'000;
  EXPECT_EQ(pipeline_->resume(slow.call, time()).status, 504) << "no call after the deadline";
  EXPECT_EQ(calls(ProcessorCallResult::answered), 1u);
}

TEST_F(HttpPipeline, SimulatedModeNeverAsksForACall) {
  shared_.processor_mode = ProcessorMode::simulated;
  shared_.environment = {.latency_ms = 0, .jitter_ms = 0, .success_rate = 1.0, .error_rate = 0.0};
  const AuthorizeStep step = begin();
  ASSERT_EQ(step.kind, AuthorizeStep::Kind::respond);
  EXPECT_EQ(step.status, 200);
}

TEST_F(HttpPipeline, TheWarmPathAllocatesNothing) {
  for (int i = 0; i < 200; ++i) {
    AuthorizeStep calls[4];
    for (AuthorizeStep& c : calls) c = begin();
    for (const AuthorizeStep& c : calls) {
      pipeline_->resume_processor(c.call, answered(200, i % 2 ? kApproved : kDeclined), time());
    }
  }
  base::test_support::AllocationCounter counter;
  for (int i = 0; i < 1000; ++i) {
    AuthorizeStep calls[4];
    for (AuthorizeStep& c : calls) c = begin();
    for (const AuthorizeStep& c : calls) {
      pipeline_->resume_processor(c.call, answered(200, i % 2 ? kApproved : kDeclined), time());
    }
  }
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace paystream::core
