#include "bench/authload/test_cards.h"

namespace paystream::bench {

std::string_view card_network_name(CardNetwork network) {
  switch (network) {
    case CardNetwork::visa:
      return "visa";
    case CardNetwork::mastercard:
      return "mastercard";
    case CardNetwork::amex:
      return "amex";
    case CardNetwork::discover:
      return "discover";
  }
  return "visa";
}

namespace {

// Sum of the Luhn-weighted digits, counting the doubling from the right end of `digits`,
// where the rightmost digit is doubled when `double_last` is set.
int luhn_sum(std::string_view digits, bool double_last) {
  int sum = 0;
  bool doubled = double_last;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (doubled) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubled = !doubled;
  }
  return sum;
}

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
  const int sum = luhn_sum(payload, true);
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool passes_luhn(std::string_view digits) {
  if (digits.empty()) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return luhn_sum(digits, false) % 10 == 0;
}

std::string make_card_number(CardNetwork network, core::Xoshiro256& rng) {
  const size_t length = network == CardNetwork::amex ? 15 : 16;
  std::string number = network_prefix(network, rng);
  while (number.size() < length - 1) number += static_cast<char>('0' + rng.next_below(10));
  number += luhn_check_digit(number);
  return number;
}

}  // namespace paystream::bench
