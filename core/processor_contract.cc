#include "core/processor_contract.h"

#include <simdjson.h>

#include <cstring>

#include "base/json_escape.h"
#include "core/money.h"

namespace paystream::core {
namespace {

namespace dom = simdjson::dom;

constexpr size_t kMaxDepth = 16;

constexpr std::array<DeclineCode, 6> kProcessorDeclines = {
    DeclineCode::insufficient_funds, DeclineCode::do_not_honor,    DeclineCode::card_expired,
    DeclineCode::suspected_fraud,    DeclineCode::restricted_card, DeclineCode::limit_exceeded,
};

bool is_code_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

bool all_digits(std::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A DOM parser with a padded copy buffer, both sized once: parsing never allocates.
struct PaddedParser {
  explicit PaddedParser(size_t max_bytes)
      : max_bytes(max_bytes),
        padded(new char[max_bytes + simdjson::SIMDJSON_PADDING]),
        parser(max_bytes),
        allocation(parser.allocate(max_bytes, kMaxDepth)) {}

  // The body's top-level object, or an error.
  simdjson::simdjson_result<dom::object> object(std::string_view body) {
    if (body.size() > max_bytes || allocation != simdjson::SUCCESS) return simdjson::CAPACITY;
    std::memcpy(padded.get(), body.data(), body.size());
    std::memset(padded.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
    return parser.parse(padded.get(), body.size(), false).get_object();
  }

  const size_t max_bytes;
  const std::unique_ptr<char[]> padded;
  dom::parser parser;
  const simdjson::error_code allocation;
};

}  // namespace

void encode_processor_request(const AuthorizeRequest& request, std::string_view transaction_id,
                              std::string& out) {
  out.clear();
  out += R"({"transaction_id":")";
  base::append_json_escaped(out, transaction_id);
  out += R"(","amount":")";
  char amount[kMaxAmountText];
  const int exponent = request.currency != nullptr ? request.currency->exponent : 0;
  out.append(amount, format_amount(request.amount_minor, exponent, amount));
  out += R"(","currency":")";
  if (request.currency != nullptr) out += request.currency->code;
  out += R"(","card_number":")";
  out += request.card.digits();
  out += R"(","merchant":")";
  base::append_json_escaped(out, request.merchant.view());
  if (!request.merchant_id.empty()) {
    out += R"(","merchant_id":")";
    base::append_json_escaped(out, request.merchant_id.view());
  }
  out += R"(","network":")";
  out += network_name(request.network);
  out += R"("})";
}

// --- the answer ---

struct ProcessorAnswerDecoder::State {
  PaddedParser json{kMaxProcessorAnswerBytes};
};

ProcessorAnswerDecoder::ProcessorAnswerDecoder() : state_(std::make_unique<State>()) {}
ProcessorAnswerDecoder::~ProcessorAnswerDecoder() = default;

ProcessorAnswer ProcessorAnswerDecoder::decode(int status, std::string_view body) {
  ProcessorAnswer answer;  // invalid
  if (status != 200) return answer;
  auto object = state_->json.object(body);
  if (object.error()) return answer;
  std::string_view verdict, code, decline;
  bool has_verdict = false, has_code = false, has_decline = false;
  for (dom::key_value_pair field : object.value_unsafe()) {
    bool* seen = nullptr;
    std::string_view* text = nullptr;
    if (field.key == "status") {
      seen = &has_verdict;
      text = &verdict;
    } else if (field.key == "authorization_code") {
      seen = &has_code;
      text = &code;
    } else if (field.key == "decline_code") {
      seen = &has_decline;
      text = &decline;
    } else {
      continue;  // unknown members are ignored
    }
    if (*seen || field.value.get_string().get(*text) != simdjson::SUCCESS) return answer;
    *seen = true;
  }
  if (verdict == "approved" && has_verdict && has_code && !has_decline) {
    if (code.size() != kAuthorizationCodeLength) return answer;
    for (size_t i = 0; i < code.size(); ++i) {
      if (!is_code_char(code[i])) return answer;
      answer.authorization_code[i] = code[i];
    }
    answer.kind = ProcessorAnswer::Kind::approved;
  } else if (verdict == "declined" && has_verdict && has_decline && !has_code) {
    for (DeclineCode candidate : kProcessorDeclines) {
      if (decline_code_name(candidate) == decline) {
        answer.decline_code = candidate;
        answer.kind = ProcessorAnswer::Kind::declined;
      }
    }
  }
  return answer;
}

void encode_processor_answer(const Decision& decision, std::string& out) {
  out.clear();
  if (decision.verdict == Verdict::approved) {
    out += R"({"status":"approved","authorization_code":")";
    out += decision.authorization_code_view();
  } else {
    const DeclineCode code = decision.decline_code == DeclineCode::invalid_card_number
                                 ? DeclineCode::do_not_honor
                                 : decision.decline_code;
    out += R"({"status":"declined","decline_code":")";
    out += decline_code_name(code);
  }
  out += R"("})";
}

// --- the request ---

namespace {

enum RequestMember : uint8_t {
  kTransactionId,
  kAmount,
  kCurrency,
  kCardNumber,
  kMerchant,
  kMerchantId,
  kNetwork,
  kMemberCount,
};

constexpr std::array<std::string_view, kMemberCount> kMemberNames = {
    "transaction_id", "amount", "currency", "card_number", "merchant", "merchant_id", "network",
};

constexpr DecodeError member_error(RequestMember member, std::string_view message) {
  return {kMemberNames[member], message};
}

}  // namespace

struct ProcessorRequestDecoder::State {
  PaddedParser json{kMaxProcessorRequestBytes};
};

ProcessorRequestDecoder::ProcessorRequestDecoder() : state_(std::make_unique<State>()) {}
ProcessorRequestDecoder::~ProcessorRequestDecoder() = default;

DecodeError ProcessorRequestDecoder::decode(std::string_view body, ProcessorRequest& out) {
  if (body.empty()) return {{}, "body is empty"};
  if (body.size() > kMaxProcessorRequestBytes) return {{}, "body is too large"};
  auto object = state_->json.object(body);
  if (object.error()) return {{}, "body is not a JSON object"};
  std::array<std::string_view, kMemberCount> values{};
  std::array<bool, kMemberCount> seen{};
  for (dom::key_value_pair field : object.value_unsafe()) {
    size_t member = kMemberCount;
    for (size_t i = 0; i < kMemberCount; ++i) {
      if (field.key == kMemberNames[i]) member = i;
    }
    if (member == kMemberCount) return {{}, "body has an unknown member"};
    const auto m = static_cast<RequestMember>(member);
    if (seen[m]) return member_error(m, "member is repeated");
    if (field.value.get_string().get(values[m]) != simdjson::SUCCESS) {
      return member_error(m, "must be a string");
    }
    seen[m] = true;
  }
  for (size_t m = 0; m < kMemberCount; ++m) {
    if (!seen[m] && m != kMerchantId) {
      return member_error(static_cast<RequestMember>(m), "is required");
    }
  }
  if (!txn_id_unix_ms(values[kTransactionId]) ||
      values[kTransactionId].size() != out.transaction_id.size()) {
    return member_error(kTransactionId, "must be txn_ and 26 Crockford base32 characters");
  }
  std::memcpy(out.transaction_id.data(), values[kTransactionId].data(), kTxnIdLength);
  out.currency = find_currency(values[kCurrency]);
  if (out.currency == nullptr) return member_error(kCurrency, "is not a supported currency");
  const AmountResult amount = parse_amount(values[kAmount], *out.currency);
  if (!amount.ok()) return member_error(kAmount, amount_error_message(amount.error));
  out.amount_minor = amount.minor;
  const std::string_view digits = values[kCardNumber];
  if (digits.size() < kMinCardDigits || digits.size() > kMaxCardDigits || !all_digits(digits) ||
      !out.card.assign(digits)) {
    return member_error(kCardNumber, "must be 12 to 19 digits");
  }
  if (!luhn_valid(digits)) return member_error(kCardNumber, "fails the Luhn check");
  const std::optional<CardNetwork> detected = detect_network(digits);
  if (!detected) return member_error(kCardNumber, "is not of a supported network");
  const std::optional<CardNetwork> named = parse_network_name(values[kNetwork]);
  if (!named || *named != *detected) {
    return member_error(kNetwork, "does not match the card number's network");
  }
  out.network = *named;
  if (values[kMerchant].empty() || !out.merchant.assign(values[kMerchant])) {
    return member_error(kMerchant, "must be 1 to 128 bytes");
  }
  out.merchant_id.clear();
  if (seen[kMerchantId] &&
      (values[kMerchantId].empty() || !out.merchant_id.assign(values[kMerchantId]))) {
    return member_error(kMerchantId, "must be 1 to 64 bytes");
  }
  return {};
}

}  // namespace paystream::core
