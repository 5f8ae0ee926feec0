#include "core/breaker.h"

#include <algorithm>

namespace paystream::core {
namespace {

uint32_t next_generation(uint32_t generation) {
  return (generation + 1) & kBreakerGenerationMask;
}

uint32_t clamp(uint32_t value, uint32_t low, uint32_t high) {
  return std::min(std::max(value, low), high);
}

BreakerSettings clamped(const BreakerSettings& settings) {
  BreakerSettings s = settings;
  s.failure_threshold = clamp(s.failure_threshold, 1, 255);
  s.half_open_max_requests = clamp(s.half_open_max_requests, 1, 255);
  s.open_timeout_ms = std::min(s.open_timeout_ms, kMaxBreakerPeriodMs);
  s.interval_ms = std::min(s.interval_ms, kMaxBreakerPeriodMs);
  return s;
}

}  // namespace

std::string_view breaker_state_name(BreakerState state) {
  switch (state) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  return "";
}

std::string_view breaker_settings_error(const BreakerSettings& settings) {
  if (settings.failure_threshold < 1 || settings.failure_threshold > 255) {
    return "failure threshold must be 1-255";
  }
  if (settings.half_open_max_requests < 1 || settings.half_open_max_requests > 255) {
    return "half-open max requests must be 1-255";
  }
  if (settings.open_timeout_ms > kMaxBreakerPeriodMs) return "open timeout must be 0-3600000 ms";
  if (settings.interval_ms > kMaxBreakerPeriodMs) return "interval must be 0-3600000 ms";
  return {};
}

CircuitBreaker::CircuitBreaker(const BreakerSettings& settings, uint64_t now_ms)
    : settings_(clamped(settings)), word_(enter_closed(0, static_cast<uint32_t>(now_ms)).pack()) {}

// A deadline holds the low 32 bits of the clock, so "reached" is decided on the unsigned distance
// ahead of now. We never set one more than `period` ahead; allowing kClockSkewMs for callers
// whose clock lags the one that set it, anything further ahead must be a deadline that passed
// long ago (more than 2^32 - period - skew ms), i.e. the clock wrapped past it.
bool CircuitBreaker::deadline_reached(uint32_t now, uint32_t deadline, uint32_t period) const {
  const uint32_t ahead = deadline - now;
  return ahead == 0 || ahead > period + kClockSkewMs;
}

BreakerWord CircuitBreaker::enter_closed(uint32_t generation, uint32_t now) const {
  BreakerWord word;
  word.state = BreakerState::closed;
  word.generation = generation;
  word.deadline = settings_.interval_ms == 0 ? 0 : now + settings_.interval_ms;
  return word;
}

BreakerWord CircuitBreaker::enter_open(uint32_t generation, uint32_t now) const {
  BreakerWord word;
  word.state = BreakerState::open;
  word.generation = generation;
  word.deadline = now + settings_.open_timeout_ms;
  return word;
}

BreakerWord CircuitBreaker::advance(BreakerWord word, uint32_t now,
                                    BreakerTransition& transition) const {
  transition = {word.state, word.state};
  if (word.state == BreakerState::closed && settings_.interval_ms != 0 &&
      deadline_reached(now, word.deadline, settings_.interval_ms)) {
    return enter_closed(next_generation(word.generation), now);
  }
  if (word.state == BreakerState::open &&
      deadline_reached(now, word.deadline, settings_.open_timeout_ms)) {
    BreakerWord half_open;
    half_open.state = BreakerState::half_open;
    half_open.generation = next_generation(word.generation);
    transition.to = BreakerState::half_open;
    return half_open;
  }
  return word;
}

Admission CircuitBreaker::admit(uint64_t now_ms) {
  const auto now = static_cast<uint32_t>(now_ms);
  uint64_t raw = word_.load(std::memory_order_acquire);
  while (true) {
    const BreakerWord current = BreakerWord::unpack(raw);
    Admission admission;
    BreakerWord next = advance(current, now, admission.transition);
    switch (next.state) {
      case BreakerState::open: {
        const uint32_t ahead = next.deadline - now;
        admission.retry_after_ms = std::min(ahead, settings_.open_timeout_ms);
        return admission;  // advance() never turns another state into open
      }
      case BreakerState::half_open:
        if (next.requests >= settings_.half_open_max_requests) {
          return admission;  // a fresh half-open generation has free slots: nothing to store
        }
        ++next.requests;
        admission.probe = true;
        break;
      case BreakerState::closed:
        break;
    }
    admission.admitted = true;
    admission.ticket.generation = next.generation;
    // The common closed case changes nothing: no write, no contention.
    if (next == current) return admission;
    if (word_.compare_exchange_weak(raw, next.pack(), std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return admission;
    }
  }
}

ReportResult CircuitBreaker::report(BreakerTicket ticket, CallOutcome outcome, uint64_t now_ms) {
  const auto now = static_cast<uint32_t>(now_ms);
  uint64_t raw = word_.load(std::memory_order_acquire);
  while (true) {
    const BreakerWord current = BreakerWord::unpack(raw);
    ReportResult result;
    BreakerWord next = advance(current, now, result.transition);
    // An elapsed period means a new generation, so the ticket is stale and nothing is stored.
    if (next.generation != ticket.generation || next.state == BreakerState::open) return {};
    result.counted = true;

    const bool success = outcome == CallOutcome::success;
    if (outcome == CallOutcome::abandoned) {
      if (next.state == BreakerState::half_open && next.requests > 0) --next.requests;
    } else if (next.state == BreakerState::closed) {
      if (success) {
        next.failures = 0;
        if (next.successes < 255) ++next.successes;
      } else {
        next.successes = 0;
        ++next.failures;
        if (next.failures >= settings_.failure_threshold) {
          next = enter_open(next_generation(next.generation), now);
        }
      }
    } else if (success) {  // half-open
      ++next.successes;
      if (next.successes >= settings_.half_open_max_requests) {
        next = enter_closed(next_generation(next.generation), now);
      }
    } else {
      next = enter_open(next_generation(next.generation), now);
    }
    result.transition.to = next.state;

    if (next == current) return result;
    if (word_.compare_exchange_weak(raw, next.pack(), std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      if (result.transition.happened() && next.state == BreakerState::open) {
        trips_.fetch_add(1, std::memory_order_relaxed);
      }
      return result;
    }
  }
}

BreakerSnapshot CircuitBreaker::snapshot(uint64_t now_ms) const {
  BreakerTransition ignored;
  const BreakerWord word = advance(BreakerWord::unpack(word_.load(std::memory_order_acquire)),
                                   static_cast<uint32_t>(now_ms), ignored);
  BreakerSnapshot snapshot;
  snapshot.state = word.state;
  snapshot.generation = word.generation;
  snapshot.requests = word.requests;
  snapshot.consecutive_successes = word.successes;
  snapshot.consecutive_failures = word.failures;
  snapshot.trips = trips_.load(std::memory_order_relaxed);
  return snapshot;
}

}  // namespace paystream::core
