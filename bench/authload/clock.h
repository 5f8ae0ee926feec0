#pragma once
#include <cstdint>
#include <ctime>

namespace paystream::bench {

// Nanoseconds on CLOCK_MONOTONIC: the clock the send timer (timerfd) is armed against.
inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace paystream::bench
