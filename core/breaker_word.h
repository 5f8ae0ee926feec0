#pragma once
// The circuit breaker's whole state packed into 64 bits, so that one CAS changes it atomically.
//
//   bits  0-1   state
//   bits  2-22  generation (21 bits, wraps)
//   bits 23-63  per state:
//     closed     23-54 deadline of the counting interval, 55 streak is failures, 56-63 streak
//     open       23-54 deadline of the open period
//     half-open  23-30 probes admitted, 31-38 consecutive successes
//
// Deadlines are the low 32 bits of a monotonic millisecond clock.

#include <cstdint>

namespace paystream::core {

enum class BreakerState : uint8_t { closed, open, half_open };

inline constexpr uint32_t kBreakerGenerationBits = 21;
inline constexpr uint32_t kBreakerGenerationMask = (1u << kBreakerGenerationBits) - 1;

struct BreakerWord {
  BreakerState state = BreakerState::closed;
  uint32_t generation = 0;  // < 2^21
  uint32_t deadline = 0;    // closed and open only
  uint8_t requests = 0;     // half-open only
  uint8_t successes = 0;    // consecutive; closed and half-open
  uint8_t failures = 0;     // consecutive; closed only, and only while successes == 0

  bool operator==(const BreakerWord&) const = default;

  uint64_t pack() const {
    uint64_t word = static_cast<uint64_t>(state) | uint64_t{generation & kBreakerGenerationMask}
                                                       << 2;
    switch (state) {
      case BreakerState::closed: {
        const bool failing = failures != 0;
        word |= uint64_t{deadline} << 23;
        word |= uint64_t{failing} << 55;
        word |= uint64_t{failing ? failures : successes} << 56;
        break;
      }
      case BreakerState::open:
        word |= uint64_t{deadline} << 23;
        break;
      case BreakerState::half_open:
        word |= uint64_t{requests} << 23;
        word |= uint64_t{successes} << 31;
        break;
    }
    return word;
  }

  static BreakerWord unpack(uint64_t word) {
    BreakerWord w;
    w.state = static_cast<BreakerState>(word & 3);
    w.generation = static_cast<uint32_t>(word >> 2) & kBreakerGenerationMask;
    switch (w.state) {
      case BreakerState::closed: {
        w.deadline = static_cast<uint32_t>(word >> 23);
        const auto streak = static_cast<uint8_t>(word >> 56);
        if ((word >> 55) & 1) {
          w.failures = streak;
        } else {
          w.successes = streak;
        }
        break;
      }
      case BreakerState::open:
        w.deadline = static_cast<uint32_t>(word >> 23);
        break;
      case BreakerState::half_open:
        w.requests = static_cast<uint8_t>(word >> 23);
        w.successes = static_cast<uint8_t>(word >> 31);
        break;
    }
    return w;
  }
};

}  // namespace paystream::core
