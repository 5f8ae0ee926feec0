#pragma once
// Exact money: decimal tokens to integer minor units and back, never through floating point.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/currency.h"

namespace paystream::core {

enum class AmountError : uint8_t {
  none,
  syntax,             // not (0|[1-9][0-9]*)(\.[0-9]+)?
  too_many_decimals,  // non-zero digits beyond the currency's exponent
  not_positive,
  above_maximum,
};

struct AmountResult {
  int64_t minor = 0;  // valid only when error == AmountError::none
  AmountError error = AmountError::none;

  bool ok() const { return error == AmountError::none; }
};

// Parses the raw decimal token (a JSON number's text or a JSON string's contents) into minor
// units of `currency`. Extra decimals are accepted only when they are zeros ("1500.0" JPY).
// Tokens of any length are handled without overflow.
AmountResult parse_amount(std::string_view token, const Currency& currency);

// Static, human-readable text for an error; never contains the input.
std::string_view amount_error_message(AmountError error);

// Longest output of format_amount: sign, 19 digits, point and a leading "0".
inline constexpr size_t kMaxAmountText = 24;

// Writes `minor` as a decimal with exactly `exponent` (0-18) decimals into `out`, which must hold
// kMaxAmountText bytes: 245000,2 -> "2450.00"; 1500,0 -> "1500"; 12345,3 -> "12.345".
// Returns the number of bytes written (no terminator).
size_t format_amount(int64_t minor, int exponent, char* out);

}  // namespace paystream::core
