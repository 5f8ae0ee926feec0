#include "bench/authload/idempotency_keys.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

namespace paystream::bench {
namespace {

TEST(IdempotencyKeys, PrefixNamesTheProcessAndTheRun) {
  EXPECT_EQ(make_key_prefix(0x0123456789abcdefULL, 0), "al0123456789abcdefr0");
  EXPECT_EQ(make_key_prefix(0, 17), "al0000000000000000r17");
  EXPECT_NE(make_key_prefix(5, 1), make_key_prefix(5, 2));
  EXPECT_LE(make_key_prefix(UINT64_MAX, UINT64_MAX).size(), kMaxPrefixBytes);
}

TEST(IdempotencyKeys, RandomPartDiffersBetweenProcesses) {
  // Two draws from the kernel colliding has probability 2^-64.
  EXPECT_NE(random_from_os(), random_from_os());
}

TEST(IdempotencyKeys, HeaderLineCarriesPrefixAndNumber) {
  KeyHeader header("alabcr3");
  EXPECT_EQ(header.line(42), "Idempotency-Key: alabcr3-42\r\n");
  EXPECT_EQ(header.line(0), "Idempotency-Key: alabcr3-0\r\n");
  EXPECT_EQ(header.line(1234567), "Idempotency-Key: alabcr3-1234567\r\n");
}

TEST(IdempotencyKeys, LongestKeyIsPrintableAndWithinTheLimit) {
  KeyHeader header(make_key_prefix(UINT64_MAX, UINT64_MAX));
  const std::string_view line = header.line(UINT64_MAX);
  ASSERT_TRUE(line.starts_with("Idempotency-Key: "));
  ASSERT_TRUE(line.ends_with("\r\n"));
  const std::string_view key = line.substr(17, line.size() - 19);
  EXPECT_LE(key.size(), kMaxKeyBytes);
  EXPECT_LE(key.size(), 255u);
  for (char c : key) EXPECT_TRUE(c >= 0x21 && c <= 0x7e) << key;
}

TEST(IdempotencyKeys, NumbersAndRunsGiveDistinctKeys) {
  std::set<std::string> keys;
  for (uint64_t run = 0; run < 3; ++run) {
    KeyHeader header(make_key_prefix(99, run));
    for (uint64_t n = 0; n < 1000; ++n) keys.insert(std::string(header.line(n)));
  }
  EXPECT_EQ(keys.size(), 3000u);
}

}  // namespace
}  // namespace paystream::bench
