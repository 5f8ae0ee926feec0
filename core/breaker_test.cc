#include "core/breaker.h"

#include <gtest/gtest.h>

#include <vector>

namespace paystream::core {

// Readable failure messages for transitions.
void PrintTo(const BreakerTransition& t, std::ostream* os) {
  *os << breaker_state_name(t.from) << "->" << breaker_state_name(t.to);
}

namespace {

constexpr auto kSuccess = CallOutcome::success;
constexpr auto kFailure = CallOutcome::failure;

BreakerSettings settings(uint32_t threshold = 5, uint32_t open_timeout_ms = 30000,
                         uint32_t half_open_max = 3, uint32_t interval_ms = 60000) {
  return {threshold, open_timeout_ms, half_open_max, interval_ms};
}

BreakerTransition transition(BreakerState from, BreakerState to) {
  return {from, to};
}

// A breaker with an injected clock.
class Breaker : public ::testing::Test {
 protected:
  void make(const BreakerSettings& s, uint64_t start_ms = 1'000'000) {
    now_ = start_ms;
    breaker_ = std::make_unique<CircuitBreaker>(s, now_);
  }
  Admission admit() { return breaker_->admit(now_); }
  ReportResult report(const Admission& a, CallOutcome outcome) {
    EXPECT_TRUE(a.admitted);
    return breaker_->report(a.ticket, outcome, now_);
  }
  // One admitted call that reports right away; returns the report.
  ReportResult call(CallOutcome outcome) { return report(admit(), outcome); }
  BreakerSnapshot snapshot() const { return breaker_->snapshot(now_); }
  BreakerState state() const { return snapshot().state; }

  // Trips a closed breaker with `threshold` failures.
  void trip(uint32_t threshold) {
    for (uint32_t i = 0; i + 1 < threshold; ++i) {
      ASSERT_FALSE(call(kFailure).transition.happened());
    }
    ASSERT_EQ(call(kFailure).transition, transition(BreakerState::closed, BreakerState::open));
  }

  uint64_t now_ = 0;
  std::unique_ptr<CircuitBreaker> breaker_;
};

TEST_F(Breaker, StartsClosedAndAdmits) {
  make(settings());
  const BreakerSnapshot s = snapshot();
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.generation, 0u);
  EXPECT_EQ(s.trips, 0u);
  const Admission a = admit();
  EXPECT_TRUE(a.admitted);
  EXPECT_FALSE(a.probe);
  EXPECT_EQ(a.ticket.generation, 0u);
  EXPECT_FALSE(a.transition.happened());
}

TEST_F(Breaker, TripsAfterThresholdConsecutiveFailures) {
  make(settings(5));
  for (int i = 1; i <= 4; ++i) {
    const ReportResult r = call(kFailure);
    EXPECT_TRUE(r.counted);
    EXPECT_FALSE(r.transition.happened());
    EXPECT_EQ(snapshot().consecutive_failures, static_cast<uint32_t>(i));
  }
  EXPECT_EQ(state(), BreakerState::closed);
  const ReportResult fifth = call(kFailure);
  EXPECT_TRUE(fifth.counted);
  EXPECT_EQ(fifth.transition, transition(BreakerState::closed, BreakerState::open));
  const BreakerSnapshot s = snapshot();
  EXPECT_EQ(s.state, BreakerState::open);
  EXPECT_EQ(s.generation, 1u);
  EXPECT_EQ(s.trips, 1u);
  EXPECT_EQ(s.consecutive_failures, 0u);
}

TEST_F(Breaker, SuccessResetsTheFailureStreak) {
  make(settings(3));
  call(kFailure);
  call(kFailure);
  EXPECT_TRUE(call(kSuccess).counted);
  EXPECT_EQ(snapshot().consecutive_failures, 0u);
  EXPECT_EQ(snapshot().consecutive_successes, 1u);
  call(kFailure);
  call(kFailure);
  EXPECT_EQ(state(), BreakerState::closed);
  EXPECT_EQ(snapshot().consecutive_successes, 0u);
  call(kFailure);
  EXPECT_EQ(state(), BreakerState::open);
}

TEST_F(Breaker, DeclinesAreSuccessesAndNeverTrip) {
  make(settings(1));
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(call(kSuccess).transition.happened());
  const BreakerSnapshot s = snapshot();
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.trips, 0u);
  EXPECT_EQ(s.consecutive_successes, 255u);  // saturates
}

TEST_F(Breaker, ThresholdOfOneTripsOnTheFirstFailure) {
  make(settings(1));
  EXPECT_EQ(call(kFailure).transition, transition(BreakerState::closed, BreakerState::open));
}

TEST_F(Breaker, OpenRejectsWithTimeUntilHalfOpen) {
  make(settings(1, 30000));
  trip(1);
  Admission a = admit();
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.retry_after_ms, 30000u);
  now_ += 12345;
  a = admit();
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.retry_after_ms, 30000u - 12345u);
  EXPECT_EQ(retry_after_seconds(a.retry_after_ms), 18u);
  now_ += 30000 - 12345 - 1;
  a = admit();
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.retry_after_ms, 1u);
  EXPECT_EQ(state(), BreakerState::open);
}

TEST_F(Breaker, OpenBecomesHalfOpenAtTheDeadlineAndTheAdmitterReportsIt) {
  make(settings(1, 30000, 3));
  trip(1);
  now_ += 30000;
  EXPECT_EQ(state(), BreakerState::half_open);  // a snapshot sees it without changing it
  const Admission first = admit();
  EXPECT_TRUE(first.admitted);
  EXPECT_TRUE(first.probe);
  EXPECT_EQ(first.transition, transition(BreakerState::open, BreakerState::half_open));
  EXPECT_EQ(first.ticket.generation, 2u);
  const Admission second = admit();
  EXPECT_TRUE(second.admitted);
  EXPECT_FALSE(second.transition.happened());  // reported once, by the call that made it
  EXPECT_EQ(snapshot().requests, 2u);
}

TEST_F(Breaker, HalfOpenAdmitsAtMostMaxRequestsThenClosesOnThatManySuccesses) {
  make(settings(1, 1000, 3));
  trip(1);
  now_ += 1000;
  std::vector<Admission> probes;
  probes.reserve(3);
  for (int i = 0; i < 3; ++i) probes.push_back(admit());
  for (const Admission& p : probes) EXPECT_TRUE(p.admitted && p.probe);
  for (int i = 0; i < 5; ++i) {
    const Admission rejected = admit();
    EXPECT_FALSE(rejected.admitted);
    EXPECT_EQ(rejected.retry_after_ms, 0u);
    EXPECT_EQ(retry_after_seconds(rejected.retry_after_ms), 1u);
  }
  EXPECT_FALSE(report(probes[0], kSuccess).transition.happened());
  EXPECT_FALSE(report(probes[1], kSuccess).transition.happened());
  EXPECT_EQ(snapshot().consecutive_successes, 2u);
  EXPECT_FALSE(admit().admitted);  // slots are per generation, not per outstanding call
  EXPECT_EQ(report(probes[2], kSuccess).transition,
            transition(BreakerState::half_open, BreakerState::closed));
  const BreakerSnapshot s = snapshot();
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.generation, 3u);
  EXPECT_EQ(s.consecutive_successes, 0u);
  EXPECT_EQ(s.trips, 1u);
  EXPECT_TRUE(admit().admitted);
}

TEST_F(Breaker, AbandonedCallsCountNeitherWayAndFreeTheirProbeSlot) {
  make(settings(2, 1000, 2));
  EXPECT_TRUE(call(kFailure).counted);
  EXPECT_TRUE(call(CallOutcome::abandoned).counted);
  EXPECT_EQ(snapshot().consecutive_failures, 1u);  // neither reset nor advanced
  EXPECT_TRUE(call(kSuccess).counted);
  trip(2);
  now_ += 1000;
  const Admission p1 = admit(), p2 = admit();
  ASSERT_TRUE(p1.probe && p2.probe);
  EXPECT_FALSE(admit().admitted);
  EXPECT_FALSE(report(p1, CallOutcome::abandoned).transition.happened());
  EXPECT_EQ(state(), BreakerState::half_open);
  const Admission p3 = admit();  // the abandoned probe's slot
  EXPECT_TRUE(p3.admitted && p3.probe);
  EXPECT_FALSE(admit().admitted);
  EXPECT_FALSE(report(p2, kSuccess).transition.happened());
  EXPECT_EQ(report(p3, kSuccess).transition,
            transition(BreakerState::half_open, BreakerState::closed));
}

TEST_F(Breaker, HalfOpenFailureReopens) {
  make(settings(2, 5000, 3));
  trip(2);
  now_ += 5000;
  const Admission p1 = admit(), p2 = admit();
  EXPECT_FALSE(report(p1, kSuccess).transition.happened());
  now_ += 10;
  EXPECT_EQ(report(p2, kFailure).transition,
            transition(BreakerState::half_open, BreakerState::open));
  EXPECT_EQ(snapshot().trips, 2u);
  const Admission rejected = admit();
  EXPECT_FALSE(rejected.admitted);
  EXPECT_EQ(rejected.retry_after_ms, 5000u);  // a full open period from the failure
}

TEST_F(Breaker, ResultsFromOlderGenerationsAreIgnored) {
  make(settings(2, 1000, 2));
  const Admission old_closed = admit();
  trip(2);
  // A closed-state success arriving after the trip changes nothing.
  const ReportResult late = report(old_closed, kSuccess);
  EXPECT_FALSE(late.counted);
  EXPECT_FALSE(late.transition.happened());
  EXPECT_EQ(state(), BreakerState::open);

  now_ += 1000;
  const Admission p1 = admit(), p2 = admit();
  EXPECT_EQ(report(p1, kFailure).transition,
            transition(BreakerState::half_open, BreakerState::open));
  // p2 belongs to the half-open generation that ended: its success must not count.
  EXPECT_FALSE(report(p2, kSuccess).counted);
  now_ += 1000;
  const Admission q1 = admit(), q2 = admit();
  EXPECT_FALSE(report(q1, kSuccess).transition.happened());
  // A stale success cannot close the breaker in place of q2.
  EXPECT_FALSE(report(p2, kSuccess).counted);
  EXPECT_EQ(state(), BreakerState::half_open);
  EXPECT_EQ(report(q2, kSuccess).transition,
            transition(BreakerState::half_open, BreakerState::closed));
  // A failure of a finished half-open generation does not reopen the closed breaker.
  EXPECT_FALSE(report(q1, kFailure).counted);
  EXPECT_EQ(state(), BreakerState::closed);
}

TEST_F(Breaker, ClosedCountsRestartEveryInterval) {
  make(settings(3, 30000, 3, 60000));
  const Admission before = admit();
  call(kFailure);
  call(kFailure);
  EXPECT_EQ(snapshot().consecutive_failures, 2u);
  now_ += 60000;
  const BreakerSnapshot s = snapshot();
  EXPECT_EQ(s.state, BreakerState::closed);
  EXPECT_EQ(s.generation, 1u);
  EXPECT_EQ(s.consecutive_failures, 0u);
  // The third failure belongs to the previous interval: ignored.
  EXPECT_FALSE(report(before, kFailure).counted);
  EXPECT_EQ(state(), BreakerState::closed);
  const Admission fresh = admit();
  EXPECT_EQ(fresh.ticket.generation, 1u);
  EXPECT_FALSE(fresh.transition.happened());  // a new generation is not a state change
  call(kFailure);
  call(kFailure);
  EXPECT_EQ(state(), BreakerState::closed);
  EXPECT_EQ(report(fresh, kFailure).transition,
            transition(BreakerState::closed, BreakerState::open));
}

TEST_F(Breaker, IntervalZeroNeverResets) {
  make(settings(3, 30000, 3, 0));
  call(kFailure);
  call(kFailure);
  now_ += 3'600'000ull * 24 * 10;
  EXPECT_EQ(snapshot().consecutive_failures, 2u);
  EXPECT_EQ(snapshot().generation, 0u);
  EXPECT_EQ(call(kFailure).transition, transition(BreakerState::closed, BreakerState::open));
}

TEST_F(Breaker, IntervalIsCountedFromClosing) {
  make(settings(1, 1000, 1, 5000));
  trip(1);
  now_ += 1000;
  EXPECT_EQ(call(kSuccess).transition, transition(BreakerState::half_open, BreakerState::closed));
  const uint32_t closed_generation = snapshot().generation;
  now_ += 4999;
  EXPECT_EQ(snapshot().generation, closed_generation);
  now_ += 1;
  EXPECT_EQ(snapshot().generation, closed_generation + 1);
}

TEST_F(Breaker, ZeroOpenTimeoutGoesStraightToHalfOpen) {
  make(settings(1, 0, 1));
  trip(1);
  const Admission probe = admit();
  EXPECT_TRUE(probe.probe);
  EXPECT_EQ(probe.transition, transition(BreakerState::open, BreakerState::half_open));
  EXPECT_FALSE(admit().admitted);
  EXPECT_EQ(report(probe, kSuccess).transition,
            transition(BreakerState::half_open, BreakerState::closed));
}

TEST_F(Breaker, DeadlinesAreWrapSafe) {
  // The 32-bit millisecond deadline wraps between the trip and the end of the open period.
  make(settings(1, 30000, 1, 60000), 0xFFFF'FFFFull - 10'000);
  trip(1);
  now_ += 29'999;
  EXPECT_FALSE(admit().admitted);
  EXPECT_EQ(admit().retry_after_ms, 1u);
  now_ += 1;
  EXPECT_TRUE(admit().probe);
}

TEST_F(Breaker, WorksWithLargeClockValues) {
  make(settings(1, 30000, 1, 60000), 5'000'000'000'000ull);
  trip(1);
  now_ += 29'999;
  EXPECT_FALSE(admit().admitted);
  now_ += 1;
  EXPECT_TRUE(admit().probe);
}

TEST_F(Breaker, LongIdleOpenBreakerIsNotStuck) {
  // Idle for longer than half, and longer than all, of the 32-bit clock range.
  for (uint64_t idle : {25ull * 86'400'000, 50ull * 86'400'000, 200ull * 86'400'000}) {
    make(settings(1, 30000, 1, 60000));
    trip(1);
    now_ += idle;
    EXPECT_EQ(state(), BreakerState::half_open) << idle;
    EXPECT_TRUE(admit().probe) << idle;
  }
}

TEST_F(Breaker, CallerWithALaggingClockDoesNotEndTheOpenPeriodEarly) {
  make(settings(1, 30000, 1, 60000), 100'000);
  trip(1);  // deadline 130000
  const Admission lagging = breaker_->admit(100'000 - 5'000);
  EXPECT_FALSE(lagging.admitted);
  EXPECT_EQ(lagging.retry_after_ms, 30000u);  // clamped to the open period
  EXPECT_EQ(breaker_->snapshot(95'000).state, BreakerState::open);
}

TEST_F(Breaker, SnapshotDoesNotChangeState) {
  make(settings(1, 1000, 1));
  trip(1);
  now_ += 1000;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(state(), BreakerState::half_open);
  EXPECT_EQ(admit().transition, transition(BreakerState::open, BreakerState::half_open));
}

TEST_F(Breaker, EveryTransitionIsReportedExactlyOnce) {
  make(settings(2, 100, 2, 1000));
  std::vector<BreakerTransition> seen;
  const auto note = [&](const BreakerTransition& t) {
    if (t.happened()) seen.push_back(t);
  };
  for (int round = 0; round < 3; ++round) {
    note(call(kFailure).transition);
    note(call(kFailure).transition);  // trip
    now_ += 100;
    const Admission a = admit(), b = admit();
    note(a.transition);
    note(b.transition);
    note(report(a, kSuccess).transition);
    note(report(b, round == 1 ? kFailure : kSuccess).transition);
    if (round == 1) {
      now_ += 100;
      const Admission c = admit(), d = admit();
      note(c.transition);
      note(d.transition);
      note(report(c, kSuccess).transition);
      note(report(d, kSuccess).transition);
    }
  }
  using S = BreakerState;
  const std::vector<BreakerTransition> expected = {
      {S::closed, S::open},    {S::open, S::half_open},   {S::half_open, S::closed},
      {S::closed, S::open},    {S::open, S::half_open},   {S::half_open, S::open},
      {S::open, S::half_open}, {S::half_open, S::closed}, {S::closed, S::open},
      {S::open, S::half_open}, {S::half_open, S::closed},
  };
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(seen[i], expected[i]) << i;
  EXPECT_EQ(snapshot().trips, 4u);
}

TEST(BreakerSettings, Validation) {
  EXPECT_TRUE(breaker_settings_error({}).empty());
  EXPECT_TRUE(breaker_settings_error({1, 0, 1, 0}).empty());
  EXPECT_TRUE(breaker_settings_error({255, 3'600'000, 255, 3'600'000}).empty());
  EXPECT_FALSE(breaker_settings_error({0, 30000, 3, 60000}).empty());
  EXPECT_FALSE(breaker_settings_error({256, 30000, 3, 60000}).empty());
  EXPECT_FALSE(breaker_settings_error({5, 30000, 0, 60000}).empty());
  EXPECT_FALSE(breaker_settings_error({5, 30000, 256, 60000}).empty());
  EXPECT_FALSE(breaker_settings_error({5, 3'600'001, 3, 60000}).empty());
  EXPECT_FALSE(breaker_settings_error({5, 30000, 3, 3'600'001}).empty());
}

TEST(BreakerSettings, OutOfRangeValuesAreClamped) {
  const CircuitBreaker breaker({0, 9'000'000, 1000, 9'000'000}, 0);
  EXPECT_EQ(breaker.settings().failure_threshold, 1u);
  EXPECT_EQ(breaker.settings().half_open_max_requests, 255u);
  EXPECT_EQ(breaker.settings().open_timeout_ms, kMaxBreakerPeriodMs);
  EXPECT_EQ(breaker.settings().interval_ms, kMaxBreakerPeriodMs);
}

TEST(RetryAfterSeconds, RoundsUpToAtLeastOne) {
  EXPECT_EQ(retry_after_seconds(0), 1u);
  EXPECT_EQ(retry_after_seconds(1), 1u);
  EXPECT_EQ(retry_after_seconds(1000), 1u);
  EXPECT_EQ(retry_after_seconds(1001), 2u);
  EXPECT_EQ(retry_after_seconds(30000), 30u);
  EXPECT_EQ(retry_after_seconds(29999), 30u);
}

TEST(BreakerStateName, Names) {
  EXPECT_EQ(breaker_state_name(BreakerState::closed), "closed");
  EXPECT_EQ(breaker_state_name(BreakerState::open), "open");
  EXPECT_EQ(breaker_state_name(BreakerState::half_open), "half_open");
}

}  // namespace
}  // namespace paystream::core
