#pragma once
// Transaction ids: "txn_" + 26 Crockford base32 characters laid out like a ULID, a 48-bit Unix
// millisecond timestamp then 80 random bits, so ids sort by creation time. The caller supplies
// the random bits (the service draws them with OpenSSL's RAND_bytes).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace paystream::core {

inline constexpr std::string_view kTxnIdPrefix = "txn_";
inline constexpr size_t kTxnIdLength = 30;  // prefix + 26

using TxnIdEntropy = std::array<uint8_t, 10>;  // 80 bits, big-endian

// Writes exactly kTxnIdLength bytes (no terminator) to `out`. Only the low 48 bits of unix_ms
// are used (enough until the year 10889).
void format_txn_id(uint64_t unix_ms, const TxnIdEntropy& random, char* out);

// The timestamp of a well-formed id; nullopt for anything that is not one.
std::optional<uint64_t> txn_id_unix_ms(std::string_view id);

// Generates strictly increasing ids for one thread: within a millisecond (or if the clock steps
// back) it increments the previous random part instead of drawing a new one.
class TxnIdGenerator {
 public:
  // True when next(unix_ms, ...) will use fresh entropy; callers can skip reading entropy
  // otherwise.
  bool needs_entropy(uint64_t unix_ms) const { return !started_ || unix_ms > last_ms_; }

  // Writes kTxnIdLength bytes to `out`; `fresh` is read only when needs_entropy(unix_ms).
  void next(uint64_t unix_ms, const TxnIdEntropy& fresh, char* out);

 private:
  bool started_ = false;
  uint64_t last_ms_ = 0;
  TxnIdEntropy last_random_{};
};

}  // namespace paystream::core
