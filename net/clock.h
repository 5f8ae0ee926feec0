#pragma once
#include <cstdint>
#include <ctime>

namespace paystream::net {

// Milliseconds on the monotonic clock, comparable across threads (unlike uv_now()).
// The same clock as uv_hrtime(), so it also matches the reactors' uv_now().
inline uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

// Nanoseconds on the same monotonic clock.
inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Milliseconds since the Unix epoch (wall clock): for ids and times shown to people.
inline uint64_t unix_now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

}  // namespace paystream::net
