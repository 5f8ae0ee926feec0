#include "net/cpu_count.h"

#include <gtest/gtest.h>

#include <thread>

namespace paystream::net {
namespace {

TEST(CpuCount, QuotaRoundsUp) {
  EXPECT_EQ(cpus_from_cpu_max("200000 100000\n"), 2);
  EXPECT_EQ(cpus_from_cpu_max("250000 100000\n"), 3);
  EXPECT_EQ(cpus_from_cpu_max("50000 100000"), 1);
  EXPECT_EQ(cpus_from_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max(""), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("100000 0"), std::nullopt);
}

TEST(CpuCount, FindsTheUnifiedHierarchy) {
  EXPECT_EQ(cgroup_v2_path("0::/\n"), "/");
  EXPECT_EQ(cgroup_v2_path("12:cpu:/x\n0::/kubepods/pod1/ctr\n"), "/kubepods/pod1/ctr");
  EXPECT_EQ(cgroup_v2_path("12:cpu:/x\n"), std::nullopt);
}

TEST(CpuCount, AtLeastOneAndAtMostTheMachine) {
  const int cpus = usable_cpus();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace paystream::net
