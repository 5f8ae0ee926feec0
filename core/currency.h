#pragma once
// The built-in ISO 4217 table: each currency's minor-unit exponent and the largest amount one
// authorization may carry.

#include <cstdint>
#include <span>
#include <string_view>

namespace paystream::core {

struct Currency {
  std::string_view code;  // ISO 4217 alpha-3, uppercase
  int exponent;           // digits after the decimal point (0, 2 or 3)
  int64_t max_minor;      // inclusive maximum amount in minor units, 0 < max_minor < 10^18
};

// Exact match on an uppercase alpha-3 code; nullptr when unknown (lowercase is unknown).
const Currency* find_currency(std::string_view code);

// Every supported currency, sorted by code.
std::span<const Currency> supported_currencies();

}  // namespace paystream::core
