#pragma once
// What every reactor's authorize handler shares: the one circuit breaker
// (lock-free), the processor settings from the environment, the fault
// injection overrides (published by the admin thread), the version reported and the
// idempotency keys' secret and lifetimes.

#include <cstdint>
#include <optional>
#include <string>

#include "core/breaker.h"
#include "core/fault_state.h"
#include "core/fault_state_publisher.h"
#include "core/idempotency.h"

namespace paystream::core {

struct AuthorizeShared {
  AuthorizeShared(const BreakerSettings& breaker_settings, uint64_t now_ms)
      : breaker(breaker_settings, now_ms) {}

  CircuitBreaker breaker;
  FaultStatePublisher faults;
  // Simulated mode: LATENCY_*, SUCCESS_RATE, ERROR_RATE. Http mode: no_simulation(), so only
  // injected faults act before the real call.
  ProcessorParameters environment;
  ProcessorMode processor_mode = ProcessorMode::simulated;
  uint32_t processor_timeout_ms = 2000;
  std::string version;
  size_t max_body_bytes = 16384;
  // Idempotency keys: the HMAC under the store secret (unset: keyed requests get 503), how
  // long an answer is kept, and the margin a claim's owner has beyond the processor deadline.
  std::optional<IdempotencyHasher> idempotency;
  uint64_t idempotency_ttl_ms = 86'400'000;
  static constexpr uint64_t kClaimMarginMs = 5000;
  uint64_t idempotency_lease_ms() const { return processor_timeout_ms + kClaimMarginMs; }
};

}  // namespace paystream::core
