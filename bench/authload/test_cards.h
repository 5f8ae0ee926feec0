#pragma once
// Luhn-valid test card numbers for the four networks the service knows, from a seeded PRNG.

#include <string>
#include <string_view>

#include "core/card.h"
#include "core/random.h"

namespace paystream::bench {

using core::CardNetwork;

// The digit that makes `payload` followed by it pass the Luhn check (core::luhn_valid).
char luhn_check_digit(std::string_view payload);

// A number with the network's prefix and length (amex 15 digits, the others 16) and a valid
// Luhn check digit. Digits only, no grouping.
std::string make_card_number(CardNetwork network, core::Xoshiro256& rng);

}  // namespace paystream::bench
