#include "core/card.h"

#include "base/ascii.h"

namespace paystream::core {
namespace {

bool is_separator(char c) {
  return c == ' ' || c == '-';
}

// The first `count` digits as a number; digits.size() >= count.
int prefix_value(std::string_view digits, size_t count) {
  int value = 0;
  for (size_t i = 0; i < count; ++i) value = value * 10 + (digits[i] - '0');
  return value;
}

}  // namespace

std::string_view network_name(CardNetwork network) {
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
  return "";
}

std::optional<CardNetwork> parse_network_name(std::string_view name) {
  for (CardNetwork network :
       {CardNetwork::visa, CardNetwork::mastercard, CardNetwork::amex, CardNetwork::discover}) {
    if (name == network_name(network)) return network;
  }
  return std::nullopt;
}

std::string_view CardDigits::last4() const {
  const std::string_view all = digits();
  return all.size() < 4 ? all : all.substr(all.size() - 4);
}

bool CardDigits::assign(std::string_view raw) {
  if (collect_digits(raw)) return true;
  length_ = 0;
  return false;
}

bool CardDigits::collect_digits(std::string_view raw) {
  length_ = 0;
  bool previous_was_digit = false;
  for (char c : raw) {
    if (base::is_digit(c)) {
      if (length_ == kMaxCardDigits) return false;
      digits_[length_++] = c;
      previous_was_digit = true;
    } else if (is_separator(c) && previous_was_digit) {
      previous_was_digit = false;
    } else {
      return false;
    }
  }
  // A trailing separator leaves previous_was_digit false.
  return previous_was_digit && length_ >= kMinCardDigits;
}

std::optional<CardNetwork> detect_network(std::string_view digits) {
  if (digits.size() < 4) return std::nullopt;
  for (size_t i = 0; i < 4; ++i) {
    if (!base::is_digit(digits[i])) return std::nullopt;
  }
  const int two = prefix_value(digits, 2);
  const int four = prefix_value(digits, 4);
  if (digits[0] == '4') return CardNetwork::visa;
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return CardNetwork::mastercard;
  if (two == 34 || two == 37) return CardNetwork::amex;
  if (four == 6011 || two == 65) return CardNetwork::discover;
  return std::nullopt;
}

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool double_it = false;
  for (size_t i = digits.size(); i > 0; --i) {
    const char c = digits[i - 1];
    if (!base::is_digit(c)) return false;
    int d = c - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

}  // namespace paystream::core
