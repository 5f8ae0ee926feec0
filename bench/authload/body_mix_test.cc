#include "bench/authload/body_mix.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "core/authorize_request.h"

namespace paystream::bench {
namespace {

TEST(BodyMix, EveryBodyDecodesWithTheServiceRules) {
  const auto bodies = make_authorize_bodies(5000, 42);
  ASSERT_EQ(bodies.size(), 5000u);
  core::AuthorizeDecoder decoder(16384);
  core::AuthorizeRequest request;
  size_t luhn_failures = 0;
  std::map<std::string, int> networks;
  std::set<std::string> currencies;
  std::set<int> exponents;
  for (const std::string& body : bodies) {
    const core::DecodeError error = decoder.decode(body, request);
    ASSERT_TRUE(error.ok()) << error.field << ": " << error.message << " in " << body;
    if (!request.luhn_valid) ++luhn_failures;
    ++networks[std::string(core::network_name(request.network))];
    currencies.insert(std::string(request.currency->code));
    exponents.insert(request.currency->exponent);
  }
  EXPECT_EQ(luhn_failures, 50u) << "exactly 1%: at most 2% allowed, never none";
  EXPECT_EQ(networks.size(), 4u);
  EXPECT_GT(networks["visa"], networks["mastercard"]);
  EXPECT_GT(networks["discover"], 0);
  EXPECT_GE(currencies.size(), 10u);
  EXPECT_EQ(exponents, (std::set<int>{0, 2, 3}));
}

TEST(BodyMix, OtherAmountKeepsEverythingButTheAmount) {
  const auto bodies = make_authorize_bodies(1024, 3);
  core::AuthorizeDecoder decoder(16384);
  core::AuthorizeRequest original;
  core::AuthorizeRequest other;
  for (const std::string& body : bodies) {
    const std::string changed = with_other_amount(body);
    ASSERT_EQ(changed.size(), body.size()) << body;
    ASSERT_TRUE(decoder.decode(body, original).ok());
    const core::DecodeError error = decoder.decode(changed, other);
    ASSERT_TRUE(error.ok()) << error.field << ": " << error.message << " in " << changed;
    EXPECT_NE(other.amount_minor, original.amount_minor) << changed;
    EXPECT_EQ(other.currency, original.currency);
    size_t differing = 0;
    for (size_t i = 0; i < body.size(); ++i) differing += body[i] != changed[i];
    EXPECT_EQ(differing, 1u) << "only the amount's last digit: same card, merchant, scope";
  }
  EXPECT_EQ(with_other_amount(R"({"amount":"9.99"})"), R"({"amount":"9.98"})");
  EXPECT_EQ(with_other_amount(R"({"amount":1500})"), R"({"amount":1501})");
  EXPECT_EQ(with_other_amount(R"({"currency":"USD"})"), "");
}

TEST(BodyMix, SameSeedSameBodies) {
  EXPECT_EQ(make_authorize_bodies(100, 9), make_authorize_bodies(100, 9));
  EXPECT_NE(make_authorize_bodies(100, 9), make_authorize_bodies(100, 10));
}

}  // namespace
}  // namespace paystream::bench
