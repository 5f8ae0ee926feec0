#include "core/idempotency.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

AuthorizeRequest request_for(std::string_view merchant, std::string_view merchant_id = {}) {
  AuthorizeRequest r;
  EXPECT_TRUE(r.card.assign("4111111111111111"));
  r.network = CardNetwork::visa;
  r.currency = find_currency("USD");
  r.amount_minor = 245000;
  r.merchant.assign(merchant);
  r.merchant_id.assign(merchant_id);
  return r;
}

TEST(IdempotencyKey, AbsentValidQuotedAndInvalid) {
  EXPECT_TRUE(parse_idempotency_key("", 0).key.empty());
  EXPECT_TRUE(parse_idempotency_key("", 0).error.empty());
  EXPECT_EQ(parse_idempotency_key("8e03978e-40d5-43e8-bc93-6894a57f9324", 1).key,
            "8e03978e-40d5-43e8-bc93-6894a57f9324");
  EXPECT_EQ(parse_idempotency_key("\"abc\"", 1).key, "abc");            // sf-string form
  EXPECT_EQ(parse_idempotency_key("a b~!", 1).key, "a b~!");            // inner space, symbols
  EXPECT_EQ(parse_idempotency_key("\"a\\\"b\"", 1).key, "\"a\\\"b\"");  // escapes: kept as is
  EXPECT_EQ(parse_idempotency_key("\"abc", 1).key, "\"abc");
  EXPECT_EQ(parse_idempotency_key(std::string(255, 'k'), 1).key, std::string(255, 'k'));
  const std::string quoted_max = "\"" + std::string(255, 'k') + "\"";
  EXPECT_EQ(parse_idempotency_key(quoted_max, 1).key, std::string(255, 'k'));

  for (const std::string& bad :
       {std::string(""), std::string("\"\""), std::string(256, 'k'), std::string("a\tb"),
        std::string("caf\xc3\xa9"), std::string("a\x7f"), std::string("a\0b", 3)}) {
    const IdempotencyKeyHeader h = parse_idempotency_key(bad, 1);
    EXPECT_FALSE(h.error.empty()) << bad;
    EXPECT_TRUE(h.key.empty());
    EXPECT_EQ(h.error.find(bad.empty() ? "\x01" : bad), std::string::npos) << "echoes the key";
  }
  EXPECT_FALSE(parse_idempotency_key("abc", 2).error.empty());
}

TEST(IdempotencyHasher, KeysAreScopedPerMerchant) {
  const IdempotencyHasher hasher("secret");
  const AuthorizeRequest a = request_for("Shop A");
  const AuthorizeRequest b = request_for("Shop B");
  EXPECT_EQ(hasher.store_key(a, "k1"), hasher.store_key(a, "k1"));
  EXPECT_NE(hasher.store_key(a, "k1"), hasher.store_key(a, "k2"));
  EXPECT_NE(hasher.store_key(a, "k1"), hasher.store_key(b, "k1"));
  // merchant_id, when given, is the scope: the name no longer matters, and an id never
  // equals a name spelled the same.
  EXPECT_EQ(hasher.store_key(request_for("Shop A", "m-1"), "k"),
            hasher.store_key(request_for("Renamed", "m-1"), "k"));
  EXPECT_NE(hasher.store_key(request_for("m-1"), "k"),
            hasher.store_key(request_for("x", "m-1"), "k"));
  EXPECT_NE(IdempotencyHasher("other").store_key(a, "k1"), hasher.store_key(a, "k1"));
}

TEST(IdempotencyHasher, FingerprintCoversTheOutcomeFields) {
  const IdempotencyHasher hasher("secret");
  const AuthorizeRequest base = request_for("Shop");
  const HmacDigest fp = hasher.fingerprint(base);
  EXPECT_EQ(hasher.fingerprint(request_for("Shop")), fp);
  AuthorizeRequest changed = base;
  changed.amount_minor += 1;
  EXPECT_NE(hasher.fingerprint(changed), fp);
  changed = base;
  changed.currency = find_currency("EUR");
  EXPECT_NE(hasher.fingerprint(changed), fp);
  changed = base;
  ASSERT_TRUE(changed.card.assign("4012888888881881"));
  EXPECT_NE(hasher.fingerprint(changed), fp);
  changed = base;
  changed.merchant.assign("Shop2");
  EXPECT_NE(hasher.fingerprint(changed), fp);
  changed = base;
  changed.cardholder_name.assign("A B");
  EXPECT_NE(hasher.fingerprint(changed), fp);
  changed = base;
  ASSERT_TRUE(changed.card.assign("4111 1111 1111 1111"));  // the same digits, grouped
  EXPECT_EQ(hasher.fingerprint(changed), fp);
}

TEST(IdempotencyStoreKey, PrefixAndHex) {
  HmacDigest d{};
  d[0] = 0xab;
  d[31] = 0x01;
  char out[kStoreKeyTextBytes];
  format_store_key(d, out);
  const std::string text(out, sizeof out);
  EXPECT_EQ(text.substr(0, kStoreKeyPrefix.size()), "paystream:idem:");
  EXPECT_EQ(text.substr(kStoreKeyPrefix.size(), 2), "ab");
  EXPECT_EQ(text.substr(text.size() - 2), "01");
  EXPECT_EQ(text.size(), kStoreKeyPrefix.size() + 64);
}

TEST(IdempotencyRecords, RoundTrip) {
  HmacDigest fp{};
  fp[5] = 7;
  std::string bytes;
  encode_claim({.fingerprint = fp, .claimed_unix_ms = 1'700'000'000'123, .token = "txn_1"}, bytes);
  StoredRecord r = decode_record(bytes);
  ASSERT_EQ(r.kind, StoredRecord::Kind::claim);
  EXPECT_EQ(r.claim.fingerprint, fp);
  EXPECT_EQ(r.claim.claimed_unix_ms, 1'700'000'000'123u);
  EXPECT_EQ(r.claim.token, "txn_1");
  EXPECT_LE(bytes.size(), kMaxClaimRecordBytes);

  const std::string body = R"({"status":"approved"})";
  encode_answer({.fingerprint = fp, .status = 504, .request_id = "req-1", .body = body}, bytes);
  r = decode_record(bytes);
  ASSERT_EQ(r.kind, StoredRecord::Kind::answer);
  EXPECT_EQ(r.answer.status, 504);
  EXPECT_EQ(r.answer.request_id, "req-1");
  EXPECT_EQ(r.answer.body, body);

  // Truncated or foreign bytes are never taken for a record.
  for (size_t n = 0; n + 1 < bytes.size() && n < 40; ++n) {
    EXPECT_EQ(decode_record(std::string_view(bytes).substr(0, n)).kind, StoredRecord::Kind::invalid)
        << n;
  }
  EXPECT_EQ(decode_record("OK").kind, StoredRecord::Kind::invalid);
  EXPECT_EQ(decode_record(std::string(40, 'A')).kind, StoredRecord::Kind::invalid);
}

TEST(IdempotencyRecords, Judge) {
  HmacDigest fp{};
  fp[0] = 1;
  HmacDigest other{};
  other[0] = 2;
  std::string claim;
  encode_claim({.fingerprint = fp, .claimed_unix_ms = 10'000, .token = "t"}, claim);
  EXPECT_EQ(judge_existing(claim, fp, 10'000, 7'000).verdict, ExistingVerdict::in_use);
  EXPECT_EQ(judge_existing(claim, fp, 16'999, 7'000).verdict, ExistingVerdict::in_use);
  EXPECT_EQ(judge_existing(claim, fp, 17'000, 7'000).verdict, ExistingVerdict::outcome_unknown);
  EXPECT_EQ(judge_existing(claim, other, 10'000, 7'000).verdict, ExistingVerdict::reused);
  // A clock behind the claimer's: still in use, never executed.
  EXPECT_EQ(judge_existing(claim, fp, 5'000, 7'000).verdict, ExistingVerdict::in_use);

  std::string answer;
  encode_answer({.fingerprint = fp, .status = 200, .request_id = "r", .body = "{}"}, answer);
  const Existing replay = judge_existing(answer, fp, 99'999'999, 7'000);
  EXPECT_EQ(replay.verdict, ExistingVerdict::replay);
  EXPECT_EQ(replay.answer.body, "{}");
  EXPECT_EQ(judge_existing(answer, other, 0, 7'000).verdict, ExistingVerdict::reused);
  EXPECT_EQ(judge_existing("garbage", fp, 0, 7'000).verdict, ExistingVerdict::invalid);
}

}  // namespace
}  // namespace paystream::core
