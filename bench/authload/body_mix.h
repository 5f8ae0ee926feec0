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

}  // namespace paystream::bench
