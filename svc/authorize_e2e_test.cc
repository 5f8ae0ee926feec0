// End-to-end: POST /v1/authorize on the real paystream-authd.

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "svc/testing/authd.h"

namespace paystream::svc {
namespace {

using testing::Authd;
using testing::json_member;

// Luhn-valid test card numbers of each network.
constexpr char kVisa[] = "4111 1111 1111 1111";
constexpr char kMastercard[] = "5555-5555-5555-4444";
constexpr char kAmex[] = "378282246310005";

std::string body(const std::string& card, const std::string& currency, const std::string& amount,
                 const std::string& merchant, const std::string& extra = "") {
  return R"({"card_number":")" + card + R"(","currency":")" + currency + R"(","amount":)" + amount +
         R"(,"merchant":")" + merchant + "\"" + extra + "}";
}

class Authorize : public ::testing::Test {
 protected:
  void start(testing::EnvVars env) {
    // A fast processor unless the test says otherwise.
    auto has = [&env](const std::string& name) {
      for (const auto& [k, v] : env) {
        if (k == name) return true;
      }
      return false;
    };
    if (!has("LATENCY_BASE_MS")) env.emplace_back("LATENCY_BASE_MS", "5");
    if (!has("LATENCY_JITTER_MS")) env.emplace_back("LATENCY_JITTER_MS", "2");
    ASSERT_TRUE(authd_.start(env)) << authd_.process.stderr_text();
  }
  void TearDown() override {
    if (authd_.port <= 0) return;
    EXPECT_EQ(authd_.stop(), 0);
    const std::string log = authd_.process.stderr_text();
    EXPECT_EQ(authd_.process.sanitizer_report(), "");
    // Card numbers never reach the log: neither whole nor grouped.
    for (const char* secret : {"4111111111111111", "4111 1111", "5555-5555", "555555555555",
                               "378282246310005", "37828224631"}) {
      EXPECT_EQ(log.find(secret), std::string::npos) << secret;
    }
    EXPECT_EQ(log.find("Maria Garcia"), std::string::npos);
  }
  Authd authd_;
};

TEST_F(Authorize, ThreeRealisticTransactions) {
  start({{"SUCCESS_RATE", "1"}, {"SERVICE_VERSION", "1.4.2-test"}});
  struct Case {
    std::string body;
    const char* processor;
    const char* amount;
    const char* currency;
    const char* amount_minor;
    const char* last4;
  } cases[] = {
      {body(kVisa, "USD", "\"2450.00\"", "Amazon Web Services",
            R"(,"cardholder_name":"Maria Garcia")"),
       "visa", "2450.00", "USD", "245000", "1111"},
      {body(kMastercard, "EUR", "189.99", "El Corte Inglés",
            R"(,"cardholder_name":"Carlos López")"),
       "mastercard", "189.99", "EUR", "18999", "4444"},
      {body(kAmex, "USD", "15000.00", "Salesforce Inc", R"(,"cardholder_name":"Ana Martínez")"),
       "amex", "15000.00", "USD", "1500000", "0005"},
  };
  for (const Case& c : cases) {
    auto r = authd_.authorize(c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    const std::string& b = r->body;
    EXPECT_EQ(json_member(b, "status"), "\"approved\"") << b;
    EXPECT_EQ(json_member(b, "processor"), std::string("\"") + c.processor + "\"");
    EXPECT_EQ(json_member(b, "amount"), c.amount);
    EXPECT_EQ(json_member(b, "currency"), std::string("\"") + c.currency + "\"");
    EXPECT_EQ(json_member(b, "amount_minor"), c.amount_minor);
    EXPECT_EQ(json_member(b, "card_last4"), std::string("\"") + c.last4 + "\"");
    EXPECT_EQ(json_member(b, "version"), "\"1.4.2-test\"");
    EXPECT_EQ(json_member(b, "authorization_code").size(), 8u);  // 6 characters, quoted
    EXPECT_EQ(json_member(b, "decline_code"), "");
    EXPECT_EQ(json_member(b, "transaction_id").substr(0, 5), "\"txn_");
    EXPECT_EQ(json_member(b, "transaction_id").size(), 32u);
    EXPECT_GE(std::stoi(json_member(b, "latency_ms")), 3);
    EXPECT_EQ(b.find("cardholder"), std::string::npos);
    EXPECT_EQ(b.rfind("{\"transaction_id\":", 0), 0u) << "field order";
  }
}

TEST_F(Authorize, LuhnFailureIsDeclinedWithoutTheProcessor) {
  start({{"ERROR_RATE", "1"}});  // the processor would fail: it must not be called
  auto r = authd_.authorize(body("4111111111111112", "USD", "10", "Shop"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json_member(r->body, "status"), "\"declined\"");
  EXPECT_EQ(json_member(r->body, "decline_code"), "\"invalid_card_number\"");
  EXPECT_EQ(json_member(r->body, "card_last4"), "\"1112\"");
}

TEST_F(Authorize, RequestIdIsEchoedOrGenerated) {
  start({});
  auto echoed = authd_.post("/v1/authorize", body(kVisa, "USD", "1", "Shop"),
                            "Content-Type: application/json\r\nX-Request-Id: req-42-abc\r\n");
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->header("x-request-id"), "req-42-abc");
  auto invalid = authd_.post("/v1/authorize", "{}",
                             "Content-Type: application/json\r\nX-Request-Id: bad id!\r\n");
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->header("x-request-id").size(), 32u);
  auto absent = authd_.authorize(body(kVisa, "USD", "1", "Shop"));
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->header("x-request-id").size(), 32u);
  EXPECT_NE(absent->header("x-request-id"), invalid->header("x-request-id"));
}

struct Invalid {
  std::string body;
  const char* field;  // "null" for whole-body errors
};

TEST_F(Authorize, EveryInvalidRequestGetsA400NamingItsField) {
  start({});
  const std::string ok_tail = R"(,"currency":"USD","amount":"1.00","merchant":"Shop"})";
  const Invalid cases[] = {
      {"", "null"},
      {"[]", "null"},
      {"42", "null"},
      {"\"text\"", "null"},
      {"{", "null"},
      {R"({"card_number":"4111111111111111"} {})", "null"},
      {R"({"card_number":"4111111111111111","x":[1,2,})", "null"},
      {R"({"card_number":"4111111111111111","ignored":{"deep":tru})" + ok_tail, "null"},
      {R"({"card_number":"4111111111111111","card\u005fnumber":"4111111111111111")" + ok_tail,
       "card_number"},
      {R"({"currency":"USD","amount":"1","merchant":"Shop"})", "card_number"},
      {R"({"card_number":"41111111111")" + ok_tail, "card_number"},
      {R"({"card_number":"9111111111111111")" + ok_tail, "card_number"},
      {R"({"card_number":"4111  1111 1111 1111")" + ok_tail, "card_number"},
      {R"({"card_number":4111111111111111)" + ok_tail, "card_number"},
      {body(kVisa, "usd", "1", "Shop"), "currency"},
      {body(kVisa, "XXX", "1", "Shop"), "currency"},
      {body(kVisa, "USD", "0", "Shop"), "amount"},
      {body(kVisa, "USD", "-1", "Shop"), "amount"},
      {body(kVisa, "USD", "1e3", "Shop"), "amount"},
      {body(kVisa, "USD", "\"01.00\"", "Shop"), "amount"},
      {body(kVisa, "USD", "01.00", "Shop"), "null"},  // not JSON at all
      {body(kVisa, "USD", "\"1.001\"", "Shop"), "amount"},
      {body(kVisa, "USD", "1000000.01", "Shop"), "amount"},
      {body(kVisa, "JPY", "1.5", "Shop"), "amount"},
      {body(kVisa, "USD", "1", ""), "merchant"},
      {body(kVisa, "USD", "1", std::string(129, 'm')), "merchant"},
      {body(kVisa, "USD", "1", "Shop", R"(,"processor":"amex")"), "processor"},
      {body(kVisa, "USD", "1", "Shop", R"(,"processor":"paypal")"), "processor"},
      {body(kVisa, "USD", "1", "Shop", R"(,"cardholder_name":")" + std::string(129, 'n') + "\""),
       "cardholder_name"},
      {body(kVisa, "USD", "1", "Shop", R"(,"merchant_id":"has space")"), "merchant_id"},
  };
  for (const Invalid& c : cases) {
    auto r = authd_.authorize(c.body);
    ASSERT_TRUE(r) << c.body;
    EXPECT_EQ(r->status, 400) << c.body << " -> " << r->body;
    EXPECT_EQ(json_member(r->body, "error"), "\"invalid_request\"") << c.body;
    const std::string field =
        std::string(c.field) == "null" ? "null" : std::string("\"") + c.field + "\"";
    EXPECT_EQ(json_member(r->body, "field"), field) << c.body << " -> " << r->body;
    EXPECT_FALSE(json_member(r->body, "message").empty());
    EXPECT_EQ(r->body.find("4111"), std::string::npos) << "card echoed: " << r->body;
  }
}

TEST_F(Authorize, ContentTypeMustBeJson) {
  start({});
  const std::string ok = body(kVisa, "USD", "1", "Shop");
  for (const char* headers :
       {"", "Content-Type: text/plain\r\n", "Content-Type: application/json; charset=latin1\r\n"}) {
    auto r = authd_.post("/v1/authorize", ok, headers);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415) << headers;
    EXPECT_EQ(json_member(r->body, "error"), "\"unsupported_media_type\"");
  }
  auto with_charset =
      authd_.post("/v1/authorize", ok, "Content-Type: Application/JSON; charset=UTF-8\r\n");
  ASSERT_TRUE(with_charset);
  EXPECT_EQ(with_charset->status, 200);
  auto wrong_method = authd_.get(authd_.port, "/v1/authorize");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->header("allow"), "POST");
  auto unknown = authd_.post("/v1/authorise", ok);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST_F(Authorize, DeclinesNeverTripTheBreaker) {
  start({{"SUCCESS_RATE", "0"}, {"CB_FAILURE_THRESHOLD", "1"}});
  for (int i = 0; i < 30; ++i) {
    auto r = authd_.authorize(body(kVisa, "USD", "1", "Shop"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << "request " << i << ": " << r->body;
    EXPECT_EQ(json_member(r->body, "status"), "\"declined\"");
    EXPECT_NE(json_member(r->body, "decline_code"), "\"invalid_card_number\"");
  }
}

TEST_F(Authorize, ProcessorErrorsTripTheBreakerAndHalfOpenProbesAgain) {
  start({{"ERROR_RATE", "1"},
         {"CB_FAILURE_THRESHOLD", "5"},
         {"CB_OPEN_TIMEOUT_MS", "1500"},
         {"CB_HALF_OPEN_MAX_REQUESTS", "1"}});
  const std::string ok = body(kVisa, "USD", "1", "Shop");
  for (int i = 0; i < 5; ++i) {
    auto r = authd_.authorize(ok);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502) << "failure " << i + 1 << " still reaches the processor";
    EXPECT_EQ(json_member(r->body, "error"), "\"processor_error\"");
    EXPECT_EQ(json_member(r->body, "transaction_id").substr(0, 5), "\"txn_");
  }
  for (int i = 0; i < 3; ++i) {
    auto r = authd_.authorize(ok);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(json_member(r->body, "error"), "\"circuit_open\"");
    EXPECT_EQ(r->header("retry-after"), "2");  // 1.5 s, rounded up
    EXPECT_EQ(json_member(r->body, "transaction_id").substr(0, 5), "\"txn_");
  }
  EXPECT_TRUE(authd_.process.wait_for_line(R"("from":"closed","to":"open")", 1000));
  usleep(1600 * 1000);
  // Half-open: one probe goes to the processor, fails, and opens the breaker again.
  auto probe = authd_.authorize(ok);
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->status, 502);
  auto after = authd_.authorize(ok);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 503);
  EXPECT_TRUE(authd_.process.wait_for_line(R"("from":"half_open","to":"open")", 1000));
  EXPECT_TRUE(authd_.process.wait_for_line("\"status\":503", 1000));  // 5xx are logged
}

TEST_F(Authorize, SlowProcessorAnswers504AtTheDeadline) {
  start({{"LATENCY_BASE_MS", "400"}, {"PROCESSOR_TIMEOUT_MS", "100"}});
  auto r = authd_.authorize(body(kVisa, "USD", "1", "Shop"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(json_member(r->body, "error"), "\"processor_timeout\"");
}

}  // namespace
}  // namespace paystream::svc
