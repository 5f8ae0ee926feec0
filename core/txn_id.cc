#include "core/txn_id.h"

#include <cstring>

namespace paystream::core {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr uint64_t kTimestampMask = (uint64_t{1} << 48) - 1;

// Writes `count` base32 characters of the low 5 * count bits of `value`, most significant first.
void encode_base32(uint64_t value, size_t count, char* out) {
  for (size_t i = count; i > 0; --i) {
    out[i - 1] = kCrockford[value & 31];
    value >>= 5;
  }
}

uint64_t load_40_bits(const uint8_t* bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 5; ++i) value = value << 8 | bytes[i];
  return value;
}

int crockford_value(char c) {
  const size_t pos = kCrockford.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Adds one to a big-endian number; false when it wrapped to zero.
bool increment(TxnIdEntropy& value) {
  for (size_t i = value.size(); i > 0; --i) {
    if (++value[i - 1] != 0) return true;
  }
  return false;
}

}  // namespace

void format_txn_id(uint64_t unix_ms, const TxnIdEntropy& random, char* out) {
  std::memcpy(out, kTxnIdPrefix.data(), kTxnIdPrefix.size());
  char* body = out + kTxnIdPrefix.size();
  encode_base32(unix_ms & kTimestampMask, 10, body);  // 50 bits, the top two zero
  encode_base32(load_40_bits(random.data()), 8, body + 10);
  encode_base32(load_40_bits(random.data() + 5), 8, body + 18);
}

std::optional<uint64_t> txn_id_unix_ms(std::string_view id) {
  if (id.size() != kTxnIdLength || id.substr(0, kTxnIdPrefix.size()) != kTxnIdPrefix) {
    return std::nullopt;
  }
  const std::string_view body = id.substr(kTxnIdPrefix.size());
  uint64_t timestamp = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const int value = crockford_value(body[i]);
    if (value < 0) return std::nullopt;
    if (i < 10) timestamp = timestamp << 5 | static_cast<uint64_t>(value);
  }
  if (timestamp > kTimestampMask) return std::nullopt;
  return timestamp;
}

void TxnIdGenerator::next(uint64_t unix_ms, const TxnIdEntropy& fresh, char* out) {
  if (needs_entropy(unix_ms)) {
    last_ms_ = unix_ms;
    last_random_ = fresh;
    started_ = true;
  } else if (!increment(last_random_)) {
    ++last_ms_;  // 2^80 ids in one millisecond: borrow the next one
  }
  format_txn_id(last_ms_, last_random_, out);
}

}  // namespace paystream::core
