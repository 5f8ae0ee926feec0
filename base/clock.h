#pragma once
// The process's clocks, read with clock_gettime (a vDSO call: no system call).

#include <cstdint>
#include <ctime>

namespace paystream::base {

inline uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Nanoseconds on the monotonic clock, comparable across threads (unlike uv_now()). The same
// clock as uv_hrtime(), so it also matches the reactors' uv_now(), and the clock bench/authload
// arms its timerfd against.
inline uint64_t monotonic_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}

// Milliseconds on the same monotonic clock.
inline uint64_t monotonic_ms() {
  return monotonic_ns() / 1'000'000u;
}

// Milliseconds since the Unix epoch (wall clock): for ids and times shown to people.
inline uint64_t unix_now_ms() {
  return clock_ns(CLOCK_REALTIME) / 1'000'000u;
}

}  // namespace paystream::base
