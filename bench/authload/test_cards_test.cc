#include "bench/authload/test_cards.h"

#include <gtest/gtest.h>

#include "core/card.h"

namespace paystream::bench {
namespace {

TEST(TestCards, KnownNumbers) {
  EXPECT_EQ(luhn_check_digit("411111111111111"), '1');
  EXPECT_EQ(luhn_check_digit("37828224631000"), '5');
}

TEST(TestCards, EveryNetworkIsValidAndRecognisedByTheService) {
  core::Xoshiro256 rng(5);
  for (CardNetwork network :
       {CardNetwork::visa, CardNetwork::mastercard, CardNetwork::amex, CardNetwork::discover}) {
    for (int i = 0; i < 500; ++i) {
      const std::string number = make_card_number(network, rng);
      EXPECT_EQ(number.size(), network == CardNetwork::amex ? 15u : 16u) << number;
      EXPECT_TRUE(core::luhn_valid(number)) << number;
      const auto detected = core::detect_network(number);
      ASSERT_TRUE(detected) << number;
      EXPECT_EQ(*detected, network) << number;
    }
  }
}

}  // namespace
}  // namespace paystream::bench
