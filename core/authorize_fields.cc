#include "core/authorize_fields.h"

#include "base/utf8.h"
#include "core/money.h"

namespace paystream::core {
namespace {

constexpr std::array<std::string_view, kRequestFieldCount> kFieldNames = {
    "card_number", "currency", "amount", "merchant", "processor", "cardholder_name", "merchant_id",
};

constexpr std::string_view kRequired = "is required";
constexpr std::string_view kNotString = "must be a string";

bool is_missing(const FieldValue& value) {
  return value.kind == ValueKind::absent || value.kind == ValueKind::null;
}

bool is_merchant_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

class Validator {
 public:
  Validator(const RequestFieldValues& values, AuthorizeRequest& out) : values_(values), out_(out) {}

  DecodeError run() {
    // The order is part of the API: the first failing field is the one reported.
    constexpr DecodeError (Validator::*kSteps[])() = {
        &Validator::card_number, &Validator::currency,  &Validator::amount,
        &Validator::merchant,    &Validator::processor, &Validator::cardholder_name,
        &Validator::merchant_id,
    };
    for (auto step : kSteps) {
      const DecodeError error = (this->*step)();
      if (!error.ok()) return error;
    }
    return {};
  }

 private:
  const FieldValue& value(RequestField field) const { return values_[static_cast<size_t>(field)]; }
  static DecodeError fail(RequestField field, std::string_view message) {
    return {request_field_name(field), message};
  }

  // Required string fields share their first two checks.
  std::optional<DecodeError> require_string(RequestField field) const {
    const FieldValue& v = value(field);
    if (is_missing(v)) return fail(field, kRequired);
    if (v.kind != ValueKind::string) return fail(field, kNotString);
    return std::nullopt;
  }

  DecodeError card_number() {
    constexpr auto kField = RequestField::card_number;
    if (auto error = require_string(kField)) return *error;
    if (!out_.card.assign(value(kField).text)) {
      return fail(kField, "must be 12 to 19 digits, optionally grouped by single spaces or dashes");
    }
    const std::optional<CardNetwork> network = detect_network(out_.card.digits());
    if (!network) return fail(kField, "does not match a supported card network");
    out_.network = *network;
    out_.luhn_valid = luhn_valid(out_.card.digits());
    return {};
  }

  DecodeError currency() {
    constexpr auto kField = RequestField::currency;
    if (auto error = require_string(kField)) return *error;
    out_.currency = find_currency(value(kField).text);
    if (out_.currency == nullptr) {
      return fail(kField, "must be a supported ISO 4217 currency code in uppercase");
    }
    return {};
  }

  DecodeError amount() {
    constexpr auto kField = RequestField::amount;
    const FieldValue& v = value(kField);
    if (is_missing(v)) return fail(kField, kRequired);
    if (v.kind != ValueKind::number && v.kind != ValueKind::string) {
      return fail(kField, "must be a number or a string");
    }
    const AmountResult result = parse_amount(v.text, *out_.currency);
    if (!result.ok()) return fail(kField, amount_error_message(result.error));
    out_.amount_minor = result.minor;
    return {};
  }

  DecodeError merchant() {
    constexpr auto kField = RequestField::merchant;
    if (auto error = require_string(kField)) return *error;
    const std::string_view text = value(kField).text;
    if (text.empty() || !out_.merchant.assign(text)) {
      return fail(kField, "must be 1 to 128 bytes");
    }
    if (!base::is_valid_utf8(text)) return fail(kField, "must be valid UTF-8");
    return {};
  }

  DecodeError processor() {
    constexpr auto kField = RequestField::processor;
    const FieldValue& v = value(kField);
    out_.processor_given = !is_missing(v);
    if (!out_.processor_given) return {};
    if (v.kind != ValueKind::string) return fail(kField, kNotString);
    const std::optional<CardNetwork> named = parse_network_name(v.text);
    if (!named) return fail(kField, "must be one of visa, mastercard, amex, discover");
    if (*named != out_.network) return fail(kField, "does not match the card's network");
    return {};
  }

  DecodeError cardholder_name() {
    constexpr auto kField = RequestField::cardholder_name;
    const FieldValue& v = value(kField);
    out_.cardholder_name.clear();
    if (is_missing(v)) return {};
    if (v.kind != ValueKind::string) return fail(kField, kNotString);
    if (!out_.cardholder_name.assign(v.text)) return fail(kField, "must be at most 128 bytes");
    if (!base::is_valid_utf8(v.text)) return fail(kField, "must be valid UTF-8");
    return {};
  }

  DecodeError merchant_id() {
    constexpr auto kField = RequestField::merchant_id;
    const FieldValue& v = value(kField);
    out_.merchant_id.clear();
    if (is_missing(v)) return {};
    if (v.kind != ValueKind::string) return fail(kField, kNotString);
    bool valid = v.text.size() <= kMaxMerchantIdBytes;
    for (size_t i = 0; valid && i < v.text.size(); ++i) valid = is_merchant_id_char(v.text[i]);
    if (!valid || !out_.merchant_id.assign(v.text)) {
      return fail(kField, "must be at most 64 characters of A-Z, a-z, 0-9, _ or -");
    }
    return {};
  }

  const RequestFieldValues& values_;
  AuthorizeRequest& out_;
};

}  // namespace

std::string_view request_field_name(RequestField field) {
  return kFieldNames[static_cast<size_t>(field)];
}

std::optional<RequestField> find_request_field(std::string_view key) {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (kFieldNames[i] == key) return static_cast<RequestField>(i);
  }
  return std::nullopt;
}

DecodeError validate_request_fields(const RequestFieldValues& values, AuthorizeRequest& out) {
  return Validator(values, out).run();
}

}  // namespace paystream::core
