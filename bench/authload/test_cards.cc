#include "bench/authload/test_cards.h"

namespace paystream::bench {

namespace {

std::string network_prefix(CardNetwork network, core::Xoshiro256& rng) {
  switch (network) {
    case CardNetwork::visa:
      return "4";
    case CardNetwork::mastercard:
      // 51-55, or 2221-2720 one time in four.
      if (rng.next_below(4) == 0) return std::to_string(2221 + rng.next_below(500));
      return std::to_string(51 + rng.next_below(5));
    case CardNetwork::amex:
      return rng.next_below(2) == 0 ? "34" : "37";
    case CardNetwork::discover:
      return rng.next_below(2) == 0 ? "6011" : "65";
  }
  return "4";
}

}  // namespace

char luhn_check_digit(std::string_view payload) {
  // Exactly one of the ten digits completes a valid number: let the service's check find it.
  std::string number(payload);
  number += '0';
  for (char digit = '0'; digit <= '9'; ++digit) {
    number.back() = digit;
    if (core::luhn_valid(number)) return digit;
  }
  return '0';  // not reached for a payload of digits
}

std::string make_card_number(CardNetwork network, core::Xoshiro256& rng) {
  const size_t length = network == CardNetwork::amex ? 15 : 16;
  std::string number = network_prefix(network, rng);
  while (number.size() < length - 1) number += static_cast<char>('0' + rng.next_below(10));
  number += luhn_check_digit(number);
  return number;
}

}  // namespace paystream::bench
