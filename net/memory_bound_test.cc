#include "net/memory_bound.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace paystream::net {
namespace {

TEST(MemoryBound, ParsesCgroupMemoryMax) {
  EXPECT_EQ(parse_memory_max("max\n").kind, MemoryLimitKind::unlimited);
  EXPECT_EQ(parse_memory_max("max").kind, MemoryLimitKind::unlimited);
  const MemoryLimit limit = parse_memory_max("268435456\n");
  EXPECT_EQ(limit.kind, MemoryLimitKind::limited);
  EXPECT_EQ(limit.bytes, 268435456u);
  EXPECT_EQ(parse_memory_max("18446744073709551615").bytes, UINT64_MAX);
  for (const char* bad : {"", "\n", "-1", "12k", "maxx", "1 2", "18446744073709551616", "0x10"}) {
    EXPECT_EQ(parse_memory_max(bad).kind, MemoryLimitKind::unknown) << bad;
  }
}

TEST(MemoryBound, BudgetIsCapTimesBoundAgainstTheLimit) {
  const MemoryLimit pod{MemoryLimitKind::limited, 256u << 20};
  MemoryBudget b = memory_budget(100, 1u << 20, pod);
  EXPECT_EQ(b.worst_case_bytes, 100u << 20);
  EXPECT_FALSE(b.exceeds_limit);
  b = memory_budget(256, 1u << 20, pod);  // exactly the limit: fits
  EXPECT_FALSE(b.exceeds_limit);
  b = memory_budget(257, 1u << 20, pod);
  EXPECT_EQ(b.worst_case_bytes, 257u << 20);
  EXPECT_TRUE(b.exceeds_limit);
  // Unlimited or unknown: nothing to exceed.
  EXPECT_FALSE(memory_budget(1'000'000, 1u << 20, {MemoryLimitKind::unlimited, 0}).exceeds_limit);
  EXPECT_FALSE(memory_budget(1'000'000, 1u << 20, {}).exceeds_limit);
  // Saturates instead of wrapping.
  b = memory_budget(UINT64_MAX / 2, 4, pod);
  EXPECT_EQ(b.worst_case_bytes, std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(b.exceeds_limit);
  EXPECT_EQ(memory_budget(0, 1u << 20, pod).worst_case_bytes, 0u);
}

TEST(MemoryBound, ConnectionBoundFollowsTheLimits) {
  SessionLimits limits;
  const ConnectionBound base = connection_bound(limits, kLargestPublicResponseBytes);
  EXPECT_EQ(base.kernel, 2u * (kSocketSendBufferBytes + kSocketReceiveBufferBytes) +
                             2 * kSocketQueueOvershootBytes);
  EXPECT_EQ(base.unparsed, 2 * kReadBufferBytes);
  EXPECT_EQ(base.total(), base.user() + base.kernel);
  EXPECT_GE(base.output, limits.max_unsent_bytes);

  SessionLimits bigger = limits;
  bigger.parse.max_body_bytes += 1000;
  EXPECT_EQ(connection_bound(bigger, kLargestPublicResponseBytes).parser, base.parser + 1000);
  bigger = limits;
  bigger.max_unsent_bytes += 1000;
  EXPECT_EQ(connection_bound(bigger, kLargestPublicResponseBytes).output, base.output + 1000);
  // Each response that may wait adds to both the queue and the output.
  EXPECT_EQ(connection_bound(limits, kLargestPublicResponseBytes + 10).total(),
            base.total() + 2 * limits.max_in_flight * 10 + 10);
}

}  // namespace
}  // namespace paystream::net
