#pragma once
// Decoding and validation of the POST /v1/authorize body into a value with inline storage.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/card.h"
#include "core/currency.h"
#include "core/inline_string.h"

namespace paystream::core {

inline constexpr size_t kMaxMerchantBytes = 128;
inline constexpr size_t kMaxCardholderNameBytes = 128;
inline constexpr size_t kMaxMerchantIdBytes = 64;

struct AuthorizeRequest {
  CardDigits card;               // a secret: only card.last4() may leave the process
  CardNetwork network{};         // inferred from the card's leading digits
  bool luhn_valid = false;       // false: declined invalid_card_number, processor not called
  bool processor_given = false;  // "processor" was present (it always equals `network`)
  const Currency* currency = nullptr;
  int64_t amount_minor = 0;
  InlineString<kMaxMerchantBytes> merchant;
  InlineString<kMaxCardholderNameBytes> cardholder_name;  // empty when absent
  InlineString<kMaxMerchantIdBytes> merchant_id;          // empty when absent
};

// A rejected body. `field` names the offending key, or is empty when the error concerns the whole
// body (sent as "field":null). `message` is static text and never contains request data.
// `field` is valid until the decoder's next decode() (it may name a repeated unknown key).
struct DecodeError {
  std::string_view field;
  std::string_view message;

  bool ok() const { return message.empty(); }
};

// Decodes bodies with simdjson On-Demand. Owns the parser and a padded copy buffer, both sized
// once at construction, so decode() never allocates. One decoder per thread (not thread-safe).
class AuthorizeDecoder {
 public:
  static constexpr size_t kMaxDepth = 64;  // nesting levels, the body's object included
  static constexpr size_t kMaxTopLevelKeys = 256;

  explicit AuthorizeDecoder(size_t max_body_bytes);
  ~AuthorizeDecoder();
  AuthorizeDecoder(const AuthorizeDecoder&) = delete;
  AuthorizeDecoder& operator=(const AuthorizeDecoder&) = delete;

  // Validates the whole body (every value, known or not) and then the fields in the order
  // card_number, currency, amount, merchant, processor, cardholder_name, merchant_id, reporting
  // the first failure. On success `out` holds the request; on failure its contents are
  // unspecified. A null value counts as absent. A Luhn failure is not an error (see luhn_valid).
  DecodeError decode(std::string_view body, AuthorizeRequest& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace paystream::core
