#include "core/currency.h"

#include <algorithm>
#include <array>

namespace paystream::core {
namespace {

// Maxima are about USD 1,000,000 at 2024 rates, rounded to a readable figure in the currency's
// own units, so one limit applies everywhere in spirit. Minor units = major * 10^exponent.
constexpr std::array kCurrencies = {
    Currency{"ARS", 2, 1'000'000'000'00},  // 1,000,000,000.00
    Currency{"AUD", 2, 1'500'000'00},      // 1,500,000.00
    Currency{"BHD", 3, 400'000'000},       // 400,000.000
    Currency{"BRL", 2, 5'000'000'00},      // 5,000,000.00
    Currency{"CAD", 2, 1'500'000'00},      // 1,500,000.00
    Currency{"CHF", 2, 1'000'000'00},      // 1,000,000.00
    Currency{"CLP", 0, 1'000'000'000},     // 1,000,000,000
    Currency{"CNY", 2, 7'000'000'00},      // 7,000,000.00
    Currency{"COP", 2, 4'000'000'000'00},  // 4,000,000,000.00
    Currency{"DKK", 2, 7'000'000'00},      // 7,000,000.00
    Currency{"EUR", 2, 1'000'000'00},      // 1,000,000.00
    Currency{"GBP", 2, 1'000'000'00},      // 1,000,000.00
    Currency{"HKD", 2, 8'000'000'00},      // 8,000,000.00
    Currency{"INR", 2, 80'000'000'00},     // 80,000,000.00
    Currency{"JOD", 3, 700'000'000},       // 700,000.000
    Currency{"JPY", 0, 150'000'000},       // 150,000,000
    Currency{"KRW", 0, 1'300'000'000},     // 1,300,000,000
    Currency{"KWD", 3, 300'000'000},       // 300,000.000
    Currency{"MXN", 2, 20'000'000'00},     // 20,000,000.00
    Currency{"NOK", 2, 10'000'000'00},     // 10,000,000.00
    Currency{"NZD", 2, 1'600'000'00},      // 1,600,000.00
    Currency{"OMR", 3, 400'000'000},       // 400,000.000
    Currency{"PEN", 2, 4'000'000'00},      // 4,000,000.00
    Currency{"PLN", 2, 4'000'000'00},      // 4,000,000.00
    Currency{"SEK", 2, 10'000'000'00},     // 10,000,000.00
    Currency{"SGD", 2, 1'300'000'00},      // 1,300,000.00
    Currency{"USD", 2, 1'000'000'00},      // 1,000,000.00
    Currency{"ZAR", 2, 18'000'000'00},     // 18,000,000.00
};

constexpr bool well_formed() {
  for (const Currency& c : kCurrencies) {
    if (c.code.size() != 3 || c.exponent < 0 || c.exponent > 3) return false;
    for (char letter : c.code) {
      if (letter < 'A' || letter > 'Z') return false;
    }
    if (c.max_minor <= 0 || c.max_minor >= 1'000'000'000'000'000'000) return false;
  }
  return true;
}
static_assert(well_formed(), "codes are uppercase alpha-3, exponents 0-3, 0 < max < 10^18");

constexpr bool sorted_and_unique() {
  for (size_t i = 1; i < kCurrencies.size(); ++i) {
    if (!(kCurrencies[i - 1].code < kCurrencies[i].code)) return false;
  }
  return true;
}
static_assert(sorted_and_unique(), "kCurrencies must be sorted by code for binary search");

}  // namespace

const Currency* find_currency(std::string_view code) {
  if (code.size() != 3) return nullptr;
  const auto it = std::lower_bound(
      kCurrencies.begin(), kCurrencies.end(), code,
      [](const Currency& currency, std::string_view wanted) { return currency.code < wanted; });
  if (it == kCurrencies.end() || it->code != code) return nullptr;
  return &*it;
}

std::span<const Currency> supported_currencies() {
  return kCurrencies;
}

}  // namespace paystream::core
