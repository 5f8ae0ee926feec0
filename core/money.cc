#include "core/money.h"

#include "base/ascii.h"

#include <array>

namespace paystream::core {
namespace {

constexpr std::array<int64_t, 19> kPowersOf10 = {
    1LL,
    10LL,
    100LL,
    1'000LL,
    10'000LL,
    100'000LL,
    1'000'000LL,
    10'000'000LL,
    100'000'000LL,
    1'000'000'000LL,
    10'000'000'000LL,
    100'000'000'000LL,
    1'000'000'000'000LL,
    10'000'000'000'000LL,
    100'000'000'000'000LL,
    1'000'000'000'000'000LL,
    10'000'000'000'000'000LL,
    100'000'000'000'000'000LL,
    1'000'000'000'000'000'000LL,
};

// Splits `token` into integer and fraction digits; false unless it matches the grammar exactly.
bool split_decimal(std::string_view token, std::string_view& integer, std::string_view& fraction) {
  size_t i = 0;
  while (i < token.size() && base::is_digit(token[i])) ++i;
  integer = token.substr(0, i);
  if (integer.empty() || (integer.size() > 1 && integer[0] == '0')) return false;
  fraction = {};
  if (i == token.size()) return true;
  if (token[i] != '.') return false;
  const size_t fraction_start = ++i;
  while (i < token.size() && base::is_digit(token[i])) ++i;
  fraction = token.substr(fraction_start, i - fraction_start);
  return !fraction.empty() && i == token.size();
}

// Value of a digit string known to hold at most 18 digits.
int64_t digits_value(std::string_view digits) {
  int64_t value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

AmountResult parse_amount(std::string_view token, const Currency& currency) {
  std::string_view integer, fraction;
  if (!split_decimal(token, integer, fraction)) return {0, AmountError::syntax};

  const size_t exponent = static_cast<size_t>(currency.exponent);
  std::string_view kept = fraction.substr(0, exponent);
  for (char c : fraction.substr(kept.size())) {
    if (c != '0') return {0, AmountError::too_many_decimals};
  }

  // No leading zeros, so more than 18 integer digits is at least 10^18: beyond any maximum.
  if (integer.size() > 18) return {0, AmountError::above_maximum};
  const int64_t whole = digits_value(integer);
  const int64_t scale = kPowersOf10[exponent];
  const int64_t part = digits_value(kept) * kPowersOf10[exponent - kept.size()];
  if (whole == 0 && part == 0) return {0, AmountError::not_positive};
  // Compare before multiplying: whole * scale could overflow int64.
  if (whole > currency.max_minor / scale) return {0, AmountError::above_maximum};
  const int64_t minor = whole * scale + part;
  if (minor > currency.max_minor) return {0, AmountError::above_maximum};
  return {minor, AmountError::none};
}

std::string_view amount_error_message(AmountError error) {
  switch (error) {
    case AmountError::none:
      return "";
    case AmountError::syntax:
      return "must be a decimal number without sign, exponent or leading zeros";
    case AmountError::too_many_decimals:
      return "has more decimals than the currency allows";
    case AmountError::not_positive:
      return "must be greater than zero";
    case AmountError::above_maximum:
      return "exceeds the maximum amount for the currency";
  }
  return "";
}

size_t format_amount(int64_t minor, int exponent, char* out) {
  if (exponent < 0) exponent = 0;
  if (exponent > 18) exponent = 18;
  size_t length = 0;
  // Unsigned magnitude: negating INT64_MIN as a signed value would overflow.
  uint64_t magnitude = static_cast<uint64_t>(minor);
  if (minor < 0) {
    out[length++] = '-';
    magnitude = 0 - magnitude;
  }
  char digits[20];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  // Pad so there is at least one integer digit before the point.
  const size_t decimals = static_cast<size_t>(exponent);
  while (count <= decimals) digits[count++] = '0';
  for (size_t i = count; i > 0; --i) {
    if (i == decimals) out[length++] = '.';
    out[length++] = digits[i - 1];
  }
  return length;
}

}  // namespace paystream::core
