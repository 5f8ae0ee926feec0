#include "core/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

namespace paystream::core {
namespace {

TEST(Splitmix64, MatchesReferenceOutputForSeedZero) {
  // Reference values of splitmix64 seeded with 0.
  uint64_t state = 0;
  EXPECT_EQ(splitmix64_next(state), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(splitmix64_next(state), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(splitmix64_next(state), 0x06c45d188009454fULL);
}

TEST(Xoshiro256, SameSeedSameSequenceDifferentSeedDifferentSequence) {
  Xoshiro256 a(42), b(42), c(43);
  bool any_difference = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t va = a.next();
    EXPECT_EQ(va, b.next());
    any_difference |= va != c.next();
  }
  EXPECT_TRUE(any_difference);
}

TEST(Xoshiro256, UnitIsInHalfOpenRangeWithMeanNearHalf) {
  Xoshiro256 rng(7);
  double sum = 0;
  constexpr int kDraws = 200000;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.next_unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.005);
}

TEST(Xoshiro256, NextBelowCoversRangeUniformly) {
  Xoshiro256 rng(9);
  std::array<int, 7> histogram{};
  constexpr int kDraws = 70000;
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t v = rng.next_below(7);
    ASSERT_LT(v, 7u);
    ++histogram[v];
  }
  for (int count : histogram) EXPECT_NEAR(count, kDraws / 7.0, 500);
  EXPECT_EQ(rng.next_below(0), 0u);
  EXPECT_EQ(rng.next_below(1), 0u);
}

}  // namespace
}  // namespace paystream::core
