#include "core/money.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/random.h"

namespace paystream::core {
namespace {

const Currency& currency(std::string_view code) {
  const Currency* found = find_currency(code);
  EXPECT_NE(found, nullptr) << code;
  return *found;
}

AmountResult parse(std::string_view token, std::string_view code) {
  return parse_amount(token, currency(code));
}

std::string format(int64_t minor, int exponent) {
  char buffer[kMaxAmountText];
  return std::string(buffer, format_amount(minor, exponent, buffer));
}

void expect_minor(std::string_view token, std::string_view code, int64_t minor) {
  const AmountResult result = parse(token, code);
  EXPECT_EQ(result.error, AmountError::none) << token << " " << code;
  EXPECT_EQ(result.minor, minor) << token << " " << code;
}

void expect_error(std::string_view token, std::string_view code, AmountError error) {
  EXPECT_EQ(parse(token, code).error, error) << "'" << token << "' " << code;
}

TEST(ParseAmount, ExponentTwo) {
  expect_minor("2450.00", "USD", 245000);
  expect_minor("2450", "USD", 245000);
  expect_minor("2450.5", "USD", 245050);
  expect_minor("189.99", "EUR", 18999);  // 189.99 is not exact in binary floating point
  expect_minor("0.01", "USD", 1);
  expect_minor("0.1", "USD", 10);
  expect_minor("15000.00", "USD", 1500000);
  expect_error("0.001", "USD", AmountError::too_many_decimals);
  expect_error("2450.001", "USD", AmountError::too_many_decimals);
}

TEST(ParseAmount, ExponentZero) {
  expect_minor("1500", "JPY", 1500);
  expect_minor("1500.0", "JPY", 1500);
  expect_minor("1500.000000", "JPY", 1500);
  expect_minor("1", "CLP", 1);
  expect_error("1500.5", "JPY", AmountError::too_many_decimals);
  expect_error("1500.01", "JPY", AmountError::too_many_decimals);
  expect_error("0.5", "CLP", AmountError::too_many_decimals);
}

TEST(ParseAmount, ExponentThree) {
  expect_minor("12.345", "KWD", 12345);
  expect_minor("12.3450", "KWD", 12345);
  expect_minor("12.34", "BHD", 12340);
  expect_minor("12", "BHD", 12000);
  expect_minor("0.001", "BHD", 1);
  expect_error("12.3456", "KWD", AmountError::too_many_decimals);
  expect_error("0.0001", "BHD", AmountError::too_many_decimals);
}

TEST(ParseAmount, ExtraZeroDecimalsAreAcceptedInAnyNumber) {
  expect_minor("1.10000000000000000000000000000000000000", "USD", 110);
  expect_minor("7.000000000000000000000000000000000000000000000000000000000", "JPY", 7);
  expect_error("1.1000000000000000000000000000000000000001", "USD", AmountError::too_many_decimals);
}

TEST(ParseAmount, MaximumOfEveryCurrencyIsInclusive) {
  for (const Currency& c : supported_currencies()) {
    const std::string max_text = format(c.max_minor, c.exponent);
    const AmountResult at_max = parse_amount(max_text, c);
    EXPECT_TRUE(at_max.ok()) << c.code << " " << max_text;
    EXPECT_EQ(at_max.minor, c.max_minor) << c.code;
    EXPECT_EQ(parse_amount(format(c.max_minor + 1, c.exponent), c).error,
              AmountError::above_maximum)
        << c.code;
    // The smallest positive amount is one minor unit.
    const AmountResult smallest = parse_amount(format(1, c.exponent), c);
    EXPECT_TRUE(smallest.ok()) << c.code;
    EXPECT_EQ(smallest.minor, 1) << c.code;
  }
}

TEST(ParseAmount, DocumentedMaxima) {
  expect_minor("1000000.00", "USD", 100'000'000);
  expect_error("1000000.01", "USD", AmountError::above_maximum);
  expect_error("1000001", "USD", AmountError::above_maximum);
  expect_minor("150000000", "JPY", 150'000'000);
  expect_error("150000001", "JPY", AmountError::above_maximum);
  expect_minor("4000000000.00", "COP", 400'000'000'000);
  expect_error("4000000000.01", "COP", AmountError::above_maximum);
  expect_minor("300000.000", "KWD", 300'000'000);
  expect_error("300000.001", "KWD", AmountError::above_maximum);
}

TEST(ParseAmount, ZeroIsNotPositive) {
  expect_error("0", "USD", AmountError::not_positive);
  expect_error("0.0", "USD", AmountError::not_positive);
  expect_error("0.00", "USD", AmountError::not_positive);
  expect_error("0.000000", "USD", AmountError::not_positive);
  expect_error("0", "JPY", AmountError::not_positive);
  expect_error("0.000", "KWD", AmountError::not_positive);
}

TEST(ParseAmount, LeadingZerosAreSyntaxErrors) {
  for (std::string_view token : {"00", "01", "007", "00.5", "0001.00", "01.0"}) {
    expect_error(token, "USD", AmountError::syntax);
  }
}

TEST(ParseAmount, SignsExponentsAndOtherShapesAreSyntaxErrors) {
  for (std::string_view token :
       {"",     "-1",       "+1",  "-0",   "1e3",   "1E3", "1e+3",    "1.5e2", "1.0E-2",
        ".5",   "5.",       ".",   "1..2", "1.2.3", " 1",  "1 ",      "1,000", "1_000",
        "0x10", "Infinity", "NaN", "1.-2", "\"1\"", "1\n", "\xd9\xa1"}) {
    expect_error(token, "USD", AmountError::syntax);
  }
}

TEST(ParseAmount, HugeTokensAreRejectedWithoutOverflow) {
  const std::string hundreds_of_digits(400, '9');
  expect_error(hundreds_of_digits, "USD", AmountError::above_maximum);
  expect_error("1" + std::string(300, '0'), "JPY", AmountError::above_maximum);
  expect_error(hundreds_of_digits + ".00", "KWD", AmountError::above_maximum);
  expect_error("0." + std::string(300, '0'), "USD", AmountError::not_positive);
  expect_error("0." + std::string(300, '0') + "1", "USD", AmountError::too_many_decimals);
  expect_error("1." + std::string(300, '0'), "JPY", AmountError::none);
  // Around int64: 9223372036854775807 and its neighbours.
  expect_error("9223372036854775807", "USD", AmountError::above_maximum);
  expect_error("9223372036854775808", "USD", AmountError::above_maximum);
  expect_error("18446744073709551616", "JPY", AmountError::above_maximum);
  expect_error("999999999999999999", "KWD", AmountError::above_maximum);  // 18 digits
  expect_error("92233720368547758.07", "USD", AmountError::above_maximum);
}

TEST(ParseAmount, NearInt64WithAnUnboundedCurrency) {
  // Maxima are below 10^18 by contract; the largest allowed one still parses exactly.
  const Currency wide{"TST", 3, 999'999'999'999'999'999};
  EXPECT_EQ(parse_amount("999999999999999.999", wide).minor, 999'999'999'999'999'999);
  EXPECT_EQ(parse_amount("1000000000000000", wide).error, AmountError::above_maximum);
  EXPECT_EQ(parse_amount("999999999999999999.999", wide).error, AmountError::above_maximum);
  const Currency whole{"TSZ", 0, 999'999'999'999'999'999};
  EXPECT_EQ(parse_amount("999999999999999999", whole).minor, 999'999'999'999'999'999);
  EXPECT_EQ(parse_amount("1000000000000000000", whole).error, AmountError::above_maximum);
}

TEST(ParseAmount, ErrorMessagesAreStaticAndDistinct) {
  EXPECT_TRUE(amount_error_message(AmountError::none).empty());
  const AmountError errors[] = {AmountError::syntax, AmountError::too_many_decimals,
                                AmountError::not_positive, AmountError::above_maximum};
  for (AmountError a : errors) {
    EXPECT_FALSE(amount_error_message(a).empty());
    for (AmountError b : errors) {
      if (a != b) {
        EXPECT_NE(amount_error_message(a), amount_error_message(b));
      }
    }
  }
}

TEST(FormatAmount, EveryExponent) {
  EXPECT_EQ(format(245000, 2), "2450.00");
  EXPECT_EQ(format(1500, 0), "1500");
  EXPECT_EQ(format(12345, 3), "12.345");
  EXPECT_EQ(format(18999, 2), "189.99");
  EXPECT_EQ(format(1, 2), "0.01");
  EXPECT_EQ(format(10, 2), "0.10");
  EXPECT_EQ(format(100, 2), "1.00");
  EXPECT_EQ(format(5, 3), "0.005");
  EXPECT_EQ(format(0, 2), "0.00");
  EXPECT_EQ(format(0, 0), "0");
  EXPECT_EQ(format(7, 0), "7");
  EXPECT_EQ(format(100'000'000, 2), "1000000.00");
  EXPECT_EQ(format(1, 18), "0.000000000000000001");
}

TEST(FormatAmount, NegativeAndExtremeValues) {
  EXPECT_EQ(format(-5, 2), "-0.05");
  EXPECT_EQ(format(-12345, 3), "-12.345");
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(format(kMax, 0), "9223372036854775807");
  EXPECT_EQ(format(kMin, 0), "-9223372036854775808");
  EXPECT_EQ(format(kMax, 18), "9.223372036854775807");
  EXPECT_EQ(format(kMin, 18), "-9.223372036854775808");
  EXPECT_LE(format(kMin, 18).size(), kMaxAmountText);
  EXPECT_LE(format(-1, 18).size(), kMaxAmountText);
}

TEST(FormatAmount, RoundTripsThroughParse) {
  Xoshiro256 rng(2024);
  for (const Currency& c : supported_currencies()) {
    for (int i = 0; i < 2000; ++i) {
      const int64_t minor =
          1 + static_cast<int64_t>(rng.next_below(static_cast<uint64_t>(c.max_minor)));
      const std::string text = format(minor, c.exponent);
      const AmountResult back = parse_amount(text, c);
      ASSERT_TRUE(back.ok()) << c.code << " " << text;
      ASSERT_EQ(back.minor, minor) << c.code << " " << text;
    }
  }
}

}  // namespace
}  // namespace paystream::core
