#include "bench/authload/idempotency_keys.h"

#include <sys/random.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

#include "base/ascii.h"

namespace paystream::bench {

std::string make_key_prefix(uint64_t random, uint64_t run) {
  std::string prefix = "al";
  for (int shift = 60; shift >= 0; shift -= 4) prefix += base::kHexDigits[(random >> shift) & 0xf];
  prefix += 'r';
  prefix += std::to_string(run);
  return prefix;
}

uint64_t random_from_os() {
  uint64_t value = 0;
  if (getrandom(&value, sizeof value, 0) == static_cast<ssize_t>(sizeof value)) return value;
  // Without getrandom (never on Linux >= 3.17): the clock still differs between runs.
  return static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
}

KeyHeader::KeyHeader(std::string_view prefix) {
  prefix = prefix.substr(0, kMaxPrefixBytes);
  char* at = buffer_;
  for (std::string_view part :
       {kKeyHeaderName, std::string_view(": "), prefix, std::string_view("-")}) {
    std::memcpy(at, part.data(), part.size());
    at += part.size();
  }
  fixed_ = static_cast<size_t>(at - buffer_);
}

std::string_view KeyHeader::line(uint64_t key_number) {
  char* end = buffer_ + kCapacity;
  auto [at, ec] = std::to_chars(buffer_ + fixed_, end, key_number);
  *at++ = '\r';
  *at++ = '\n';
  return std::string_view(buffer_, static_cast<size_t>(at - buffer_));
}

}  // namespace paystream::bench
