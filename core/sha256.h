#pragma once
// SHA-256 (FIPS 180-4) from OpenSSL's libcrypto, for secret fingerprints and digest
// comparisons. Not on a hot path.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace paystream::core {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);

// Lowercase hexadecimal, 64 characters.
std::string sha256_hex(std::string_view data);

}  // namespace paystream::core
