#pragma once
// Luhn-valid test card numbers for the four networks the service knows, from a seeded PRNG.

#include <string>
#include <string_view>

#include "core/random.h"

namespace paystream::bench {

enum class CardNetwork { visa, mastercard, amex, discover };

std::string_view card_network_name(CardNetwork network);

// The digit that makes `payload` followed by it pass the Luhn check.
char luhn_check_digit(std::string_view payload);
bool passes_luhn(std::string_view digits);

// A number with the network's prefix and length (amex 15 digits, the others 16) and a valid
// Luhn check digit. Digits only, no grouping.
std::string make_card_number(CardNetwork network, core::Xoshiro256& rng);

}  // namespace paystream::bench
