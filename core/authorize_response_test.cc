#include "core/authorize_response.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "base/allocation_counter.h"

namespace paystream::core {
namespace {

AuthorizeResponse approved_usd() {
  AuthorizeResponse r;
  r.transaction_id = "txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2";
  r.verdict = Verdict::approved;
  r.authorization_code = "A1B2C3";
  r.processor = CardNetwork::visa;
  r.amount_minor = 245000;
  r.currency = find_currency("USD");
  r.card_last4 = "1111";
  r.latency_ms = 203;
  r.version = "0.1.0";
  return r;
}

// The member names of a JSON object, in document order (parsed independently with simdjson).
std::vector<std::string> keys_of(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  EXPECT_EQ(parser.parse(json).get(object), simdjson::SUCCESS) << json;
  std::vector<std::string> keys;
  for (auto field : object) keys.emplace_back(field.key);
  return keys;
}

TEST(AuthorizeResponse, ApprovedExactBytes) {
  std::string out;
  format_authorize_response(approved_usd(), out);
  EXPECT_EQ(out,
            R"({"transaction_id":"txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2","status":"approved",)"
            R"("authorization_code":"A1B2C3","processor":"visa","amount":2450.00,"currency":"USD",)"
            R"("amount_minor":245000,"card_last4":"1111","latency_ms":203,"version":"0.1.0"})");
  EXPECT_EQ(keys_of(out),
            (std::vector<std::string>{"transaction_id", "status", "authorization_code", "processor",
                                      "amount", "currency", "amount_minor", "card_last4",
                                      "latency_ms", "version"}));
}

TEST(AuthorizeResponse, DeclinedHasDeclineCodeInsteadOfAuthorizationCode) {
  AuthorizeResponse r = approved_usd();
  r.verdict = Verdict::declined;
  r.decline_code = DeclineCode::invalid_card_number;
  r.authorization_code = "SHOULD_NOT_APPEAR";
  r.latency_ms = 0;
  std::string out;
  format_authorize_response(r, out);
  EXPECT_EQ(out, R"({"transaction_id":"txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2","status":"declined",)"
                 R"("decline_code":"invalid_card_number","processor":"visa","amount":2450.00,)"
                 R"("currency":"USD","amount_minor":245000,"card_last4":"1111","latency_ms":0,)"
                 R"("version":"0.1.0"})");
  EXPECT_EQ(keys_of(out), (std::vector<std::string>{
                              "transaction_id", "status", "decline_code", "processor", "amount",
                              "currency", "amount_minor", "card_last4", "latency_ms", "version"}));
}

TEST(AuthorizeResponse, AmountHasExactlyTheCurrencyDecimals) {
  AuthorizeResponse r = approved_usd();
  std::string out;
  r.currency = find_currency("JPY");
  r.amount_minor = 1500;
  format_authorize_response(r, out);
  EXPECT_NE(out.find(R"("amount":1500,"currency":"JPY","amount_minor":1500,)"), std::string::npos)
      << out;
  r.currency = find_currency("KWD");
  r.amount_minor = 12345;
  format_authorize_response(r, out);
  EXPECT_NE(out.find(R"("amount":12.345,"currency":"KWD","amount_minor":12345,)"),
            std::string::npos)
      << out;
  r.currency = find_currency("EUR");
  r.amount_minor = 18999;
  r.processor = CardNetwork::mastercard;
  format_authorize_response(r, out);
  EXPECT_NE(out.find(R"("processor":"mastercard","amount":189.99,"currency":"EUR")"),
            std::string::npos)
      << out;
}

TEST(AuthorizeResponse, VersionIsEscaped) {
  AuthorizeResponse r = approved_usd();
  r.version = "1.0 \"beta\"\n\\";
  std::string out;
  format_authorize_response(r, out);
  EXPECT_NE(out.find(R"("version":"1.0 \"beta\"\n\\"})"), std::string::npos) << out;
  EXPECT_EQ(keys_of(out).back(), "version");
}

TEST(AuthorizeResponse, ReusedBufferIsReplacedAndDoesNotAllocate) {
  std::string out = "stale content";
  out.reserve(1024);
  const AuthorizeResponse r = approved_usd();
  format_authorize_response(r, out);
  const std::string first = out;
  const base::test_support::AllocationCounter counter;
  for (int i = 0; i < 100; ++i) {
    format_authorize_response(r, out);
    format_invalid_request("amount", "must be greater than zero", out);
    format_service_error(ServiceError::processor_timeout, r.transaction_id, out);
  }
  EXPECT_EQ(counter.count(), 0);
  format_authorize_response(r, out);
  EXPECT_EQ(out, first);
}

TEST(InvalidRequest, FieldOrNull) {
  std::string out;
  format_invalid_request("card_number", "is required", out);
  EXPECT_EQ(out, R"({"error":"invalid_request","field":"card_number","message":"is required"})");
  format_invalid_request("", "body is not valid JSON", out);
  EXPECT_EQ(out, R"({"error":"invalid_request","field":null,"message":"body is not valid JSON"})");
  format_invalid_request("we\"ird\x01", "appears more than once", out);
  EXPECT_EQ(
      out,
      R"({"error":"invalid_request","field":"we\"ird\u0001","message":"appears more than once"})");
  EXPECT_EQ(keys_of(out), (std::vector<std::string>{"error", "field", "message"}));
}

TEST(ServiceError, BodiesCarryTheTransactionId) {
  std::string out;
  format_service_error(ServiceError::circuit_open, "txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2", out);
  EXPECT_EQ(keys_of(out), (std::vector<std::string>{"error", "message", "transaction_id"}));
  EXPECT_EQ(out.rfind(R"({"error":"circuit_open","message":")", 0), 0u) << out;
  EXPECT_NE(out.find(R"(,"transaction_id":"txn_01JDQ8Z4N6X2W0V3C5B7A9K1M2"})"), std::string::npos);
  format_service_error(ServiceError::processor_error, "txn_X", out);
  EXPECT_EQ(out.rfind(R"({"error":"processor_error",)", 0), 0u) << out;
  format_service_error(ServiceError::processor_timeout, "", out);
  EXPECT_EQ(out.rfind(R"({"error":"processor_timeout",)", 0), 0u) << out;
  EXPECT_EQ(keys_of(out), (std::vector<std::string>{"error", "message"}));
  EXPECT_EQ(service_error_name(ServiceError::circuit_open), "circuit_open");
}

}  // namespace
}  // namespace paystream::core
