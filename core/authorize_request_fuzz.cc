// libFuzzer target: the POST /v1/authorize body decoder (JSON walk and field validation).
// The input is the body. One decoder serves every input, as one serves every request of a
// reactor, so state left over from a previous body would show.
//
// Invariants: decoding is deterministic; an error has a static message and names a known field,
// nothing, or a key of at most 64 bytes; an accepted body is valid JSON by simdjson's DOM parser
// (which validates the whole document independently) with the same card number and currency,
// and every decoded field holds its documented shape (12-19 digits, the network and Luhn flag
// of those digits, 0 < amount <= the currency's maximum and exactly re-parseable from its
// formatted text, merchant 1-128 bytes of UTF-8, ...).

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/utf8.h"
#include "core/authorize_fields.h"
#include "core/authorize_request.h"
#include "core/card.h"
#include "core/json_body_errors.h"
#include "core/money.h"

namespace {

using namespace paystream::core;

constexpr size_t kMaxBodyBytes = 16384;  // the default MAX_BODY_BYTES

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "authorize_request_fuzz: invariant violated: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_known_field(std::string_view name) {
  return find_request_field(name).has_value();
}

void check_accepted(std::string_view body, const AuthorizeRequest& r) {
  const std::string_view digits = r.card.digits();
  check(digits.size() >= kMinCardDigits && digits.size() <= kMaxCardDigits && all_digits(digits),
        "card number not 12-19 digits");
  check(detect_network(digits) == r.network, "network not the card's");
  check(luhn_valid(digits) == r.luhn_valid, "Luhn flag not the card's");
  check(r.currency != nullptr, "accepted without a currency");
  check(r.amount_minor > 0 && r.amount_minor <= r.currency->max_minor, "amount out of range");
  char text[kMaxAmountText];
  const size_t length = format_amount(r.amount_minor, r.currency->exponent, text);
  const AmountResult again = parse_amount(std::string_view(text, length), *r.currency);
  check(again.ok() && again.minor == r.amount_minor, "amount does not survive formatting");
  check(!r.merchant.empty() && r.merchant.size() <= kMaxMerchantBytes &&
            paystream::base::is_valid_utf8(r.merchant.view()),
        "merchant shape");
  check(paystream::base::is_valid_utf8(r.cardholder_name.view()), "cardholder name not UTF-8");
  for (char c : r.merchant_id.view()) {
    check((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || all_digits({&c, 1}) || c == '_' ||
              c == '-',
          "merchant_id character");
  }

  // An independent full parse must agree that this is JSON, and on the values that matter.
  static simdjson::dom::parser dom;
  simdjson::dom::element document;
  const simdjson::error_code parsed = dom.parse(simdjson::padded_string(body)).get(document);
  // RFC 8259 sets no limit on a number's size, the DOM does (64-bit integers, finite doubles):
  // such a body is valid JSON the DOM cannot hold, so there is nothing to compare.
  if (parsed == simdjson::NUMBER_ERROR) return;
  if (parsed != simdjson::SUCCESS) {
    std::fprintf(stderr, "DOM: %s\n", simdjson::error_message(parsed));
    violated("accepted a body the DOM rejects");
  }
  simdjson::dom::object object;
  check(!document.get_object().get(object), "accepted a body that is not an object");
  std::string_view card_text;
  check(!object["card_number"].get_string().get(card_text), "card_number not a string in DOM");
  CardDigits card;
  check(card.assign(card_text) && card.digits() == digits, "card number differs from the DOM's");
  std::string_view currency;
  check(!object["currency"].get_string().get(currency) && currency == r.currency->code,
        "currency differs from the DOM's");
}

void check_rejected(std::string_view body, const DecodeError& error) {
  check(!error.message.empty(), "error without a message");
  check(error.field.empty() || is_known_field(error.field) ||
            (error.message == kKeyRepeated && error.field.size() <= kMaxReportedKeyBytes),
        "error names something that is not a field");
  (void)body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static AuthorizeDecoder decoder(kMaxBodyBytes);
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  AuthorizeRequest first;
  const DecodeError error = decoder.decode(body, first);
  // Copy what the error views: `field` may point into the decoder's buffers.
  const std::string field(error.field);
  const std::string_view message = error.message;
  if (error.ok()) {
    check_accepted(body, first);
  } else {
    check_rejected(body, error);
  }

  AuthorizeRequest second;
  const DecodeError again = decoder.decode(body, second);
  check(again.message == message && again.field == field, "decoding is not deterministic");
  if (again.ok()) {
    check(second.card.digits() == first.card.digits() && second.currency == first.currency &&
              second.amount_minor == first.amount_minor &&
              second.merchant.view() == first.merchant.view() &&
              second.cardholder_name.view() == first.cardholder_name.view() &&
              second.merchant_id.view() == first.merchant_id.view(),
          "decoding is not deterministic");
  }
  return 0;
}
