#pragma once
// SHA-256 (FIPS 180-4), for secret fingerprints and digest comparisons. Not on a hot path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace paystream::core {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // The digest of everything given; the object must not be used afterwards.
  Sha256Digest finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> block_{};
  size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
};

Sha256Digest sha256(std::string_view data);

// Lowercase hexadecimal, 64 characters.
std::string sha256_hex(std::string_view data);

}  // namespace paystream::core
