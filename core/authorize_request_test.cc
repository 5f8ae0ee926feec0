#include "core/authorize_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/allocation_counter.h"
#include "base/utf8.h"
#include "core/json_syntax.h"
#include "core/random.h"

namespace paystream::core {
namespace {

constexpr std::string_view kInvalidJson = "body is not valid JSON";
constexpr std::string_view kRepeated = "appears more than once";

// The card number of a body; no error may ever contain it.
constexpr std::string_view kVisa = "4111111111111111";

// {"card_number": ..., ...} with `extra` members appended (each with a leading comma).
std::string body_with(std::string_view extra = "") {
  return std::string(R"({"card_number":"4111 1111 1111 1111","currency":"USD","amount":2450.00,)"
                     R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia")") +
         std::string(extra) + "}";
}

// An independent RFC 8259 checker for differential testing: the body must be one object, nested
// at most 64 levels, with unpaired surrogate escapes rejected (as the decoder does).
class ReferenceJson {
 public:
  static bool valid_request_shape(std::string_view text) {
    ReferenceJson json(text);
    json.skip_whitespace();
    if (json.peek() != '{' || !json.value(1)) return false;
    json.skip_whitespace();
    return json.pos_ == text.size();
  }

 private:
  explicit ReferenceJson(std::string_view text) : text_(text) {}

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool consume(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void skip_whitespace() {
    while (pos_ < text_.size() &&
           (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool value(int depth) {
    switch (peek()) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }
  bool object(int depth) {
    if (depth > 64 || !consume('{')) return false;
    skip_whitespace();
    if (consume('}')) return true;
    while (true) {
      skip_whitespace();
      if (!string()) return false;
      skip_whitespace();
      if (!consume(':')) return false;
      skip_whitespace();
      if (!value(depth + 1)) return false;
      skip_whitespace();
      if (consume('}')) return true;
      if (!consume(',')) return false;
    }
  }
  bool array(int depth) {
    if (depth > 64 || !consume('[')) return false;
    skip_whitespace();
    if (consume(']')) return true;
    while (true) {
      skip_whitespace();
      if (!value(depth + 1)) return false;
      skip_whitespace();
      if (consume(']')) return true;
      if (!consume(',')) return false;
    }
  }
  bool number() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           std::string_view("0123456789+-.eE").find(peek()) != std::string_view::npos)
      ++pos_;
    return is_json_number(text_.substr(start, pos_ - start));
  }
  bool hex4(uint32_t& unit) {
    if (pos_ + 4 > text_.size()) return false;
    unit = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      unit = unit * 16 + digit;
    }
    return true;
  }
  bool string() {
    if (!consume('"')) return false;
    while (pos_ < text_.size()) {
      const auto c = static_cast<uint8_t>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++pos_ >= text_.size()) return false;
        const char e = text_[pos_++];
        if (e != 'u') {
          if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
          continue;
        }
        uint32_t unit;
        if (!hex4(unit)) return false;
        if (unit >= 0xDC00 && unit <= 0xDFFF) return false;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          uint32_t low;
          if (!literal("\\u") || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
        }
        continue;
      }
      const size_t length = base::utf8_sequence_length(text_, pos_);
      if (length == 0) return false;
      pos_ += length;
    }
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool is_shape_error(const DecodeError& error) {
  return !error.ok() && error.field.empty() && error.message != "body repeats a key";
}

class Decode : public ::testing::Test {
 protected:
  DecodeError decode(std::string_view body) {
    const DecodeError error = decoder_.decode(body, request_);
    // Whatever the input, an error never carries the card number.
    EXPECT_EQ(error.message.find("4111"), std::string_view::npos);
    EXPECT_EQ(error.field.find(kVisa), std::string_view::npos);
    return error;
  }

  // Expects the body to fail on `field` (empty: whole body) with `message` (empty: any).
  void expect_error(std::string_view body, std::string_view field, std::string_view message = "") {
    const DecodeError error = decode(body);
    EXPECT_FALSE(error.ok()) << body;
    EXPECT_EQ(error.field, field) << body << " -> " << error.message;
    if (!message.empty()) {
      EXPECT_EQ(error.message, message) << body;
    }
  }

  void expect_ok(std::string_view body) {
    const DecodeError error = decode(body);
    EXPECT_TRUE(error.ok()) << body << " -> " << error.field << ": " << error.message;
  }

  AuthorizeDecoder decoder_{16384};
  AuthorizeRequest request_;
};

// --- Valid requests ---

TEST_F(Decode, MariaGarciaVisaUsd) {
  expect_ok(body_with());
  EXPECT_EQ(request_.card.digits(), kVisa);
  EXPECT_EQ(request_.card.last4(), "1111");
  EXPECT_EQ(request_.network, CardNetwork::visa);
  EXPECT_TRUE(request_.luhn_valid);
  EXPECT_FALSE(request_.processor_given);
  ASSERT_NE(request_.currency, nullptr);
  EXPECT_EQ(request_.currency->code, "USD");
  EXPECT_EQ(request_.amount_minor, 245000);
  EXPECT_EQ(request_.merchant.view(), "Amazon Web Services");
  EXPECT_EQ(request_.cardholder_name.view(), "Maria Garcia");
  EXPECT_TRUE(request_.merchant_id.empty());
}

TEST_F(Decode, CarlosLopezMastercardEurWithEscapes) {
  expect_ok(R"({"card_number":"5555-5555-5555-4444","currency":"EUR","amount":189.99,)"
            R"("merchant":"El Corte Ingl\u00e9s","cardholder_name":"Carlos L\u00f3pez",)"
            R"("processor":"mastercard","merchant_id":"ECI_madrid-01"})");
  EXPECT_EQ(request_.network, CardNetwork::mastercard);
  EXPECT_TRUE(request_.processor_given);
  EXPECT_EQ(request_.amount_minor, 18999);
  EXPECT_EQ(request_.merchant.view(), "El Corte Ingl\xc3\xa9s");
  EXPECT_EQ(request_.cardholder_name.view(), "Carlos L\xc3\xb3pez");
  EXPECT_EQ(request_.merchant_id.view(), "ECI_madrid-01");
}

TEST_F(Decode, AnaMartinezAmexUsdAmountAsString) {
  expect_ok(
      "{\"card_number\":\"3782 822463 10005\",\"currency\":\"USD\",\"amount\":\"15000.00\","
      "\"merchant\":\"Salesforce Inc\",\"cardholder_name\":\"Ana Mart\xc3\xadnez\"}");
  EXPECT_EQ(request_.network, CardNetwork::amex);
  EXPECT_EQ(request_.card.last4(), "0005");
  EXPECT_EQ(request_.amount_minor, 1500000);
  EXPECT_EQ(request_.cardholder_name.view(), "Ana Mart\xc3\xadnez");
}

TEST_F(Decode, WhitespaceAnywhereBetweenTokensAndUnknownKeys) {
  expect_ok(
      " \r\n\t{ \"card_number\" : \"6011111111111117\" ,\n \"currency\":\"JPY\", \"amount\" : "
      "1500.0 , \"merchant\" : \"m\", \"note\": {\"deep\": [1, -2.5e-3, true, false, null, "
      "\"x\", {}, []]}, \"id\": 12345678901234567890123 } \n ");
  EXPECT_EQ(request_.network, CardNetwork::discover);
  EXPECT_EQ(request_.currency->code, "JPY");
  EXPECT_EQ(request_.amount_minor, 1500);
}

TEST_F(Decode, AmountIsParsedFromTheRawTokenOfEveryExponent) {
  expect_ok(
      R"({"card_number":"4111111111111111","currency":"KWD","amount":12.345,"merchant":"m"})");
  EXPECT_EQ(request_.amount_minor, 12345);
  expect_ok(R"({"card_number":"4111111111111111","currency":"JPY","amount":1500,"merchant":"m"})");
  EXPECT_EQ(request_.amount_minor, 1500);
  expect_ok(R"({"card_number":"4111111111111111","currency":"USD","amount":0.30,"merchant":"m"})");
  EXPECT_EQ(request_.amount_minor, 30);
  expect_ok(R"({"card_number":"4111111111111111","currency":"USD","amount":1000000.00,)"
            R"("merchant":"m"})");
  EXPECT_EQ(request_.amount_minor, 100'000'000);
}

TEST_F(Decode, LuhnFailureDecodesAndIsFlagged) {
  expect_ok(R"({"card_number":"4111111111111112","currency":"USD","amount":1,"merchant":"m"})");
  EXPECT_FALSE(request_.luhn_valid);
  EXPECT_EQ(request_.card.last4(), "1112");
}

TEST_F(Decode, NullCountsAsAbsentForOptionalFields) {
  expect_ok(body_with(R"(,"processor":null,"merchant_id":null)"));
  EXPECT_FALSE(request_.processor_given);
  expect_ok(R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":"m",)"
            R"("cardholder_name":null})");
  EXPECT_TRUE(request_.cardholder_name.empty());
}

TEST_F(Decode, ReusedDecoderKeepsNothingFromTheLastRequest) {
  expect_ok(body_with(R"(,"merchant_id":"abc","processor":"visa")"));
  EXPECT_EQ(request_.merchant_id.view(), "abc");
  expect_ok(R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":"m"})");
  EXPECT_TRUE(request_.merchant_id.empty());
  EXPECT_TRUE(request_.cardholder_name.empty());
  EXPECT_FALSE(request_.processor_given);
  // A failed decode in between does not disturb the next one.
  expect_error(R"({"card_number":"4111111111111111","card_number":"1"})", "card_number");
  expect_ok(body_with());
  EXPECT_EQ(request_.amount_minor, 245000);
}

// --- Whole-body errors ---

TEST_F(Decode, EmptyArraysAndScalarsAreNotRequests) {
  expect_error("", "", "body is empty");
  expect_error(" \n\t\r ", "", "body is empty");
  for (std::string_view body : {"[]", "[{}]", R"([{"card_number":"4111111111111111"}])", "123",
                                "-1", R"("text")", "true", "false", "null", "0"}) {
    expect_error(body, "", "body must be a JSON object");
  }
}

TEST_F(Decode, TruncatedOrMalformedObjects) {
  for (std::string_view body :
       {"{", "}", "{\"", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "{\"a\" 1}", "{a:1}",
        "{'a':1}", "{\"a\":1,}", "{,\"a\":1}", "{\"a\":1 \"b\":2}", "{\"a\":{\"b\":1}",
        "{\"a\":[1,2}", "{1:2}", "{\"a\"::1}", "{\"a\":1}}", "{\"a\":1]"}) {
    const DecodeError error = decode(body);
    EXPECT_FALSE(error.ok()) << body;
    EXPECT_TRUE(error.field.empty()) << body << " -> " << error.field;
  }
}

TEST_F(Decode, TrailingContentIsRejected) {
  for (std::string_view extra : {"x", "{}", "}", "]", "1", "\"s\"", ",", "{\"a\":1}", "null"}) {
    const std::string body = body_with() + " " + std::string(extra);
    expect_error(body, "");
  }
  expect_error(body_with() + "{}", "", "body has content after the JSON object");
  expect_error(body_with() + "}", "", "body has content after the JSON object");
}

TEST_F(Decode, InvalidJsonInsideIgnoredFieldsIsRejectedWhereverItIs) {
  const std::string_view bad_values[] = {
      "tru",
      "truex",
      "nul",
      "nulll",
      "fals",
      "True",
      "01",
      "-01",
      "1.",
      ".5",
      "-",
      "+1",
      "1e",
      "0x10",
      "NaN",
      "Infinity",
      "1.2.3",
      "[1,]",
      "[,1]",
      "[1 2]",
      "[1,,2]",
      "{\"a\" 1}",
      "{\"a\":1,}",
      "{\"a\":}",
      "{1:1}",
      "\"\\q\"",
      "\"\\u12\"",
      "\"\\uZZZZ\"",
      "\"\\x41\"",
      "[01]",
      "{\"a\":[{\"b\":tru}]}",
      "\"a\tb\"",
      "\"a\x01\"",
      "\"\xff\"",
      "\"\xc3\"",
      "[\"\xed\xa0\x80\"]",
      "'x'",
      "undefined",
  };
  for (std::string_view bad : bad_values) {
    const std::string value(bad);
    expect_error(body_with(",\"ignored\":" + value), "", kInvalidJson);
    expect_error(R"({"ignored":)" + value + "," + body_with().substr(1), "", kInvalidJson);
    // Inside a known field's value, too: the body is checked before the fields.
    expect_error(R"({"card_number":[)" + value + "]," + body_with().substr(1), "", kInvalidJson);
  }
}

TEST_F(Decode, InvalidJsonOutranksRepeatedKeys) {
  expect_error(body_with(R"(,"card_number":"4111111111111111","x":tru)"), "", kInvalidJson);
}

TEST_F(Decode, InvalidUtf8AnywhereIsInvalidJson) {
  expect_error(body_with(",\"k\xff\":1"), "", kInvalidJson);
  expect_error("{\"merchant\":\"\xc0\xaf\"," + body_with().substr(1), "", kInvalidJson);
}

TEST_F(Decode, NestingDepthIsLimited) {
  // The body is level 1, so 63 nested arrays reach level 64: allowed; 64 are not.
  const auto nested = [](size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
  };
  expect_ok(body_with(",\"x\":" + nested(63)));
  expect_error(body_with(",\"x\":" + nested(64)), "", "body nests deeper than 64 levels");
  expect_error(body_with(",\"x\":" + nested(5000)), "", "body nests deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 63; ++i) objects += "{\"a\":";
  objects += "1" + std::string(63, '}');
  expect_ok(body_with(",\"x\":" + objects));
  expect_error(body_with(",\"x\":{\"b\":" + objects + "}"), "", "body nests deeper than 64 levels");
}

TEST_F(Decode, TooManyKeys) {
  std::string keys;
  for (int i = 0; i < 251; ++i) keys += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  expect_ok(body_with(keys));  // 5 + 251 = 256 keys
  expect_error(body_with(keys + ",\"one_more\":0"), "", "body has more than 256 keys");
}

TEST_F(Decode, BodyLargerThanTheDecoderLimit) {
  AuthorizeDecoder small(64);
  AuthorizeRequest request;
  const std::string body = body_with();
  ASSERT_GT(body.size(), 64u);
  const DecodeError error = small.decode(body, request);
  EXPECT_EQ(error.message, "body is too large");
  EXPECT_TRUE(error.field.empty());
  EXPECT_TRUE(small.decode("{}", request).field == "card_number");
}

// --- Repeated keys ---

TEST_F(Decode, RepeatedKnownKeyComparedAfterUnescaping) {
  expect_error(body_with(R"(,"card\u005fnumber":"4111111111111111")"), "card_number", kRepeated);
  expect_error(body_with(R"(,"amount":2450.00)"), "amount", kRepeated);
  expect_error(body_with(R"(,"\u0063urrency":"EUR")"), "currency", kRepeated);
  // Repeated with null still repeats.
  expect_error(body_with(R"(,"merchant_id":null,"merchant_id":null)"), "merchant_id", kRepeated);
}

TEST_F(Decode, RepeatedUnknownKeysAreNamedToo) {
  expect_error(body_with(R"(,"note":1,"note":2)"), "note", kRepeated);
  expect_error(body_with(R"(,"\u0078":1,"x":2)"), "x", kRepeated);
  expect_error(body_with(R"(,"a\"b":1,"a\u0022b":2)"), "a\"b", kRepeated);
  const std::string long_key(65, 'k');
  expect_error(body_with(",\"" + long_key + "\":1,\"" + long_key + "\":2"), "",
               "body repeats a key");
  expect_error(body_with(R"(,"":1,"":2)"), "", "body repeats a key");
  // Nested objects are ignored values: their keys are not checked.
  expect_ok(body_with(R"(,"note":{"a":1,"a":2})"));
  // Keys that differ only after the first character are distinct.
  expect_ok(body_with(R"(,"ab":1,"ac":2,"a":3,"b":4)"));
}

TEST_F(Decode, RepeatedKeyOutranksFieldErrors) {
  expect_error(R"({"x":1,"x":2})", "x", kRepeated);
  expect_error(R"({"card_number":"bad","merchant":"m","merchant":"n"})", "merchant", kRepeated);
}

TEST_F(Decode, FirstRepeatedKeyIsReported) {
  expect_error(body_with(R"(,"merchant":"x","currency":"EUR")"), "merchant", kRepeated);
}

// --- Field rules, in order ---

TEST_F(Decode, FieldsAreValidatedInOrder) {
  // Every field invalid; fixing them one at a time moves the error to the next field.
  std::vector<std::pair<std::string, std::string>> fields = {
      {"card_number", "\"12\""},  {"currency", "\"usd\""},   {"amount", "-1"},
      {"merchant", "\"\""},       {"processor", "\"amex\""}, {"cardholder_name", "1"},
      {"merchant_id", "\"a b\""},
  };
  const std::vector<std::string> fixes = {
      "\"4111111111111111\"", "\"USD\"", "1", "\"m\"", "\"visa\"", "\"n\"", "\"ok\""};
  for (size_t fixed = 0; fixed <= fields.size(); ++fixed) {
    std::string body = "{";
    // Reverse order in the document: validation order must not depend on it.
    for (size_t i = fields.size(); i > 0; --i) {
      const size_t f = i - 1;
      body += "\"" + fields[f].first + "\":" + (f < fixed ? fixes[f] : fields[f].second);
      if (f > 0) body += ",";
    }
    body += "}";
    if (fixed == fields.size()) {
      expect_ok(body);
    } else {
      expect_error(body, fields[fixed].first);
    }
  }
}

TEST_F(Decode, MissingRequiredFields) {
  expect_error("{}", "card_number", "is required");
  expect_error(R"({"card_number":null})", "card_number", "is required");
  expect_error(R"({"card_number":"4111111111111111"})", "currency", "is required");
  expect_error(R"({"card_number":"4111111111111111","currency":"USD"})", "amount", "is required");
  expect_error(R"({"card_number":"4111111111111111","currency":"USD","amount":1})", "merchant",
               "is required");
}

TEST_F(Decode, WrongTypes) {
  expect_error(R"({"card_number":4111111111111111})", "card_number", "must be a string");
  expect_error(R"({"card_number":["4111111111111111"]})", "card_number", "must be a string");
  expect_error(R"({"card_number":"4111111111111111","currency":840})", "currency",
               "must be a string");
  expect_error(R"({"card_number":"4111111111111111","currency":"USD","amount":true})", "amount",
               "must be a number or a string");
  expect_error(R"({"card_number":"4111111111111111","currency":"USD","amount":{"v":1}})", "amount",
               "must be a number or a string");
  expect_error(R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":{}})",
               "merchant", "must be a string");
  expect_error(body_with(R"(,"processor":1)"), "processor", "must be a string");
  expect_error(body_with(R"(,"merchant_id":false)"), "merchant_id", "must be a string");
}

TEST_F(Decode, CardNumberRules) {
  const auto card = [](std::string_view number) {
    return R"({"card_number":")" + std::string(number) +
           R"(","currency":"USD","amount":1,"merchant":"m"})";
  };
  const std::string_view format_message =
      "must be 12 to 19 digits, optionally grouped by single spaces or dashes";
  for (std::string_view bad : {"41111111111", "41111111111111111111", " 4111111111111111",
                               "4111111111111111 ", "4111  1111 1111 1111", "4111--1111-1111-1111",
                               "4111\\t1111 1111 1111", "4111x111111111111", ""}) {
    expect_error(card(bad), "card_number", format_message);
  }
  for (std::string_view unknown : {"9111111111111111", "3011111111111111", "6211111111111111",
                                   "2720911111111111" /* 2720 is mastercard */}) {
    if (unknown.substr(0, 4) == "2720") {
      expect_ok(card(unknown));
      EXPECT_EQ(request_.network, CardNetwork::mastercard);
    } else {
      expect_error(card(unknown), "card_number", "does not match a supported card network");
    }
  }
  expect_ok(card("2221 0000 0000 0009"));
  EXPECT_EQ(request_.network, CardNetwork::mastercard);
  expect_ok(card("411111111111"));
  expect_ok(card("4111111111111111111"));
}

TEST_F(Decode, CurrencyRules) {
  for (std::string_view bad : {"usd", "US", "USDD", "XXX", "", " USD", "U\\u0053D "}) {
    expect_error(R"({"card_number":"4111111111111111","currency":")" + std::string(bad) +
                     R"(","amount":1,"merchant":"m"})",
                 "currency", "must be a supported ISO 4217 currency code in uppercase");
  }
  expect_ok(
      R"({"card_number":"4111111111111111","currency":"U\u0053D","amount":1,"merchant":"m"})");
  EXPECT_EQ(request_.currency->code, "USD");
}

TEST_F(Decode, AmountRules) {
  const auto amount = [](std::string_view currency, std::string_view value) {
    return R"({"card_number":"4111111111111111","currency":")" + std::string(currency) +
           R"(","amount":)" + std::string(value) + R"(,"merchant":"m"})";
  };
  const std::string_view syntax =
      "must be a decimal number without sign, exponent or leading zeros";
  expect_error(amount("USD", "-5"), "amount", syntax);
  expect_error(amount("USD", "-0"), "amount", syntax);
  expect_error(amount("USD", "1e3"), "amount", syntax);
  expect_error(amount("USD", "1.5E+2"), "amount", syntax);
  expect_error(amount("USD", "\"01\""), "amount", syntax);
  expect_error(amount("USD", "\"1e3\""), "amount", syntax);
  expect_error(amount("USD", "\" 1\""), "amount", syntax);
  expect_error(amount("USD", "\"\""), "amount", syntax);
  expect_error(amount("USD", "01"), "", kInvalidJson);  // not JSON at all
  expect_error(amount("USD", "0"), "amount", "must be greater than zero");
  expect_error(amount("USD", "\"0.00\""), "amount", "must be greater than zero");
  expect_error(amount("USD", "2450.001"), "amount", "has more decimals than the currency allows");
  expect_error(amount("JPY", "1500.5"), "amount", "has more decimals than the currency allows");
  expect_error(amount("USD", "1000000.01"), "amount",
               "exceeds the maximum amount for the currency");
  expect_error(amount("USD", std::string(400, '9')), "amount",
               "exceeds the maximum amount for the currency");
  expect_error(amount("USD", "9007199254740993"), "amount",
               "exceeds the maximum amount for the currency");
  expect_ok(amount("JPY", "1500.000"));
  EXPECT_EQ(request_.amount_minor, 1500);
  expect_ok(amount("USD", "\"0.01\""));
  EXPECT_EQ(request_.amount_minor, 1);
  expect_ok(amount("USD", "1.10000000000000000000000000000000000000000000000000000000"));
  EXPECT_EQ(request_.amount_minor, 110);
  expect_ok(amount("USD", "\"2450.00\"  "));
  EXPECT_EQ(request_.amount_minor, 245000);
  expect_ok(amount("USD", "2450.00\n\t "));
  EXPECT_EQ(request_.amount_minor, 245000);
}

TEST_F(Decode, MerchantRules) {
  const auto merchant = [](std::string_view value) {
    return R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":")" +
           std::string(value) + "\"}";
  };
  expect_error(merchant(""), "merchant", "must be 1 to 128 bytes");
  expect_ok(merchant(std::string(128, 'm')));
  expect_error(merchant(std::string(129, 'm')), "merchant", "must be 1 to 128 bytes");
  // 64 two-byte characters are 128 bytes.
  std::string accented;
  for (int i = 0; i < 64; ++i) accented += "\xc3\xa9";
  expect_ok(merchant(accented));
  expect_error(merchant(accented + "e"), "merchant", "must be 1 to 128 bytes");
  // The limit applies after unescaping: 128 escapes of 6 bytes are 128 bytes.
  std::string escaped;
  for (int i = 0; i < 128; ++i) escaped += "\\u0041";
  expect_ok(merchant(escaped));
  EXPECT_EQ(request_.merchant.view(), std::string(128, 'A'));
}

TEST_F(Decode, ProcessorRules) {
  expect_ok(body_with(R"(,"processor":"visa")"));
  EXPECT_TRUE(request_.processor_given);
  EXPECT_EQ(request_.network, CardNetwork::visa);
  for (std::string_view other : {"mastercard", "amex", "discover"}) {
    expect_error(body_with(",\"processor\":\"" + std::string(other) + "\""), "processor",
                 "does not match the card's network");
  }
  for (std::string_view unknown : {"Visa", "VISA", "stripe", "", "visa "}) {
    expect_error(body_with(",\"processor\":\"" + std::string(unknown) + "\""), "processor",
                 "must be one of visa, mastercard, amex, discover");
  }
}

TEST_F(Decode, CardholderNameRules) {
  const auto name = [](std::string_view value) {
    return R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":"m",)"
           R"("cardholder_name":")" +
           std::string(value) + "\"}";
  };
  expect_ok(name(""));
  expect_ok(name(std::string(128, 'n')));
  EXPECT_EQ(request_.cardholder_name.size(), 128u);
  expect_error(name(std::string(129, 'n')), "cardholder_name", "must be at most 128 bytes");
}

TEST_F(Decode, MerchantIdRules) {
  const auto id = [](std::string_view value) {
    return body_with(",\"merchant_id\":\"" + std::string(value) + "\"");
  };
  const std::string_view message = "must be at most 64 characters of A-Z, a-z, 0-9, _ or -";
  expect_ok(id("AZaz09_-"));
  expect_ok(id(""));
  expect_ok(id(std::string(64, 'x')));
  EXPECT_EQ(request_.merchant_id.size(), 64u);
  for (std::string_view bad : {"a b", "a.b", "a/b", "\xc3\xa9", "a\\u0000", "a+b"}) {
    expect_error(id(bad), "merchant_id", message);
  }
  expect_error(id(std::string(65, 'x')), "merchant_id", message);
}

TEST_F(Decode, UnpairedSurrogateEscapesAreInvalidJson) {
  // RFC 8259 leaves them unpredictable; like I-JSON (RFC 7493) we reject them, so no escape can
  // smuggle invalid UTF-8 into a field.
  for (std::string_view escape : {"\\ud800", "\\udc00", "\\ud800\\u0041", "\\udfff\\ud800"}) {
    expect_error(body_with(",\"x\":\"" + std::string(escape) + "\""), "", kInvalidJson);
    expect_error(R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":")" +
                     std::string(escape) + "\"}",
                 "", kInvalidJson);
  }
  expect_ok(R"({"card_number":"4111111111111111","currency":"USD","amount":1,"merchant":")"
            R"(\udbff\udfff\ud83d\ude00"})");
  EXPECT_EQ(request_.merchant.view(), "\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80");
}

// --- No allocation, robustness ---

TEST_F(Decode, WarmDecodeDoesNotAllocate) {
  const std::string good = body_with(R"(,"processor":"visa","note":{"a":[1,2,{"b":"c"}]})");
  const std::string repeated = body_with(R"(,"note":1,"note":2)");
  const std::string invalid = body_with(R"(,"x":tru)");
  expect_ok(good);  // the first decode may size internal buffers
  const base::test_support::AllocationCounter counter;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(decoder_.decode(good, request_).ok());
    ASSERT_FALSE(decoder_.decode(repeated, request_).ok());
    ASSERT_FALSE(decoder_.decode(invalid, request_).ok());
  }
  EXPECT_EQ(counter.count(), 0);
}

TEST_F(Decode, SurvivesEveryTruncationOfAValidBody) {
  const std::string body = body_with(R"(,"note":{"a":[1,-2.5e3,"x\u0041",true,null]})");
  for (size_t length = 0; length < body.size(); ++length) {
    const std::string_view truncated = std::string_view(body).substr(0, length);
    const DecodeError error = decode(truncated);
    EXPECT_FALSE(error.ok()) << length;
    EXPECT_TRUE(error.field.empty()) << length;
    AuthorizeRequest request;
    EXPECT_EQ(AuthorizeDecoder(length).decode(truncated, request).message, error.message);
  }
}

TEST_F(Decode, SurvivesRandomBytesAndMutations) {
  Xoshiro256 rng(12345);
  const std::string base = body_with(R"(,"note":{"a":[1,-2.5e3,"x\u0041",true,null]})");
  const std::string_view alphabet = "{}[]:,\"\\ 0123456789.-+eEtrufalsn\x01\x7f\xc3\xa9\xff\t\nu";
  int valid_json_seen = 0;
  int accepted = 0;
  for (int round = 0; round < 50000; ++round) {
    std::string body;
    if (round % 4 == 0) {
      body.resize(rng.next_below(200));
      for (char& c : body) c = alphabet[rng.next_below(alphabet.size())];
    } else {
      body = base;
      const uint64_t edits = 1 + rng.next_below(4);
      for (uint64_t e = 0; e < edits; ++e) {
        const size_t pos = rng.next_below(body.size());
        const char c = alphabet[rng.next_below(alphabet.size())];
        switch (rng.next_below(3)) {
          case 0:
            body[pos] = c;
            break;
          case 1:
            body.insert(body.begin() + static_cast<std::ptrdiff_t>(pos), c);
            break;
          default:
            body.erase(pos, 1);
            break;
        }
        if (body.empty()) break;
      }
    }
    AuthorizeRequest request;
    // Now and then a decoder sized to the body, so AddressSanitizer sees any read past the
    // padding simdjson is allowed.
    const DecodeError error = round % 8 == 1 ? AuthorizeDecoder(body.size()).decode(body, request)
                                             : decoder_.decode(body, request);
    if (error.ok()) {
      EXPECT_GE(request.card.digits().size(), 12u);
    } else {
      EXPECT_FALSE(error.message.empty());
    }
    // The decoder rejects the body as JSON exactly when the reference checker does.
    const bool reference_valid = ReferenceJson::valid_request_shape(body);
    ASSERT_EQ(is_shape_error(error), !reference_valid)
        << testing::PrintToString(body) << " -> " << error.message;
    valid_json_seen += reference_valid;
    accepted += error.ok();
  }
  // The mutations must exercise both sides, or this test proves little.
  EXPECT_GT(valid_json_seen, 1000);
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace paystream::core
