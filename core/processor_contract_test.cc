#include "core/processor_contract.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/allocation_counter.h"
#include "core/random.h"

namespace paystream::core {
namespace {

constexpr std::string_view kTxn = "txn_01JD8X3Q7Z9K2M4N6P8R0T2V4W";

AuthorizeRequest sample_request() {
  AuthorizeRequest r;
  EXPECT_TRUE(r.card.assign("4111 1111 1111 1111"));
  r.network = CardNetwork::visa;
  r.luhn_valid = true;
  r.currency = find_currency("USD");
  r.amount_minor = 1234;
  r.merchant.assign("Acme \"Tools\"\n");
  return r;
}

std::string valid_request_body(std::string_view extra_member = "") {
  return std::string(R"({"transaction_id":")") + std::string(kTxn) +
         R"(","amount":"12.34","currency":"USD","card_number":"4111111111111111",)"
         R"("merchant":"Acme","network":"visa")" +
         std::string(extra_member) + "}";
}

TEST(ProcessorContract, EncodesTheRequestExactly) {
  AuthorizeRequest r = sample_request();
  std::string out = "stale";
  encode_processor_request(r, kTxn, out);
  EXPECT_EQ(out, std::string(R"({"transaction_id":")") + std::string(kTxn) +
                     R"(","amount":"12.34","currency":"USD","card_number":"4111111111111111",)"
                     R"("merchant":"Acme \"Tools\"\n","network":"visa"})");
  r.merchant_id.assign("m-1");
  r.currency = find_currency("JPY");
  r.amount_minor = 1500;
  encode_processor_request(r, kTxn, out);
  EXPECT_NE(out.find(R"("amount":"1500","currency":"JPY")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("merchant_id":"m-1","network":"visa"})"), std::string::npos) << out;
  r.currency = find_currency("BHD");
  r.amount_minor = 12345;
  encode_processor_request(r, kTxn, out);
  EXPECT_NE(out.find(R"("amount":"12.345")"), std::string::npos) << out;
}

TEST(ProcessorContract, EncodedRequestsDecodeBackToTheSameRequest) {
  AuthorizeRequest r = sample_request();
  r.merchant_id.assign("m-1");
  std::string body;
  encode_processor_request(r, kTxn, body);
  ProcessorRequestDecoder decoder;
  ProcessorRequest out;
  const DecodeError error = decoder.decode(body, out);
  ASSERT_TRUE(error.ok()) << error.field << ": " << error.message;
  EXPECT_EQ(out.transaction_id_view(), kTxn);
  EXPECT_EQ(out.amount_minor, 1234);
  EXPECT_EQ(out.currency->code, "USD");
  EXPECT_EQ(out.card.digits(), "4111111111111111");
  EXPECT_EQ(out.network, CardNetwork::visa);
  EXPECT_EQ(out.merchant.view(), "Acme \"Tools\"\n");
  EXPECT_EQ(out.merchant_id.view(), "m-1");
}

TEST(ProcessorContract, RequestDecoderIsStrict) {
  struct Case {
    std::string body;
    std::string_view field;
  };
  const std::string txn(kTxn);
  auto with = [&](std::string_view from, std::string_view to) {
    std::string body = valid_request_body();
    body.replace(body.find(from), from.size(), to);
    return body;
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"[]", ""},
      {"{", ""},
      {valid_request_body() + "x", ""},
      {valid_request_body(R"(,"extra":"1")"), ""},
      {valid_request_body(R"(,"amount":"1.00")"), "amount"},
      {with(txn, "txn_short"), "transaction_id"},
      {with(txn, "TXN_01JD8X3Q7Z9K2M4N6P8R0T2V4W"), "transaction_id"},
      {with(R"("amount":"12.34")", R"("amount":12.34)"), "amount"},
      {with(R"("amount":"12.34")", R"("amount":"12.345")"), "amount"},
      {with(R"("amount":"12.34")", R"("amount":"0.00")"), "amount"},
      {with(R"("amount":"12.34")", R"("amount":"1e3")"), "amount"},
      {with("USD", "usd"), "currency"},
      {with("4111111111111111", "4111111111111112"), "card_number"},
      {with("4111111111111111", "4111 1111 1111 1111"), "card_number"},
      {with("4111111111111111", "41111"), "card_number"},
      {with("visa", "mastercard"), "network"},
      {with(R"("merchant":"Acme")", R"("merchant":"")"), "merchant"},
      {with(R"("merchant":"Acme")", R"("merchant":")" + std::string(129, 'a') + "\""), "merchant"},
      {with(R"("merchant":"Acme",)", ""), "merchant"},
      {with(R"("network":"visa")", R"("network":"visa","merchant_id":"")"), "merchant_id"},
      {with(R"("network":"visa")", R"("network":"visa","merchant_id":null)"), "merchant_id"},
  };
  ProcessorRequestDecoder decoder;
  for (const Case& c : cases) {
    ProcessorRequest out;
    const DecodeError error = decoder.decode(c.body, out);
    EXPECT_FALSE(error.ok()) << c.body;
    EXPECT_EQ(error.field, c.field) << c.body << " -> " << error.message;
    EXPECT_EQ(error.message.find("4111"), std::string_view::npos);
  }
  ProcessorRequest out;
  EXPECT_TRUE(decoder.decode(valid_request_body(), out).ok());
  EXPECT_TRUE(decoder.decode(with("12.34", "12.340"), out).ok());  // zeros beyond are exact
  EXPECT_EQ(out.amount_minor, 1234);
}

TEST(ProcessorContract, AnswersRoundTrip) {
  ProcessorAnswerDecoder decoder;
  Xoshiro256 rng(7);
  std::string body;
  for (int i = 0; i < 1000; ++i) {
    const Decision d = simulate_processor({.success_rate = 0.5}, draw_processor(rng));
    encode_processor_answer(d, body);
    const ProcessorAnswer a = decoder.decode(200, body);
    if (d.verdict == Verdict::approved) {
      ASSERT_EQ(a.kind, ProcessorAnswer::Kind::approved) << body;
      EXPECT_EQ(a.authorization_code, d.authorization_code);
    } else {
      ASSERT_EQ(a.kind, ProcessorAnswer::Kind::declined) << body;
      EXPECT_EQ(a.decline_code, d.decline_code);
    }
  }
  EXPECT_EQ(decoder.decode(200, R"({"status":"approved","authorization_code":"A1B2C3"})").kind,
            ProcessorAnswer::Kind::approved);
  const ProcessorAnswer declined =
      decoder.decode(200, R"( {"id":7,"status":"declined","decline_code":"card_expired"} )");
  EXPECT_EQ(declined.kind, ProcessorAnswer::Kind::declined);
  EXPECT_EQ(declined.decline_code, DeclineCode::card_expired);
}

TEST(ProcessorContract, AnythingElseIsInvalid) {
  const std::string ok = R"({"status":"approved","authorization_code":"A1B2C3"})";
  const std::vector<std::string> bodies = {
      "",
      "null",
      "[]",
      R"({"status":"approved"})",
      R"({"status":"approved","authorization_code":"a1b2c3"})",
      R"({"status":"approved","authorization_code":"A1B2C"})",
      R"({"status":"approved","authorization_code":"A1B2C3D"})",
      R"({"status":"approved","authorization_code":"A1B2C!"})",
      R"({"status":"approved","authorization_code":123456})",
      R"({"status":"approved","authorization_code":"A1B2C3","authorization_code":"A1B2C3"})",
      R"({"status":"approved","authorization_code":"A1B2C3","decline_code":"do_not_honor"})",
      R"({"status":"declined","decline_code":"invalid_card_number"})",
      R"({"status":"declined","decline_code":"nope"})",
      R"({"status":"declined"})",
      R"({"status":"APPROVED","authorization_code":"A1B2C3"})",
      R"({"status":"pending"})",
      ok.substr(0, ok.size() - 1),
      ok + "x",
      R"({"status":"approved","authorization_code":"A1B2C3","pad":")" +
          std::string(kMaxProcessorAnswerBytes, 'x') + "\"}",
  };
  ProcessorAnswerDecoder decoder;
  for (const std::string& body : bodies) {
    EXPECT_EQ(decoder.decode(200, body).kind, ProcessorAnswer::Kind::invalid) << body;
  }
  for (int status : {201, 204, 400, 500, 502}) {
    EXPECT_EQ(decoder.decode(status, ok).kind, ProcessorAnswer::Kind::invalid) << status;
  }
  EXPECT_EQ(decoder.decode(200, ok).kind, ProcessorAnswer::Kind::approved);
}

TEST(ProcessorContract, UnknownMembersMayNestSixteenLevels) {
  // The body's object is level 1; "x" adds levels with arrays.
  auto nested = [](int levels) {
    return R"({"status":"approved","authorization_code":"A1B2C3","x":)" +
           std::string(levels - 1, '[') + std::string(levels - 1, ']') + "}";
  };
  ProcessorAnswerDecoder decoder;
  EXPECT_EQ(decoder.decode(200, nested(16)).kind, ProcessorAnswer::Kind::approved);
  EXPECT_EQ(decoder.decode(200, nested(17)).kind, ProcessorAnswer::Kind::invalid);
}

TEST(ProcessorContract, AnswerDecoderSurvivesArbitraryBytes) {
  ProcessorAnswerDecoder decoder;
  Xoshiro256 rng(11);
  const std::string base = R"({"status":"declined","decline_code":"do_not_honor"})";
  for (int i = 0; i < 20000; ++i) {
    std::string body = base;
    const int edits = 1 + static_cast<int>(rng.next_below(4));
    for (int e = 0; e < edits; ++e) {
      body[rng.next_below(body.size())] = static_cast<char>(rng.next());
    }
    body.resize(rng.next_below(body.size() + 1));
    const ProcessorAnswer a = decoder.decode(200, body);
    if (a.kind == ProcessorAnswer::Kind::declined) {
      EXPECT_NE(a.decline_code, DeclineCode::invalid_card_number);
    }
  }
}

TEST(ProcessorContract, WarmDecodersAndEncodersDoNotAllocate) {
  ProcessorAnswerDecoder answers;
  ProcessorRequestDecoder requests;
  const AuthorizeRequest r = sample_request();
  std::string request_body, answer_body;
  ProcessorRequest decoded;
  Decision d;
  d.verdict = Verdict::approved;
  d.authorization_code = authorization_code_from_bits(99);
  encode_processor_request(r, kTxn, request_body);
  encode_processor_answer(d, answer_body);
  ASSERT_TRUE(requests.decode(request_body, decoded).ok());
  ASSERT_EQ(answers.decode(200, answer_body).kind, ProcessorAnswer::Kind::approved);
  base::test_support::AllocationCounter counter;
  for (int i = 0; i < 100; ++i) {
    encode_processor_request(r, kTxn, request_body);
    encode_processor_answer(d, answer_body);
    (void)requests.decode(request_body, decoded);
    (void)answers.decode(200, answer_body);
    (void)answers.decode(200, "garbage");
  }
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace paystream::core
