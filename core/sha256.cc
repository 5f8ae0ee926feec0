#include "core/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "base/ascii.h"

namespace paystream::core {

Sha256Digest sha256(std::string_view data) {
  Sha256Digest digest{};
  unsigned int size = 0;
  // Fails only when libcrypto cannot provide SHA-256 at all; a digest of zeros would make every
  // secret match every other, so there is no answer but stopping.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    std::abort();
  }
  return digest;
}

std::string sha256_hex(std::string_view data) {
  const Sha256Digest digest = sha256(data);
  std::string hex;
  hex.reserve(2 * digest.size());
  for (uint8_t byte : digest) {
    hex.push_back(base::kHexDigits[byte >> 4]);
    hex.push_back(base::kHexDigits[byte & 0xf]);
  }
  return hex;
}

}  // namespace paystream::core
