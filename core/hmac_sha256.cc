// The low-level SHA-256 API is deprecated in OpenSSL 3 in favour of EVP, whose context copy
// allocates; this file needs a copyable plain state, so it opts out of the warning here only.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/hmac_sha256.h"

#include <openssl/crypto.h>

#include <cstring>

namespace paystream::core {
namespace {

constexpr size_t kBlockBytes = 64;

SHA256_CTX padded_state(const uint8_t* key, uint8_t pad) {
  uint8_t block[kBlockBytes];
  for (size_t i = 0; i < kBlockBytes; ++i) block[i] = key[i] ^ pad;
  SHA256_CTX state;
  SHA256_Init(&state);
  SHA256_Update(&state, block, sizeof block);
  OPENSSL_cleanse(block, sizeof block);
  return state;
}

}  // namespace

HmacSha256::HmacSha256(std::string_view secret) {
  uint8_t key[kBlockBytes] = {};
  if (secret.size() > kBlockBytes) {
    SHA256(reinterpret_cast<const uint8_t*>(secret.data()), secret.size(), key);
  } else if (!secret.empty()) {
    std::memcpy(key, secret.data(), secret.size());
  }
  inner_ = padded_state(key, 0x36);
  outer_ = padded_state(key, 0x5c);
  OPENSSL_cleanse(key, sizeof key);
}

HmacSha256::Message::Message(const HmacSha256& key) : key_(key), inner_(key.inner_) {}

void HmacSha256::Message::add(std::string_view part) {
  SHA256_Update(&inner_, part.data(), part.size());
}

HmacDigest HmacSha256::Message::finish() {
  uint8_t inner_digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(inner_digest, &inner_);
  SHA256_CTX outer = key_.outer_;
  SHA256_Update(&outer, inner_digest, sizeof inner_digest);
  HmacDigest digest;
  SHA256_Final(digest.data(), &outer);
  return digest;
}

HmacDigest HmacSha256::mac(std::string_view data) const {
  Message message = begin();
  message.add(data);
  return message.finish();
}

}  // namespace paystream::core
