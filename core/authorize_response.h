#pragma once
// The JSON bodies of /v1/authorize answers, written into a caller-owned std::string whose
// capacity is reused: once it has grown to fit, formatting allocates nothing.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/card.h"
#include "core/currency.h"
#include "core/decision.h"

namespace paystream::core {

// The 200 answer, approvals and declines alike.
struct AuthorizeResponse {
  std::string_view transaction_id;
  Verdict verdict = Verdict::declined;                   // approved or declined
  std::string_view authorization_code;                   // approved only
  DeclineCode decline_code = DeclineCode::do_not_honor;  // declined only
  CardNetwork processor = CardNetwork::visa;
  int64_t amount_minor = 0;
  const Currency* currency = nullptr;  // required
  std::string_view card_last4;
  uint64_t latency_ms = 0;
  std::string_view version;
};

// Replaces `out` with {"transaction_id", "status", "authorization_code" | "decline_code",
// "processor", "amount" (exactly the currency's decimals), "currency", "amount_minor",
// "card_last4", "latency_ms", "version"} in that order.
void format_authorize_response(const AuthorizeResponse& response, std::string& out);

// Replaces `out` with {"error":"invalid_request","field":<field or null if empty>,"message":...}.
void format_invalid_request(std::string_view field, std::string_view message, std::string& out);

enum class ServiceError : uint8_t {
  circuit_open,
  processor_error,
  processor_timeout,
  idempotency_key_in_use,         // 409
  idempotency_outcome_unknown,    // 409
  idempotency_key_reused,         // 422
  idempotency_store_unavailable,  // 503
  processor_busy,                 // 503: no processor connection free and the wait queue full
};

// "circuit_open", "processor_error", ... (the enumerator's name).
std::string_view service_error_name(ServiceError error);

// Replaces `out` with {"error":...,"message":...,"transaction_id":...}; the transaction_id member
// is left out when `transaction_id` is empty.
void format_service_error(ServiceError error, std::string_view transaction_id, std::string& out);

}  // namespace paystream::core
