#include "bench/authload/find_max.h"

#include <gtest/gtest.h>

namespace paystream::bench {
namespace {

// A server that keeps p99 under the bound up to `capacity` requests/s; each step costs 3 s.
struct FakeServer {
  double capacity;
  double clock_s = 0;
  StepOutcome run(double rate) {
    clock_s += 3;
    StepOutcome s;
    s.ran = true;
    s.valid = true;
    s.p99_ms = rate <= capacity ? 5 : 500;
    return s;
  }
};

FindMaxResult search(FakeServer& server, double start, double budget) {
  FindMaxConfig config;
  config.start_rate = start;
  config.budget_s = budget;
  return find_max_rate(
      config, [&](double rate) { return server.run(rate); }, [&] { return server.clock_s; });
}

TEST(FindMax, RampsThenBisectsToWithinFivePercent) {
  FakeServer server{7300};
  const FindMaxResult r = search(server, 1000, 1000);
  EXPECT_EQ(r.stopped_because, "converged");
  EXPECT_LE(r.best_rate, 7300);
  EXPECT_GE(r.best_rate, 7300 * 0.95);
  ASSERT_GE(r.best_step, 0);
  EXPECT_EQ(r.steps[static_cast<size_t>(r.best_step)].rate, r.best_rate);
  EXPECT_EQ(r.steps[0].rate, 1000);
  EXPECT_EQ(r.steps[3].rate, 8000);  // 1000, 2000, 4000, 8000 fails
  EXPECT_FALSE(r.steps[3].passed);
}

TEST(FindMax, StaysWithinTheTimeBudget) {
  FakeServer server{7300};
  const FindMaxResult r = search(server, 1000, 10);
  EXPECT_EQ(r.stopped_because, "time budget");
  EXPECT_EQ(r.steps.size(), 3u);
  EXPECT_LE(server.clock_s, 10);
  EXPECT_EQ(r.best_rate, 4000);
}

TEST(FindMax, HalvesWhenTheStartFails) {
  FakeServer server{300};
  const FindMaxResult r = search(server, 1000, 1000);
  EXPECT_GT(r.best_rate, 300 * 0.95);
  EXPECT_LE(r.best_rate, 300);
}

TEST(FindMax, StopsWhenRunsAreInvalidAtLowLoad) {
  FindMaxConfig config;
  config.start_rate = 1000;
  int steps = 0;
  const FindMaxResult r = find_max_rate(
      config,
      [&](double) {
        ++steps;
        return StepOutcome{.ran = true, .valid = false, .p99_ms = 0.1};
      },
      [] { return 0.0; });
  EXPECT_EQ(r.stopped_because, "generator limit: invalid even at low load");
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(r.best_rate, 0);
}

TEST(FindMax, InvalidOrErroringStepsDoNotPass) {
  StepOutcome s{.rate = 10, .ran = true, .valid = false, .achieved_rate = 10, .p99_ms = 1};
  judge_step(s, 50);
  EXPECT_FALSE(s.passed);
  s.valid = true;
  s.error_share = 0.01;
  judge_step(s, 50);
  EXPECT_FALSE(s.passed);
  s.error_share = 0;
  judge_step(s, 50);
  EXPECT_TRUE(s.passed);
}

TEST(FindMax, RunErrorStops) {
  FindMaxConfig config;
  const FindMaxResult r = find_max_rate(
      config, [](double) { return StepOutcome{}; }, [] { return 0.0; });
  EXPECT_EQ(r.stopped_because, "run error");
  EXPECT_EQ(r.best_rate, 0);
  EXPECT_EQ(r.steps.size(), 1u);
}

}  // namespace
}  // namespace paystream::bench
