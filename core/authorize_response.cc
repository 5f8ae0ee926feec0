#include "core/authorize_response.h"

#include <charconv>

#include "base/json_escape.h"
#include "core/money.h"

namespace paystream::core {
namespace {

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

std::string_view service_error_message(ServiceError error) {
  switch (error) {
    case ServiceError::circuit_open:
      return "the payment processor is unavailable; retry after the Retry-After delay";
    case ServiceError::processor_error:
      return "the payment processor failed to process the authorization";
    case ServiceError::processor_timeout:
      return "the payment processor did not answer in time";
    case ServiceError::idempotency_key_in_use:
      return "a request with this Idempotency-Key is still being processed; retry after the "
             "Retry-After delay";
    case ServiceError::idempotency_outcome_unknown:
      return "the first request with this Idempotency-Key did not complete and its outcome is "
             "unknown; it will not be executed again with this key";
    case ServiceError::idempotency_key_reused:
      return "this Idempotency-Key was used for a different request";
    case ServiceError::idempotency_store_unavailable:
      return "idempotency keys cannot be checked now; the request was not executed, retry "
             "after the Retry-After delay";
    case ServiceError::processor_busy:
      return "every connection to the payment processor is busy; the request was not sent, "
             "retry after the Retry-After delay";
  }
  return "";
}

}  // namespace

void format_authorize_response(const AuthorizeResponse& response, std::string& out) {
  const bool approved = response.verdict == Verdict::approved;
  out.clear();
  out += R"({"transaction_id":)";
  base::append_json_string(out, response.transaction_id);
  out += approved ? R"(,"status":"approved","authorization_code":)"
                  : R"(,"status":"declined","decline_code":)";
  base::append_json_string(
      out, approved ? response.authorization_code : decline_code_name(response.decline_code));
  out += R"(,"processor":)";
  base::append_json_string(out, network_name(response.processor));
  out += R"(,"amount":)";
  char amount[kMaxAmountText];
  out.append(amount, format_amount(response.amount_minor, response.currency->exponent, amount));
  out += R"(,"currency":)";
  base::append_json_string(out, response.currency->code);
  out += R"(,"amount_minor":)";
  append_integer(out, response.amount_minor);
  out += R"(,"card_last4":)";
  base::append_json_string(out, response.card_last4);
  out += R"(,"latency_ms":)";
  append_integer(out, response.latency_ms);
  out += R"(,"version":)";
  base::append_json_string(out, response.version);
  out += '}';
}

void format_invalid_request(std::string_view field, std::string_view message, std::string& out) {
  out.clear();
  out += R"({"error":"invalid_request","field":)";
  if (field.empty()) {
    out += "null";
  } else {
    base::append_json_string(out, field);
  }
  out += R"(,"message":)";
  base::append_json_string(out, message);
  out += '}';
}

std::string_view service_error_name(ServiceError error) {
  switch (error) {
    case ServiceError::circuit_open:
      return "circuit_open";
    case ServiceError::processor_error:
      return "processor_error";
    case ServiceError::processor_timeout:
      return "processor_timeout";
    case ServiceError::idempotency_key_in_use:
      return "idempotency_key_in_use";
    case ServiceError::idempotency_outcome_unknown:
      return "idempotency_outcome_unknown";
    case ServiceError::idempotency_key_reused:
      return "idempotency_key_reused";
    case ServiceError::idempotency_store_unavailable:
      return "idempotency_store_unavailable";
    case ServiceError::processor_busy:
      return "processor_busy";
  }
  return "";
}

void format_service_error(ServiceError error, std::string_view transaction_id, std::string& out) {
  out.clear();
  out += R"({"error":)";
  base::append_json_string(out, service_error_name(error));
  out += R"(,"message":)";
  base::append_json_string(out, service_error_message(error));
  if (!transaction_id.empty()) {
    out += R"(,"transaction_id":)";
    base::append_json_string(out, transaction_id);
  }
  out += '}';
}

}  // namespace paystream::core
