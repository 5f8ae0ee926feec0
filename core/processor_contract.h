#pragma once
// The wire contract between the service and its card processor (HTTP/1.1, JSON bodies).
//
// Request: POST <PROCESSOR_URL's path> with headers `Content-Type: application/json`,
// `Idempotency-Key: <our transaction id>` and `Authorization: Bearer <key>` (when a key is
// configured), and the body, members in this order:
//   {"transaction_id":"txn_01J…","amount":"12.34","currency":"USD",
//    "card_number":"4111111111111111","merchant":"Acme","merchant_id":"m-1","network":"visa"}
//   - transaction_id: "txn_" + 26 Crockford base32 characters (core/txn_id.h);
//   - amount: a JSON string holding the exact decimal amount, with exactly the currency's
//     number of decimals ("12.34" USD, "1500" JPY, "12.345" BHD), never a JSON number;
//   - currency: ISO 4217 alpha-3, uppercase; card_number: 12-19 digits, no separators;
//   - merchant: the merchant name (JSON-escaped); merchant_id: present only when the client
//     gave one; network: "visa", "mastercard", "amex" or "discover".
//
// Answer the service accepts (anything else is a processor failure):
//   status 200 and {"status":"approved","authorization_code":"A1B2C3"}
//     (authorization_code: exactly 6 characters of [0-9A-Z]), or
//   status 200 and {"status":"declined","decline_code":"insufficient_funds"}
//     (decline_code: insufficient_funds, do_not_honor, card_expired, suspected_fraud,
//      restricted_card or limit_exceeded).
//   The body is one JSON object of at most kMaxProcessorAnswerBytes bytes, nested at most 16
//   levels (the object included); other members are ignored (whatever their value). The
//   answer is invalid when the status is not 200, the JSON is invalid, a known member is
//   repeated or not a string, an approved answer carries a decline_code or a declined one an
//   authorization_code, or a value is outside the sets above (case-sensitive).
// Errors from the processor: any other status, with {"error":"<code>","message":"<text>"}: the
// simulator answers 400 invalid_request, 401 unauthorized, 422 idempotency_key_reused (the key
// was used with a different request) and 500 processor_error.
//
// Idempotency: the processor keeps each key's first decided answer (the simulator: 24 h by
// default) and answers a repeat of the same request with the same bytes; a repeat arriving
// while the first is in progress waits for and gets the first answer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/authorize_request.h"
#include "core/card.h"
#include "core/currency.h"
#include "core/decision.h"
#include "core/inline_string.h"
#include "core/txn_id.h"

namespace paystream::core {

inline constexpr std::string_view kProcessorIdempotencyHeader = "Idempotency-Key";
inline constexpr size_t kMaxProcessorAnswerBytes = 4096;
// Largest request body the simulator accepts; a request the service encodes is far smaller
// (a merchant name of 128 bytes escapes to at most 768).
inline constexpr size_t kMaxProcessorRequestBytes = 8192;

// Replaces `out` with the request body for `request` (Luhn-valid, with a currency: what the
// pipeline sends after its local checks). Does not allocate once `out` has grown to its size.
void encode_processor_request(const AuthorizeRequest& request, std::string_view transaction_id,
                              std::string& out);

struct ProcessorAnswer {
  enum class Kind : uint8_t { approved, declined, invalid };
  Kind kind = Kind::invalid;
  AuthorizationCode authorization_code{};                // approved: 6 chars [0-9A-Z]
  DeclineCode decline_code = DeclineCode::do_not_honor;  // declined: never invalid_card_number
};

// Decodes the processor's answer. Owns a simdjson parser sized once at construction, so
// decode() never allocates. Any bytes are safe to pass. One decoder per thread.
class ProcessorAnswerDecoder {
 public:
  ProcessorAnswerDecoder();
  ~ProcessorAnswerDecoder();
  ProcessorAnswerDecoder(const ProcessorAnswerDecoder&) = delete;
  ProcessorAnswerDecoder& operator=(const ProcessorAnswerDecoder&) = delete;

  ProcessorAnswer decode(int status, std::string_view body);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The simulator's view of a request.
struct ProcessorRequest {
  std::array<char, kTxnIdLength> transaction_id{};
  int64_t amount_minor = 0;
  const Currency* currency = nullptr;
  CardDigits card;  // a secret: never logged
  CardNetwork network{};
  InlineString<kMaxMerchantBytes> merchant;
  InlineString<kMaxMerchantIdBytes> merchant_id;  // empty when absent

  std::string_view transaction_id_view() const {
    return {transaction_id.data(), transaction_id.size()};
  }
};

// Strict decoding of a request body: one JSON object with exactly the members above
// (merchant_id optional), each once, of the right type: transaction_id a well-formed id, amount
// a decimal string valid for the currency (parse_amount: positive, within its maximum, no
// non-zero digit beyond its exponent), card_number 12-19 digits passing Luhn, network equal to
// the card's network, merchant 1-128 bytes, merchant_id 1-64 bytes. Unknown members are
// refused. `field` names the first offending member (empty: the whole body); messages never
// hold request data. decode() does not allocate once warm. One decoder per thread.
class ProcessorRequestDecoder {
 public:
  ProcessorRequestDecoder();
  ~ProcessorRequestDecoder();
  ProcessorRequestDecoder(const ProcessorRequestDecoder&) = delete;
  ProcessorRequestDecoder& operator=(const ProcessorRequestDecoder&) = delete;

  DecodeError decode(std::string_view body, ProcessorRequest& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Replaces `out` with the 200 answer body for an approved or declined decision. Only those
// two may be passed: anything else is written as a do_not_honor decline (the processor never
// sends invalid_card_number, and a processor_error is a 500, not a body of this shape).
void encode_processor_answer(const Decision& decision, std::string& out);

}  // namespace paystream::core
