#include "bench/authload/load_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace paystream::bench {
namespace {

TEST(LoadPlan, ThreadSharesAddUp) {
  for (uint64_t total : {0u, 1u, 7u, 10'000u, 10'001u}) {
    for (size_t threads : {1u, 2u, 3u, 8u}) {
      uint64_t sum = 0;
      for (size_t t = 0; t < threads; ++t) {
        uint64_t expected = 0;
        for (uint64_t i = 0; i < total; ++i) expected += i % threads == t ? 1 : 0;
        EXPECT_EQ(thread_share(total, t, threads), expected) << total << "/" << threads;
        sum += thread_share(total, t, threads);
      }
      EXPECT_EQ(sum, total);
    }
  }
}

TEST(LoadPlan, ConnectionsSplitByThreadAndWeight) {
  EXPECT_EQ(split_connections(10, 3, 1, 0), (std::vector<std::vector<size_t>>{{4}, {3}, {3}}));
  EXPECT_EQ(split_connections(20, 1, 2, 25), (std::vector<std::vector<size_t>>{{15, 5}}));
  EXPECT_EQ(split_connections(10, 1, 2, 1), (std::vector<std::vector<size_t>>{{9, 1}}));
  EXPECT_EQ(split_connections(10, 1, 2, 99), (std::vector<std::vector<size_t>>{{1, 9}}));
  EXPECT_EQ(split_connections(4, 2, 2, 0), (std::vector<std::vector<size_t>>{{2, 0}, {2, 0}}));
  EXPECT_EQ(split_connections(4, 2, 2, 100), (std::vector<std::vector<size_t>>{{0, 2}, {0, 2}}));
  EXPECT_EQ(min_connections(2, 2, 50), 4u);
  EXPECT_EQ(min_connections(2, 2, 100), 2u);
  EXPECT_EQ(min_connections(3, 1, 50), 3u);
}

TEST(LoadPlan, WeightedSplitIsExactOverEveryHundred) {
  for (int weight : {0, 1, 5, 33, 50, 90, 100}) {
    WeightedSplit split(weight);
    int second = 0;
    int longest_run = 0;
    int run = 0;
    for (int i = 0; i < 1000; ++i) {
      const size_t pick = split.next();
      second += static_cast<int>(pick);
      run = pick == 0 ? run + 1 : 0;
      longest_run = std::max(longest_run, run);
      if ((i + 1) % 100 == 0) {
        EXPECT_EQ(second, weight * (i + 1) / 100) << weight;
      }
    }
    if (weight > 0) {
      EXPECT_LE(longest_run, 100 / weight) << "spread evenly";
    }
  }
}

}  // namespace
}  // namespace paystream::bench
