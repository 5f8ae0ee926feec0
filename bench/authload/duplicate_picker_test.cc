#include "bench/authload/duplicate_picker.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace paystream::bench {
namespace {

std::map<KeyRole, int> count_roles(const DuplicatePlan& plan, uint64_t seed, int n) {
  DuplicatePicker picker(plan, seed);
  std::map<KeyRole, int> counts;
  for (int i = 0; i < n; ++i) ++counts[picker.next()];
  return counts;
}

TEST(DuplicatePicker, NoFractionsMeanOnlyOriginals) {
  const auto counts = count_roles(DuplicatePlan{}, 1, 1000);
  EXPECT_EQ(counts.at(KeyRole::original), 1000);
  EXPECT_EQ(counts.size(), 1u);
}

TEST(DuplicatePicker, MixedSplitsDuplicatesInHalves) {
  const int n = 100'000;
  const auto counts = count_roles(DuplicatePlan{0.2, DuplicateMode::mixed, 0.05}, 7, n);
  EXPECT_NEAR(counts.at(KeyRole::sequential), 0.10 * n, 0.01 * n);
  EXPECT_NEAR(counts.at(KeyRole::concurrent), 0.10 * n, 0.01 * n);
  EXPECT_NEAR(counts.at(KeyRole::conflicting), 0.05 * n, 0.005 * n);
  EXPECT_NEAR(counts.at(KeyRole::original), 0.75 * n, 0.01 * n);
}

TEST(DuplicatePicker, ModeSelectsTheKind) {
  const auto sequential = count_roles(DuplicatePlan{0.3, DuplicateMode::sequential, 0}, 3, 10'000);
  EXPECT_EQ(sequential.count(KeyRole::concurrent), 0u);
  EXPECT_EQ(sequential.count(KeyRole::conflicting), 0u);
  EXPECT_GT(sequential.at(KeyRole::sequential), 2500);
  const auto concurrent = count_roles(DuplicatePlan{0.3, DuplicateMode::concurrent, 0}, 3, 10'000);
  EXPECT_EQ(concurrent.count(KeyRole::sequential), 0u);
  EXPECT_GT(concurrent.at(KeyRole::concurrent), 2500);
}

TEST(DuplicatePicker, SameSeedSamePicks) {
  const DuplicatePlan plan{0.4, DuplicateMode::mixed, 0.1};
  DuplicatePicker a(plan, 11), b(plan, 11), c(plan, 12);
  std::vector<KeyRole> from_a, from_b, from_c;
  for (int i = 0; i < 200; ++i) {
    from_a.push_back(a.next());
    from_b.push_back(b.next());
    from_c.push_back(c.next());
  }
  EXPECT_EQ(from_a, from_b);
  EXPECT_NE(from_a, from_c);
}

TEST(DuplicatePicker, ModeNames) {
  EXPECT_EQ(duplicate_mode_name(DuplicateMode::sequential), "sequential");
  EXPECT_EQ(duplicate_mode_name(DuplicateMode::concurrent), "concurrent");
  EXPECT_EQ(duplicate_mode_name(DuplicateMode::mixed), "mixed");
}

}  // namespace
}  // namespace paystream::bench
