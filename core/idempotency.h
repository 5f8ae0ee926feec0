#pragma once
// Idempotency keys, the parts that are pure logic: the header's rule, the merchant scope,
// the HMACs that name a key in the store and fingerprint a request, and the two records
// the store holds (a claim while the first request runs, then its answer). The store
// itself is one of two backends (core/idempotency_store.h in process, Redis through
// net/redis_client.h); both see these records as opaque bytes.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/authorize_request.h"
#include "core/hmac_sha256.h"

namespace paystream::core {

inline constexpr size_t kMaxIdempotencyKeyBytes = 255;

struct IdempotencyKeyHeader {
  std::string_view key;    // empty: no header
  std::string_view error;  // not empty: the header is invalid (a static message)
};

// The Idempotency-Key header, given its first value and how many times it appeared.
// 1-255 printable ASCII characters; the draft's Structured-Field form `"abc"` is the same key
// as `abc` (one pair of surrounding quotes is removed when nothing inside needs escaping).
IdempotencyKeyHeader parse_idempotency_key(std::string_view first_value, size_t count);

// The store key in Redis: this prefix and the store digest in lowercase hex.
inline constexpr std::string_view kStoreKeyPrefix = "paystream:idem:";
inline constexpr size_t kStoreKeyTextBytes = kStoreKeyPrefix.size() + 64;
void format_store_key(const HmacDigest& digest, char (&out)[kStoreKeyTextBytes]);

// HMAC-SHA-256 under the store secret: neither a card number nor a client's bytes reach the
// store's keyspace or values in clear.
class IdempotencyHasher {
 public:
  explicit IdempotencyHasher(std::string_view secret) : hmac_(secret) {}

  // Names (merchant scope, key) in the store. The scope is the request's merchant identity:
  // `merchant_id` when given, else `merchant` (tagged apart, so an id never equals a name).
  HmacDigest store_key(const AuthorizeRequest& request, std::string_view key) const;
  // Every validated field that decides the outcome, so whitespace, key order, number
  // spelling (`10.5` or `"10.50"`) and card grouping do not matter.
  HmacDigest fingerprint(const AuthorizeRequest& request) const;

 private:
  HmacSha256 hmac_;
};

// A claim: "the first request with this key runs since claimed_unix_ms". `token` (its
// transaction id) makes each claim's bytes unique, so completing or releasing a claim
// touches only our own.
struct ClaimRecord {
  HmacDigest fingerprint{};
  uint64_t claimed_unix_ms = 0;
  std::string_view token;
};
// A completed request's answer, replayed byte for byte.
struct AnswerRecord {
  HmacDigest fingerprint{};
  uint16_t status = 0;
  std::string_view request_id;
  std::string_view body;
};

inline constexpr size_t kMaxTokenBytes = 64;
inline constexpr size_t kMaxClaimRecordBytes = 2 + 32 + 8 + 1 + kMaxTokenBytes;
// Appends (after clearing) the record's bytes to `out`.
void encode_claim(const ClaimRecord& claim, std::string& out);
void encode_answer(const AnswerRecord& answer, std::string& out);

struct StoredRecord {
  enum class Kind : uint8_t { claim, answer, invalid };
  Kind kind = Kind::invalid;
  ClaimRecord claim;    // views into the decoded bytes
  AnswerRecord answer;  // views into the decoded bytes
};
StoredRecord decode_record(std::string_view bytes);

// What a request whose claim found `existing` in the store gets.
enum class ExistingVerdict : uint8_t {
  replay,           // the same request completed: its answer again
  reused,           // another request used this key: 422
  in_use,           // the same request is still running: 409 with Retry-After
  outcome_unknown,  // its claim outlived the lease and never completed: 409 until the TTL ends
  invalid,          // not a record of ours: the store cannot be trusted (503)
};
struct Existing {
  ExistingVerdict verdict = ExistingVerdict::invalid;
  AnswerRecord answer;  // replay: what to send
};
// `lease_ms`: how long a claim's owner may take (the processor deadline and a margin);
// clocks of different pods may differ by a few seconds, which moves only the line between
// in_use and outcome_unknown (both 409: neither executes).
Existing judge_existing(std::string_view existing, const HmacDigest& fingerprint,
                        uint64_t now_unix_ms, uint64_t lease_ms);

}  // namespace paystream::core
