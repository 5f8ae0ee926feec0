#include "core/card.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

std::string normalized(std::string_view raw) {
  CardDigits card;
  if (!card.assign(raw)) return "<rejected>";
  return std::string(card.digits());
}

TEST(CardDigits, AcceptsPlainAndGroupedNumbers) {
  EXPECT_EQ(normalized("4111111111111111"), "4111111111111111");
  EXPECT_EQ(normalized("4111 1111 1111 1111"), "4111111111111111");
  EXPECT_EQ(normalized("4111-1111-1111-1111"), "4111111111111111");
  EXPECT_EQ(normalized("4111 1111-1111 1111"), "4111111111111111");
  EXPECT_EQ(normalized("3782 822463 10005"), "378282246310005");
  EXPECT_EQ(normalized("4-1-1-1-1-1-1-1-1-1-1-1"), "411111111111");
}

TEST(CardDigits, LengthMustBeTwelveToNineteenDigits) {
  EXPECT_EQ(normalized(std::string(11, '4')), "<rejected>");
  EXPECT_EQ(normalized(std::string(12, '4')), std::string(12, '4'));
  EXPECT_EQ(normalized(std::string(19, '4')), std::string(19, '4'));
  EXPECT_EQ(normalized(std::string(20, '4')), "<rejected>");
  EXPECT_EQ(normalized("4111 1111 1111 1111 1111"), "<rejected>");  // 20 digits grouped
  EXPECT_EQ(normalized(std::string(500, '4')), "<rejected>");
}

TEST(CardDigits, SeparatorsOnlySingleAndBetweenDigits) {
  const std::string_view cases[] = {" 4111111111111111",
                                    "4111111111111111 ",
                                    "-4111111111111111",
                                    "4111111111111111-",
                                    "4111  1111 1111 1111",
                                    "4111--1111-1111-1111",
                                    "4111 -1111 1111 1111",
                                    "4111\t1111 1111 1111",
                                    "4111.1111.1111.1111",
                                    "4111_1111_1111_1111",
                                    "",
                                    " ",
                                    "-",
                                    "4111111111111111\n",
                                    "411111111111111a",
                                    "４１１１111111111111",
                                    std::string_view("41111111\0"
                                                     "11111111",
                                                     17)};
  for (std::string_view raw : cases) {
    EXPECT_EQ(normalized(raw), "<rejected>") << "'" << raw << "'";
  }
}

TEST(CardDigits, RejectionLeavesItEmpty) {
  CardDigits card;
  ASSERT_TRUE(card.assign("4111111111111111"));
  EXPECT_FALSE(card.assign("4111 1111 1111 1111 "));
  EXPECT_TRUE(card.digits().empty());
  EXPECT_TRUE(card.last4().empty());
}

TEST(CardDigits, Last4) {
  CardDigits card;
  ASSERT_TRUE(card.assign("4111-1111-1111-1234"));
  EXPECT_EQ(card.last4(), "1234");
  ASSERT_TRUE(card.assign("378282246310005"));
  EXPECT_EQ(card.last4(), "0005");
}

TEST(DetectNetwork, LeadingDigitRanges) {
  const auto network = [](const std::string& prefix) {
    return detect_network(prefix + std::string(16 - prefix.size(), '0'));
  };
  for (int d = 0; d <= 9; ++d) {
    // Followed by zeros, only a leading 4 (visa) is a network: 20.., 30.., 50.., 60.. are not.
    EXPECT_EQ(network(std::to_string(d)), d == 4 ? std::optional(CardNetwork::visa) : std::nullopt)
        << d;
  }
  for (int two = 10; two <= 99; ++two) {
    const auto got = network(std::to_string(two));
    if (two / 10 == 4) {
      EXPECT_EQ(got, CardNetwork::visa) << two;
    } else if (two >= 51 && two <= 55) {
      EXPECT_EQ(got, CardNetwork::mastercard) << two;
    } else if (two == 34 || two == 37) {
      EXPECT_EQ(got, CardNetwork::amex) << two;
    } else if (two == 65) {
      EXPECT_EQ(got, CardNetwork::discover) << two;
    } else if (two < 22 || two > 27) {  // 22-27 depend on four digits: checked below
      EXPECT_EQ(got, std::nullopt) << two;
    }
  }
  for (int four = 2200; four <= 2799; ++four) {
    const bool mastercard = four >= 2221 && four <= 2720;
    EXPECT_EQ(network(std::to_string(four)),
              mastercard ? std::optional(CardNetwork::mastercard) : std::nullopt)
        << four;
  }
  for (int four = 6000; four <= 6099; ++four) {
    EXPECT_EQ(network(std::to_string(four)),
              four == 6011 ? std::optional(CardNetwork::discover) : std::nullopt)
        << four;
  }
}

TEST(DetectNetwork, NeedsFourDigits) {
  EXPECT_EQ(detect_network(""), std::nullopt);
  EXPECT_EQ(detect_network("411"), std::nullopt);
  EXPECT_EQ(detect_network("4111"), CardNetwork::visa);
  EXPECT_EQ(detect_network("4x11"), std::nullopt);
}

TEST(Luhn, KnownTestNumbers) {
  for (std::string_view number :
       {"4111111111111111", "4012888888881881", "4242424242424242", "5555555555554444",
        "5105105105105100", "2223003122003222", "378282246310005", "371449635398431",
        "6011111111111117", "6011000990139424", "4222222222222", "000000000000"}) {
    EXPECT_TRUE(luhn_valid(number)) << number;
  }
}

TEST(Luhn, EverySingleDigitChangeIsDetected) {
  const std::string valid = "4111111111111111";
  for (size_t i = 0; i < valid.size(); ++i) {
    for (char d = '0'; d <= '9'; ++d) {
      if (d == valid[i]) continue;
      std::string changed = valid;
      changed[i] = d;
      EXPECT_FALSE(luhn_valid(changed)) << changed;
    }
  }
}

TEST(Luhn, RejectsNonDigitsAndEmpty) {
  EXPECT_FALSE(luhn_valid(""));
  EXPECT_FALSE(luhn_valid("4111 1111 1111 1111"));
  EXPECT_FALSE(luhn_valid("411111111111111a"));
}

TEST(NetworkName, RoundTripsExactLowercaseNames) {
  for (CardNetwork n :
       {CardNetwork::visa, CardNetwork::mastercard, CardNetwork::amex, CardNetwork::discover}) {
    EXPECT_EQ(parse_network_name(network_name(n)), n);
  }
  EXPECT_EQ(network_name(CardNetwork::visa), "visa");
  EXPECT_EQ(network_name(CardNetwork::mastercard), "mastercard");
  EXPECT_EQ(network_name(CardNetwork::amex), "amex");
  EXPECT_EQ(network_name(CardNetwork::discover), "discover");
  for (std::string_view other : {"Visa", "VISA", "master card", "american_express", "", "visa "}) {
    EXPECT_EQ(parse_network_name(other), std::nullopt) << other;
  }
}

}  // namespace
}  // namespace paystream::core
