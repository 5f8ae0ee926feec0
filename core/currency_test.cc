#include "core/currency.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

TEST(Currency, RequiredCurrenciesWithTheirExponents) {
  const std::pair<std::string_view, int> expected[] = {
      {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"JPY", 0}, {"CAD", 2},
      {"AUD", 2}, {"CHF", 2}, {"MXN", 2}, {"BRL", 2}, {"COP", 2},
      {"CLP", 0}, {"ARS", 2}, {"PEN", 2}, {"KWD", 3}, {"BHD", 3},
  };
  for (const auto& [code, exponent] : expected) {
    const Currency* c = find_currency(code);
    ASSERT_NE(c, nullptr) << code;
    EXPECT_EQ(c->code, code);
    EXPECT_EQ(c->exponent, exponent) << code;
  }
}

TEST(Currency, Maxima) {
  EXPECT_EQ(find_currency("USD")->max_minor, 100'000'000);      // 1,000,000.00
  EXPECT_EQ(find_currency("JPY")->max_minor, 150'000'000);      // 150,000,000
  EXPECT_EQ(find_currency("COP")->max_minor, 400'000'000'000);  // 4,000,000,000.00
  EXPECT_EQ(find_currency("KWD")->max_minor, 300'000'000);      // 300,000.000
  for (const Currency& c : supported_currencies()) {
    EXPECT_GT(c.max_minor, 0) << c.code;
    EXPECT_LT(c.max_minor, 1'000'000'000'000'000'000) << c.code;
  }
}

TEST(Currency, LookupIsExactUppercaseAlpha3) {
  const std::string_view codes[] = {"usd",
                                    "Usd",
                                    "US",
                                    "USDD",
                                    "",
                                    "XXX",
                                    "U$D",
                                    "USD ",
                                    " USD",
                                    "EU",
                                    "ZZZ",
                                    "AAA",
                                    std::string_view("USD\0", 4)};
  for (std::string_view code : codes) {
    EXPECT_EQ(find_currency(code), nullptr) << "'" << code << "'";
  }
}

TEST(Currency, EveryListedCurrencyIsFoundAndTheListIsSorted) {
  std::string_view previous;
  for (const Currency& c : supported_currencies()) {
    EXPECT_EQ(find_currency(c.code), &c);
    EXPECT_LT(previous, c.code);
    previous = c.code;
  }
  EXPECT_GE(supported_currencies().size(), 15u);
}

}  // namespace
}  // namespace paystream::core
