#include "core/idempotency.h"

#include <cstring>

#include "base/ascii.h"

namespace paystream::core {
namespace {

constexpr std::string_view kInvalidKey = "must be 1-255 printable ASCII characters";
constexpr std::string_view kRepeatedKey = "must appear at most once";

constexpr char kClaimTag = 'C';
constexpr char kAnswerTag = 'A';
constexpr char kRecordVersion = '1';

bool printable(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Length-prefixed, so ("ab","c") and ("a","bc") differ.
void add_field(HmacSha256::Message& message, std::string_view field) {
  const auto n = static_cast<uint32_t>(field.size());
  const char length[4] = {static_cast<char>(n), static_cast<char>(n >> 8),
                          static_cast<char>(n >> 16), static_cast<char>(n >> 24)};
  message.add(std::string_view(length, sizeof length));
  message.add(field);
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

IdempotencyKeyHeader parse_idempotency_key(std::string_view value, size_t count) {
  if (count == 0) return {};
  if (count > 1) return {.key = {}, .error = kRepeatedKey};
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    const std::string_view inner = value.substr(1, value.size() - 2);
    if (inner.find_first_of("\"\\") == std::string_view::npos) value = inner;
  }
  if (value.empty() || value.size() > kMaxIdempotencyKeyBytes || !printable(value)) {
    return {.key = {}, .error = kInvalidKey};
  }
  return {.key = value, .error = {}};
}

void format_store_key(const HmacDigest& digest, char (&out)[kStoreKeyTextBytes]) {
  std::memcpy(out, kStoreKeyPrefix.data(), kStoreKeyPrefix.size());
  char* hex = out + kStoreKeyPrefix.size();
  for (uint8_t byte : digest) {
    *hex++ = base::kHexDigits[byte >> 4];
    *hex++ = base::kHexDigits[byte & 0xf];
  }
}

HmacDigest IdempotencyHasher::store_key(const AuthorizeRequest& request,
                                        std::string_view key) const {
  HmacSha256::Message message = hmac_.begin();
  message.add("key/1");
  if (request.merchant_id.empty()) {
    add_field(message, "merchant");
    add_field(message, request.merchant.view());
  } else {
    add_field(message, "merchant_id");
    add_field(message, request.merchant_id.view());
  }
  add_field(message, key);
  return message.finish();
}

HmacDigest IdempotencyHasher::fingerprint(const AuthorizeRequest& request) const {
  HmacSha256::Message message = hmac_.begin();
  message.add("fingerprint/1");
  char amount[8];
  for (int i = 0; i < 8; ++i) amount[i] = static_cast<char>(request.amount_minor >> (8 * i));
  add_field(message, request.card.digits());
  add_field(message, network_name(request.network));
  add_field(message, request.currency != nullptr ? request.currency->code : std::string_view());
  add_field(message, std::string_view(amount, sizeof amount));
  add_field(message, request.merchant.view());
  add_field(message, request.merchant_id.view());
  add_field(message, request.cardholder_name.view());
  return message.finish();
}

void encode_claim(const ClaimRecord& claim, std::string& out) {
  out.clear();
  const std::string_view token = claim.token.substr(0, kMaxTokenBytes);
  out.push_back(kClaimTag);
  out.push_back(kRecordVersion);
  out.append(reinterpret_cast<const char*>(claim.fingerprint.data()), claim.fingerprint.size());
  put_u64(out, claim.claimed_unix_ms);
  out.push_back(static_cast<char>(token.size()));
  out.append(token);
}

void encode_answer(const AnswerRecord& answer, std::string& out) {
  out.clear();
  const std::string_view request_id = answer.request_id.substr(0, 255);
  out.push_back(kAnswerTag);
  out.push_back(kRecordVersion);
  out.append(reinterpret_cast<const char*>(answer.fingerprint.data()), answer.fingerprint.size());
  out.push_back(static_cast<char>(answer.status & 0xff));
  out.push_back(static_cast<char>(answer.status >> 8));
  out.push_back(static_cast<char>(request_id.size()));
  out.append(request_id);
  out.append(answer.body);
}

StoredRecord decode_record(std::string_view bytes) {
  StoredRecord record;
  constexpr size_t kHead = 2 + 32;
  if (bytes.size() < kHead || bytes[1] != kRecordVersion) return record;
  HmacDigest fingerprint;
  std::memcpy(fingerprint.data(), bytes.data() + 2, fingerprint.size());
  std::string_view rest = bytes.substr(kHead);
  if (bytes[0] == kClaimTag) {
    if (rest.size() < 9) return record;
    const size_t token_length = static_cast<uint8_t>(rest[8]);
    if (rest.size() != 9 + token_length) return record;
    record.kind = StoredRecord::Kind::claim;
    record.claim = ClaimRecord{.fingerprint = fingerprint,
                               .claimed_unix_ms = get_u64(rest.data()),
                               .token = rest.substr(9)};
  } else if (bytes[0] == kAnswerTag) {
    if (rest.size() < 3) return record;
    const auto status =
        static_cast<uint16_t>(static_cast<uint8_t>(rest[0]) | static_cast<uint8_t>(rest[1]) << 8);
    const size_t id_length = static_cast<uint8_t>(rest[2]);
    if (rest.size() < 3 + id_length || status < 100 || status > 599) return record;
    record.kind = StoredRecord::Kind::answer;
    record.answer = AnswerRecord{.fingerprint = fingerprint,
                                 .status = status,
                                 .request_id = rest.substr(3, id_length),
                                 .body = rest.substr(3 + id_length)};
  }
  return record;
}

Existing judge_existing(std::string_view existing, const HmacDigest& fingerprint,
                        uint64_t now_unix_ms, uint64_t lease_ms) {
  const StoredRecord record = decode_record(existing);
  Existing result;
  switch (record.kind) {
    case StoredRecord::Kind::invalid:
      result.verdict = ExistingVerdict::invalid;
      break;
    case StoredRecord::Kind::answer:
      if (record.answer.fingerprint != fingerprint) {
        result.verdict = ExistingVerdict::reused;
      } else {
        result.verdict = ExistingVerdict::replay;
        result.answer = record.answer;
      }
      break;
    case StoredRecord::Kind::claim:
      if (record.claim.fingerprint != fingerprint) {
        result.verdict = ExistingVerdict::reused;
      } else if (now_unix_ms < record.claim.claimed_unix_ms + lease_ms) {
        result.verdict = ExistingVerdict::in_use;
      } else {
        result.verdict = ExistingVerdict::outcome_unknown;
      }
      break;
  }
  return result;
}

}  // namespace paystream::core
