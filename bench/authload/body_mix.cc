#include "bench/authload/body_mix.h"

#include <array>
#include <cmath>
#include <string_view>

#include "base/ascii.h"
#include "bench/authload/test_cards.h"
#include "core/random.h"

namespace paystream::bench {
namespace {

struct MixCurrency {
  std::string_view code;
  int exponent;
  double per_usd;  // rough exchange rate: keeps amounts plausible in every currency
  int weight;
};

constexpr std::array kCurrencies = {
    MixCurrency{"USD", 2, 1.0, 40},  MixCurrency{"EUR", 2, 0.92, 20},
    MixCurrency{"GBP", 2, 0.79, 10}, MixCurrency{"JPY", 0, 150.0, 6},
    MixCurrency{"CAD", 2, 1.36, 5},  MixCurrency{"AUD", 2, 1.5, 4},
    MixCurrency{"CHF", 2, 0.9, 3},   MixCurrency{"SEK", 2, 10.5, 2},
    MixCurrency{"INR", 2, 83.0, 2},  MixCurrency{"KRW", 0, 1300.0, 2},
    MixCurrency{"MXN", 2, 17.0, 2},  MixCurrency{"BRL", 2, 5.0, 2},
    MixCurrency{"KWD", 3, 0.31, 1},  MixCurrency{"BHD", 3, 0.38, 1},
};

struct NetworkShare {
  CardNetwork network;
  int weight;
};
constexpr std::array kNetworks = {
    NetworkShare{CardNetwork::visa, 50}, NetworkShare{CardNetwork::mastercard, 30},
    NetworkShare{CardNetwork::amex, 12}, NetworkShare{CardNetwork::discover, 8}};

constexpr std::array<std::string_view, 16> kMerchants = {
    "Amazon Web Services", "El Corte Inglés", "Salesforce Inc",     "Tesco Stores",
    "Müller Drogerie",     "Uniqlo Ginza",    "Shell Station 4411", "Netflix",
    "Café de Flore",       "IKEA Älmhult",    "Uber Trip",          "Apple Store",
    "Zalando SE",          "Mercado Libre",   "Booking.com",        "Starbucks #1021",
};

constexpr std::array<std::string_view, 8> kCardholders = {
    "Maria Garcia", "John Smith",   "Aiko Tanaka", "Carlos López",
    "Ana Martínez", "Lars Nilsson", "Priya Patel", "Chloé Dubois",
};

template <typename Table>
const auto& pick_weighted(const Table& table, core::Xoshiro256& rng) {
  int total = 0;
  for (const auto& entry : table) total += entry.weight;
  int roll = static_cast<int>(rng.next_below(static_cast<uint64_t>(total)));
  for (const auto& entry : table) {
    if (roll < entry.weight) return entry;
    roll -= entry.weight;
  }
  return table[0];
}

// Log-uniform between 1 and 2,000 US dollars, in the currency's minor units (at least 1).
int64_t amount_minor(const MixCurrency& currency, core::Xoshiro256& rng) {
  const double usd = std::exp(rng.next_unit() * std::log(2000.0));
  const double minor = usd * currency.per_usd * std::pow(10.0, currency.exponent);
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(minor)));
}

// "1234.50" for exponent 2, "1234" for exponent 0.
std::string format_amount(int64_t minor, int exponent) {
  std::string digits = std::to_string(minor);
  if (exponent == 0) return digits;
  const size_t e = static_cast<size_t>(exponent);
  if (digits.size() <= e) digits.insert(0, e + 1 - digits.size(), '0');
  digits.insert(digits.size() - e, 1, '.');
  return digits;
}

// Plain digits mostly; sometimes grouped by spaces or dashes as people type them.
std::string group_card(const std::string& digits, core::Xoshiro256& rng) {
  const uint64_t style = rng.next_below(10);
  if (style < 7) return digits;
  const char separator = style < 9 ? ' ' : '-';
  std::string grouped;
  const bool amex = digits.size() == 15;
  for (size_t i = 0; i < digits.size(); ++i) {
    const bool boundary = amex ? (i == 4 || i == 10) : (i > 0 && i % 4 == 0);
    if (boundary) grouped += separator;
    grouped += digits[i];
  }
  return grouped;
}

std::string make_body(size_t index, core::Xoshiro256& rng) {
  const NetworkShare& network = pick_weighted(kNetworks, rng);
  std::string card = make_card_number(network.network, rng);
  if (index % kInvalidCardEvery == kInvalidCardOffset) {
    card.back() = static_cast<char>('0' + (card.back() - '0' + 1) % 10);
  }
  const MixCurrency& currency = pick_weighted(kCurrencies, rng);
  const std::string amount = format_amount(amount_minor(currency, rng), currency.exponent);
  const bool amount_as_string = rng.next_below(5) != 0;

  std::string body = R"({"card_number":")" + group_card(card, rng) + R"(","currency":")";
  body += currency.code;
  body += R"(","amount":)";
  body += amount_as_string ? "\"" + amount + "\"" : amount;
  body += R"(,"merchant":")";
  body += kMerchants[rng.next_below(kMerchants.size())];
  body += '"';
  if (rng.next_below(4) == 0) {
    body += R"(,"processor":")";
    body += core::network_name(network.network);
    body += '"';
  }
  if (rng.next_below(2) == 0) {
    body += R"(,"cardholder_name":")";
    body += kCardholders[rng.next_below(kCardholders.size())];
    body += '"';
  }
  if (rng.next_below(3) == 0) {
    body +=
        R"(,"merchant_id":"mch_)" + std::to_string(10'000'000 + rng.next_below(90'000'000)) + "\"";
  }
  body += '}';
  return body;
}

}  // namespace

std::vector<std::string> make_authorize_bodies(size_t count, uint64_t seed) {
  core::Xoshiro256 rng(seed);
  std::vector<std::string> bodies;
  bodies.reserve(count);
  for (size_t i = 0; i < count; ++i) bodies.push_back(make_body(i, rng));
  return bodies;
}

std::string with_other_amount(const std::string& body) {
  constexpr std::string_view kKey = "\"amount\":";
  const size_t key = body.find(kKey);
  if (key == std::string::npos) return {};
  size_t at = key + kKey.size();
  if (at < body.size() && body[at] == '"') ++at;
  size_t last_digit = std::string::npos;
  for (; at < body.size() && (base::is_digit(body[at]) || body[at] == '.'); ++at) {
    if (base::is_digit(body[at])) last_digit = at;
  }
  if (last_digit == std::string::npos) return {};
  std::string other = body;
  char& digit = other[last_digit];
  digit = digit == '9' ? '8' : static_cast<char>(digit + 1);
  return other;
}

}  // namespace paystream::bench
