#pragma once
// A lock-free circuit breaker with sony/gobreaker semantics, shared by all reactors.
//
// Closed: calls pass; `failure_threshold` consecutive failures open it. With interval_ms > 0 the
// counts restart every interval as a new generation. Open: calls are rejected until
// open_timeout_ms has passed, then it is half-open. Half-open: at most half_open_max_requests
// probes are admitted per generation; that many consecutive successes close it, any failure opens
// it again. Every state change starts a new generation, and results reported with a ticket of an
// older generation are ignored.
//
// Only processor errors and timeouts are failures: a decline is a successful call.
// Every admitted call must be reported exactly once, or half-open probe slots leak.
// The clock is injected: now_ms is a monotonic millisecond clock (any origin; it may wrap).

#include <atomic>
#include <cstdint>
#include <string_view>

#include "core/breaker_word.h"

namespace paystream::core {

// "closed", "open", "half_open".
std::string_view breaker_state_name(BreakerState state);

struct BreakerSettings {
  uint32_t failure_threshold = 5;       // 1-255
  uint32_t open_timeout_ms = 30000;     // 0-3,600,000
  uint32_t half_open_max_requests = 3;  // 1-255
  uint32_t interval_ms = 60000;         // 0 (never reset) - 3,600,000
};

inline constexpr uint32_t kMaxBreakerPeriodMs = 3'600'000;

// Empty when the settings are valid; otherwise a static message naming the setting.
std::string_view breaker_settings_error(const BreakerSettings& settings);

struct BreakerTransition {
  BreakerState from = BreakerState::closed;
  BreakerState to = BreakerState::closed;

  bool happened() const { return from != to; }
  bool operator==(const BreakerTransition&) const = default;
};

struct BreakerTicket {
  uint32_t generation = 0;
};

struct Admission {
  bool admitted = false;
  bool probe = false;  // admitted while half-open
  BreakerTicket ticket;
  // When rejected: ms until the open period ends; 0 when half-open with every probe slot taken.
  uint32_t retry_after_ms = 0;
  // A state change this call made (open -> half-open); only the thread that made it sees it.
  BreakerTransition transition;
};

// abandoned: the call was never made (the driver had no room to send it). It counts as
// neither success nor failure; a half-open probe slot it held is free again.
enum class CallOutcome : uint8_t { success, failure, abandoned };

struct ReportResult {
  bool counted = false;          // false: the ticket's generation is over, the result was ignored
  BreakerTransition transition;  // a state change this call made
};

struct BreakerSnapshot {
  BreakerState state = BreakerState::closed;
  uint32_t generation = 0;
  uint32_t requests = 0;               // half-open: probes admitted in this generation
  uint32_t consecutive_successes = 0;  // closed: saturates at 255
  uint32_t consecutive_failures = 0;
  uint64_t trips = 0;  // transitions into open since construction
};

// Whole seconds for a Retry-After header: rounded up, at least 1.
inline uint32_t retry_after_seconds(uint32_t retry_after_ms) {
  const uint32_t seconds = retry_after_ms / 1000 + (retry_after_ms % 1000 != 0);
  return seconds == 0 ? 1 : seconds;
}

class CircuitBreaker {
 public:
  // Out-of-range settings are clamped into range (validate with breaker_settings_error first).
  CircuitBreaker(const BreakerSettings& settings, uint64_t now_ms);

  Admission admit(uint64_t now_ms);
  ReportResult report(BreakerTicket ticket, CallOutcome outcome, uint64_t now_ms);

  // The state as of now_ms (an elapsed open period reads as half-open), without changing it.
  BreakerSnapshot snapshot(uint64_t now_ms) const;
  const BreakerSettings& settings() const { return settings_; }

  // How far ahead of a caller's clock another caller's clock may be; see deadline_reached().
  static constexpr uint32_t kClockSkewMs = 60'000;

 private:
  // The state as of `now`: elapsed open periods and counting intervals are applied.
  BreakerWord advance(BreakerWord word, uint32_t now, BreakerTransition& transition) const;
  BreakerWord enter_closed(uint32_t generation, uint32_t now) const;
  BreakerWord enter_open(uint32_t generation, uint32_t now) const;
  bool deadline_reached(uint32_t now, uint32_t deadline, uint32_t period) const;

  BreakerSettings settings_;
  std::atomic<uint64_t> word_;
  std::atomic<uint64_t> trips_{0};
};

}  // namespace paystream::core
