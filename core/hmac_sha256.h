#pragma once
// HMAC-SHA-256 (RFC 2104) under one secret, for the idempotency store's keys and request
// fingerprints. The secret's inner and outer pads are hashed once; each MAC then copies
// two plain SHA-256 states and allocates nothing (OpenSSL 3's EVP and HMAC APIs allocate
// a context per call, a cost on every keyed request).

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace paystream::core {

using HmacDigest = std::array<uint8_t, 32>;

class HmacSha256 {
 public:
  // Any length; a secret longer than SHA-256's 64-byte block is hashed first (RFC 2104).
  explicit HmacSha256(std::string_view secret);

  // One MAC over the concatenation of the parts given to add(), in order.
  class Message {
   public:
    void add(std::string_view part);
    HmacDigest finish();

   private:
    friend class HmacSha256;
    explicit Message(const HmacSha256& key);
    const HmacSha256& key_;
    SHA256_CTX inner_;
  };

  Message begin() const { return Message(*this); }
  HmacDigest mac(std::string_view data) const;

 private:
  SHA256_CTX inner_;  // after the inner pad
  SHA256_CTX outer_;  // after the outer pad
};

}  // namespace paystream::core
