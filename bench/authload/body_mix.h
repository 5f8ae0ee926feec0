#pragma once
// A realistic mix of POST /v1/authorize bodies, generated in memory from a seed: four card
// networks, currencies with their own decimals and magnitudes, merchants, optional fields, and
// exactly 1% of cards failing the Luhn check (the issue allows at most 2%).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace paystream::bench {

// Every 100th body, starting at the 37th, carries a Luhn-invalid card number.
inline constexpr size_t kInvalidCardEvery = 100;
inline constexpr size_t kInvalidCardOffset = 37;

std::vector<std::string> make_authorize_bodies(size_t count, uint64_t seed);

// The same body with another amount: the last digit of the "amount" value moved by one (up,
// or down from 9), so the value stays positive with the same decimals. Empty if `body` has no
// amount.
std::string with_other_amount(const std::string& body);

}  // namespace paystream::bench
