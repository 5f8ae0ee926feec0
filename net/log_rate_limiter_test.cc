#include "net/log_rate_limiter.h"

#include <gtest/gtest.h>

namespace paystream::net::log {
namespace {

TEST(LogRateLimiter, WritesUpToTheLimitPerWindowThenCountsTheRest) {
  RateLimiter limiter(3, 1000);
  for (int i = 0; i < 3; ++i) {
    const auto d = limiter.admit(5000 + i);
    EXPECT_TRUE(d.write);
    EXPECT_EQ(d.suppressed, 0u);
  }
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.admit(5100 + i).write);
  EXPECT_EQ(limiter.pending_suppressed(), 10u);
  EXPECT_FALSE(limiter.admit(5999).write) << "still the first window";

  // The first line of a later window carries the count, once.
  const auto next = limiter.admit(6000);
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.suppressed, 11u);
  EXPECT_EQ(limiter.pending_suppressed(), 0u);
  const auto after = limiter.admit(6001);
  EXPECT_TRUE(after.write);
  EXPECT_EQ(after.suppressed, 0u);
}

TEST(LogRateLimiter, ASustainedFloodWritesTheLimitEveryWindow) {
  RateLimiter limiter(5, 1000);
  uint64_t written = 0;
  uint64_t reported = 0;
  // 10 s at one line per millisecond: 10,000 lines.
  for (uint64_t t = 0; t < 10'000; ++t) {
    const auto d = limiter.admit(t);
    written += d.write ? 1 : 0;
    reported += d.suppressed;
  }
  EXPECT_EQ(written, 50u);
  // Every suppressed line is reported, except the last window's, which is pending.
  EXPECT_EQ(reported + limiter.pending_suppressed() + written, 10'000u);
  EXPECT_EQ(limiter.pending_suppressed(), 995u);
}

TEST(LogRateLimiter, QuietTrafficIsNeverSuppressed) {
  RateLimiter limiter(2, 1000);
  for (uint64_t t = 0; t < 100'000; t += 500) {  // 2 a window, exactly
    const auto d = limiter.admit(t);
    EXPECT_TRUE(d.write) << t;
    EXPECT_EQ(d.suppressed, 0u);
  }
}

TEST(LogRateLimiter, ZeroMeansNoLimit) {
  RateLimiter limiter(0, 1000);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(limiter.admit(7).write);
  EXPECT_EQ(limiter.pending_suppressed(), 0u);
}

TEST(LogRateLimiter, AClockGoingBackwardsStartsANewWindow) {
  RateLimiter limiter(1, 1000);
  EXPECT_TRUE(limiter.admit(10'000).write);
  EXPECT_FALSE(limiter.admit(10'001).write);
  const auto d = limiter.admit(500);
  EXPECT_TRUE(d.write);
  EXPECT_EQ(d.suppressed, 1u);
}

}  // namespace
}  // namespace paystream::net::log
