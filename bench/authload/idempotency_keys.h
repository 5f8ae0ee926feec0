#pragma once
// The Idempotency-Key values authload sends: "<run prefix>-<key number>". The prefix is random
// per process and names the run (each find-max step is a run), the key number is the global
// number of the request that first carried the key, so keys are unique across threads, runs and
// processes. Keys are printable ASCII and at most kMaxKeyBytes long, far under the 255 allowed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace paystream::bench {

inline constexpr std::string_view kKeyHeaderName = "Idempotency-Key";
inline constexpr size_t kMaxPrefixBytes = 48;
// Prefix, '-', and up to 20 decimal digits.
inline constexpr size_t kMaxKeyBytes = kMaxPrefixBytes + 1 + 20;

// What a request carries: no key, a fresh key, or the key of an earlier original.
enum class KeyRole : uint8_t {
  none,         // keys are off
  original,     // a fresh key
  sequential,   // same key and body as an original that has been answered
  concurrent,   // same key and body as an original that is still in flight
  conflicting,  // same key as an answered original, another amount
};

struct KeyedRef {
  uint64_t key = 0;   // key number
  uint32_t slot = 0;  // the original's place in the KeyTracker ring
  KeyRole role = KeyRole::none;
};

// "al" + 16 lowercase hex digits of `random` + "r" + run number.
std::string make_key_prefix(uint64_t random, uint64_t run);
// 64 bits from the kernel's random source (getrandom), for make_key_prefix.
uint64_t random_from_os();

// Builds the header line "Idempotency-Key: <prefix>-<number>\r\n" in a fixed buffer: no
// allocation per request.
class KeyHeader {
 public:
  explicit KeyHeader(std::string_view prefix);  // prefix: at most kMaxPrefixBytes
  // Valid until the next call.
  std::string_view line(uint64_t key_number);

 private:
  static constexpr size_t kCapacity = kKeyHeaderName.size() + 2 + kMaxKeyBytes + 2;
  char buffer_[kCapacity];
  size_t fixed_ = 0;  // "Idempotency-Key: <prefix>-"
};

}  // namespace paystream::bench
