#include "core/decision.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>

namespace paystream::core {
namespace {

AuthorizeRequest request_with_card(std::string_view number) {
  AuthorizeRequest request;
  EXPECT_TRUE(request.card.assign(number));
  request.network = *detect_network(request.card.digits());
  request.luhn_valid = luhn_valid(request.card.digits());
  request.currency = find_currency("USD");
  request.amount_minor = 245000;
  return request;
}

ProcessorDraws draws(double error, double approval, double decline = 0, uint64_t bits = 0) {
  return {error, approval, decline, bits};
}

TEST(Decide, LuhnFailureIsDeclinedWithoutCallingTheProcessor) {
  const AuthorizeRequest request = request_with_card("4111111111111112");
  EXPECT_TRUE(declined_before_processor(request));
  Xoshiro256 rng(1), untouched(1);
  // Even a processor that always errors is not consulted.
  const Decision decision = decide(request, {1.0, 1.0}, rng);
  EXPECT_EQ(decision.verdict, Verdict::declined);
  EXPECT_EQ(decision.decline_code, DeclineCode::invalid_card_number);
  EXPECT_FALSE(decision.processor_called);
  EXPECT_EQ(rng.next(), untouched.next());  // no draws consumed
}

TEST(Decide, ValidCardGoesToTheProcessor) {
  const AuthorizeRequest request = request_with_card("4111111111111111");
  EXPECT_FALSE(declined_before_processor(request));
  Xoshiro256 rng(1);
  const Decision decision = decide(request, {1.0, 0.0}, rng);
  EXPECT_TRUE(decision.processor_called);
  EXPECT_EQ(decision.verdict, Verdict::approved);
}

TEST(SimulateProcessor, ErrorComesFirst) {
  EXPECT_EQ(simulate_processor({1.0, 0.5}, draws(0.49, 0.0)).verdict, Verdict::processor_error);
  EXPECT_EQ(simulate_processor({1.0, 0.5}, draws(0.5, 0.0)).verdict, Verdict::approved);
  EXPECT_TRUE(simulate_processor({1.0, 0.5}, draws(0.49, 0.0)).processor_called);
}

TEST(SimulateProcessor, RateBoundaries) {
  const double almost_one = 0x1.fffffffffffffp-1;  // the largest value next_unit() returns
  // error_rate 0 never errors, 1 always does.
  EXPECT_NE(simulate_processor({0.94, 0.0}, draws(0.0, 0.0)).verdict, Verdict::processor_error);
  EXPECT_EQ(simulate_processor({0.94, 1.0}, draws(almost_one, 0.0)).verdict,
            Verdict::processor_error);
  // success_rate 0 never approves, 1 always does.
  EXPECT_EQ(simulate_processor({0.0, 0.0}, draws(0.5, 0.0)).verdict, Verdict::declined);
  EXPECT_EQ(simulate_processor({1.0, 0.0}, draws(0.5, almost_one)).verdict, Verdict::approved);
  EXPECT_EQ(simulate_processor({0.94, 0.0}, draws(0.5, 0.9399)).verdict, Verdict::approved);
  EXPECT_EQ(simulate_processor({0.94, 0.0}, draws(0.5, 0.94)).verdict, Verdict::declined);
}

TEST(SimulateProcessor, ApprovalCarriesACodeDeclineCarriesADeclineCode) {
  const Decision approved = simulate_processor({1.0, 0.0}, draws(0.5, 0.5, 0.0, 123456789));
  EXPECT_EQ(approved.authorization_code_view(),
            std::string_view(authorization_code_from_bits(123456789).data(), 6));
  const Decision declined = simulate_processor({0.0, 0.0}, draws(0.5, 0.5, 0.5));
  EXPECT_EQ(declined.decline_code, DeclineCode::do_not_honor);
}

TEST(WeightedDeclineCode, Boundaries) {
  EXPECT_EQ(weighted_decline_code(0.0), DeclineCode::insufficient_funds);
  EXPECT_EQ(weighted_decline_code(0.3999), DeclineCode::insufficient_funds);
  EXPECT_EQ(weighted_decline_code(0.40), DeclineCode::do_not_honor);
  EXPECT_EQ(weighted_decline_code(0.6499), DeclineCode::do_not_honor);
  EXPECT_EQ(weighted_decline_code(0.65), DeclineCode::card_expired);
  EXPECT_EQ(weighted_decline_code(0.77), DeclineCode::suspected_fraud);
  EXPECT_EQ(weighted_decline_code(0.85), DeclineCode::restricted_card);
  EXPECT_EQ(weighted_decline_code(0.93), DeclineCode::limit_exceeded);
  EXPECT_EQ(weighted_decline_code(0x1.fffffffffffffp-1), DeclineCode::limit_exceeded);
}

TEST(DeclineCodeName, WireNames) {
  EXPECT_EQ(decline_code_name(DeclineCode::insufficient_funds), "insufficient_funds");
  EXPECT_EQ(decline_code_name(DeclineCode::do_not_honor), "do_not_honor");
  EXPECT_EQ(decline_code_name(DeclineCode::card_expired), "card_expired");
  EXPECT_EQ(decline_code_name(DeclineCode::suspected_fraud), "suspected_fraud");
  EXPECT_EQ(decline_code_name(DeclineCode::restricted_card), "restricted_card");
  EXPECT_EQ(decline_code_name(DeclineCode::limit_exceeded), "limit_exceeded");
  EXPECT_EQ(decline_code_name(DeclineCode::invalid_card_number), "invalid_card_number");
}

TEST(AuthorizationCode, SixUppercaseAlphanumerics) {
  EXPECT_EQ(std::string_view(authorization_code_from_bits(0).data(), 6), "000000");
  EXPECT_EQ(std::string_view(authorization_code_from_bits(35).data(), 6), "Z00000");
  EXPECT_EQ(std::string_view(authorization_code_from_bits(36).data(), 6), "010000");
  Xoshiro256 rng(5);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const AuthorizationCode code = authorization_code_from_bits(rng.next());
    for (char c : code) ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) << c;
    seen.emplace(code.data(), code.size());
  }
  EXPECT_GT(seen.size(), 9990u);  // 36^6 codes: collisions are rare
}

TEST(Decide, DistributionFollowsTheRates) {
  const AuthorizeRequest request = request_with_card("4111111111111111");
  Xoshiro256 rng(99);
  constexpr int kCalls = 200000;
  std::map<Verdict, int> verdicts;
  std::map<DeclineCode, int> declines;
  for (int i = 0; i < kCalls; ++i) {
    const Decision d = decide(request, {0.9, 0.1}, rng);
    ++verdicts[d.verdict];
    if (d.verdict == Verdict::declined) ++declines[d.decline_code];
  }
  EXPECT_NEAR(verdicts[Verdict::processor_error] / double(kCalls), 0.1, 0.005);
  EXPECT_NEAR(verdicts[Verdict::approved] / double(kCalls), 0.9 * 0.9, 0.005);
  const double declined = verdicts[Verdict::declined];
  EXPECT_NEAR(declines[DeclineCode::insufficient_funds] / declined, 0.40, 0.02);
  EXPECT_NEAR(declines[DeclineCode::do_not_honor] / declined, 0.25, 0.02);
  EXPECT_NEAR(declines[DeclineCode::limit_exceeded] / declined, 0.07, 0.02);
  EXPECT_EQ(declines[DeclineCode::invalid_card_number], 0);
}

TEST(Decide, SameSeedSameDecisions) {
  const AuthorizeRequest request = request_with_card("5555555555554444");
  Xoshiro256 a(2024), b(2024);
  for (int i = 0; i < 1000; ++i) {
    const Decision x = decide(request, {0.5, 0.2}, a);
    const Decision y = decide(request, {0.5, 0.2}, b);
    ASSERT_EQ(x.verdict, y.verdict);
    ASSERT_EQ(x.decline_code, y.decline_code);
    ASSERT_EQ(x.authorization_code, y.authorization_code);
  }
}

TEST(SimulatedLatency, BasePlusMinusUniformJitter) {
  Xoshiro256 rng(3);
  uint32_t low = UINT32_MAX, high = 0;
  double sum = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const uint32_t ms = simulated_latency_ms({200, 50}, rng);
    ASSERT_GE(ms, 150u);
    ASSERT_LE(ms, 250u);
    low = std::min(low, ms);
    high = std::max(high, ms);
    sum += ms;
  }
  EXPECT_EQ(low, 150u);
  EXPECT_EQ(high, 250u);
  EXPECT_NEAR(sum / kDraws, 200.0, 0.5);
}

TEST(SimulatedLatency, ClampedAtZeroAndExactWithoutJitter) {
  Xoshiro256 rng(4);
  bool saw_zero = false;
  for (int i = 0; i < 10000; ++i) {
    const uint32_t ms = simulated_latency_ms({10, 50}, rng);
    ASSERT_LE(ms, 60u);
    saw_zero |= ms == 0;
  }
  EXPECT_TRUE(saw_zero);
  EXPECT_EQ(simulated_latency_ms({200, 0}, rng), 200u);
  EXPECT_EQ(simulated_latency_ms({0, 0}, rng), 0u);
  EXPECT_LE(simulated_latency_ms({60000, 10000}, rng), 70000u);
}

TEST(SimulatedLatency, SlowFractionGetsTheExtraLatency) {
  Xoshiro256 rng(5);
  constexpr int kDraws = 200000;
  int slow = 0;
  for (int i = 0; i < kDraws; ++i) {
    const uint32_t ms = simulated_latency_ms(
        {.base_ms = 200, .jitter_ms = 50, .slow_rate = 0.04, .slow_ms = 150}, rng);
    if (ms > 250) {
      ASSERT_GE(ms, 300u);
      ASSERT_LE(ms, 400u);
      ++slow;
    } else {
      ASSERT_GE(ms, 150u);
    }
  }
  EXPECT_NEAR(static_cast<double>(slow) / kDraws, 0.04, 0.003);
  EXPECT_EQ(
      simulated_latency_ms({.base_ms = 100, .jitter_ms = 0, .slow_rate = 1, .slow_ms = 7}, rng),
      107u);
}

TEST(SimulatedLatency, NoSlowRateDrawsNothingExtra) {
  Xoshiro256 a(6);
  Xoshiro256 b(6);
  for (int i = 0; i < 100; ++i) {
    simulated_latency_ms({.base_ms = 200, .jitter_ms = 50, .slow_rate = 0, .slow_ms = 500}, a);
  }
  for (int i = 0; i < 100; ++i) simulated_latency_ms({200, 50}, b);
  EXPECT_EQ(a.next(), b.next());
}

}  // namespace
}  // namespace paystream::core
