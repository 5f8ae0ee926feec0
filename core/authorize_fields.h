#pragma once
// The field rules of an authorize request, applied in their fixed order to values the JSON walk
// captured. Independent of the JSON parser.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/authorize_request.h"

namespace paystream::core {

enum class RequestField : uint8_t {
  card_number,
  currency,
  amount,
  merchant,
  processor,
  cardholder_name,
  merchant_id,
};
inline constexpr size_t kRequestFieldCount = 7;

std::string_view request_field_name(RequestField field);
std::optional<RequestField> find_request_field(std::string_view key);

enum class ValueKind : uint8_t { absent, null, string, number, other };

struct FieldValue {
  ValueKind kind = ValueKind::absent;
  std::string_view text;  // string: unescaped contents; number: the raw token
};

// Indexed by RequestField.
using RequestFieldValues = std::array<FieldValue, kRequestFieldCount>;

// Checks the fields in declaration order and fills `out`; the first failure is returned.
DecodeError validate_request_fields(const RequestFieldValues& values, AuthorizeRequest& out);

}  // namespace paystream::core
