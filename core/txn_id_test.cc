#include "core/txn_id.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

std::string format(uint64_t unix_ms, const TxnIdEntropy& random) {
  std::string out(kTxnIdLength, '?');
  format_txn_id(unix_ms, random, out.data());
  return out;
}

TEST(TxnId, Layout) {
  EXPECT_EQ(format(0, {}), "txn_00000000000000000000000000");
  TxnIdEntropy ones;
  ones.fill(0xFF);
  EXPECT_EQ(format((uint64_t{1} << 48) - 1, ones), "txn_7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  // The ULID specification's example timestamp.
  EXPECT_EQ(format(1469918176385, {}).substr(0, 14), "txn_01ARYZ6S41");
  TxnIdEntropy last_bit{};
  last_bit[9] = 1;
  EXPECT_EQ(format(0, last_bit), "txn_00000000000000000000000001");
  TxnIdEntropy first_bit{};
  first_bit[0] = 0x80;  // the top bit of the random part: the first of its 16 characters
  EXPECT_EQ(format(0, first_bit), "txn_0000000000G000000000000000");
  TxnIdEntropy middle{};
  middle[5] = 0x80;  // the top bit of the second 40-bit half
  EXPECT_EQ(format(0, middle), "txn_000000000000000000G0000000");
}

TEST(TxnId, UsesOnlyCrockfordCharacters) {
  TxnIdEntropy random;
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(i * 37 + 11);
  const std::string id = format(1'732'000'000'000, random);
  ASSERT_EQ(id.size(), 30u);
  for (char c : id.substr(4)) {
    EXPECT_NE(std::string_view("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c), std::string_view::npos)
        << c;
  }
}

TEST(TxnId, TimestampRoundTripsAndIdsSortByTime) {
  TxnIdEntropy ones;
  ones.fill(0xFF);
  const std::string earlier = format(1'732'000'000'000, ones);
  const std::string later = format(1'732'000'000'001, {});
  EXPECT_LT(earlier, later);
  EXPECT_EQ(txn_id_unix_ms(earlier), 1'732'000'000'000u);
  EXPECT_EQ(txn_id_unix_ms(later), 1'732'000'000'001u);
}

TEST(TxnId, RejectsMalformedIds) {
  const std::string good = format(1'732'000'000'000, {});
  EXPECT_TRUE(txn_id_unix_ms(good).has_value());
  for (const std::string& bad :
       {std::string(""), good.substr(1), good + "0", "TXN_" + good.substr(4),
        "txn-" + good.substr(4), "txn_8" + good.substr(5)}) {
    EXPECT_EQ(txn_id_unix_ms(bad), std::nullopt) << bad;
  }
  for (char c : {'I', 'L', 'O', 'U', 'a', '-', ' '}) {
    std::string bad = good;
    bad[20] = c;
    EXPECT_EQ(txn_id_unix_ms(bad), std::nullopt) << c;
  }
}

TEST(TxnIdGenerator, FreshEntropyForEachNewMillisecond) {
  TxnIdGenerator generator;
  EXPECT_TRUE(generator.needs_entropy(1000));
  TxnIdEntropy a{}, b{};
  a[0] = 1;
  b[0] = 2;
  std::string id(kTxnIdLength, '?');
  generator.next(1000, a, id.data());
  EXPECT_EQ(id, format(1000, a));
  EXPECT_FALSE(generator.needs_entropy(1000));
  EXPECT_FALSE(generator.needs_entropy(999));
  EXPECT_TRUE(generator.needs_entropy(1001));
  generator.next(1001, b, id.data());
  EXPECT_EQ(id, format(1001, b));
}

TEST(TxnIdGenerator, StrictlyIncreasingWithinAMillisecondAndWhenTheClockStepsBack) {
  TxnIdGenerator generator;
  TxnIdEntropy random{};
  random[9] = 0xFE;
  std::string previous(kTxnIdLength, '?');
  generator.next(5000, random, previous.data());
  TxnIdEntropy ignored;
  ignored.fill(0);
  for (uint64_t ms : {5000, 5000, 4000, 5000, 5000}) {
    std::string id(kTxnIdLength, '?');
    generator.next(ms, ignored, id.data());
    EXPECT_LT(previous, id);
    EXPECT_EQ(txn_id_unix_ms(id), 5000u);
    previous = id;
  }
  TxnIdEntropy expected{};
  expected[8] = 0x01;
  expected[9] = 0x03;  // 0x00FE + 5
  EXPECT_EQ(previous, format(5000, expected));
}

TEST(TxnIdGenerator, RandomPartOverflowBorrowsTheNextMillisecond) {
  TxnIdGenerator generator;
  TxnIdEntropy ones;
  ones.fill(0xFF);
  std::string first(kTxnIdLength, '?'), second(kTxnIdLength, '?');
  generator.next(7000, ones, first.data());
  generator.next(7000, ones, second.data());
  EXPECT_LT(first, second);
  EXPECT_EQ(second, format(7001, {}));
}

}  // namespace
}  // namespace paystream::core
