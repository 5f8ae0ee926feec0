#pragma once
// What every reactor's authorize handler shares: the one circuit breaker
// (lock-free), the processor settings from the environment, the fault
// injection overrides (published by the admin thread) and the version reported.

#include <cstdint>
#include <string>

#include "core/breaker.h"
#include "core/fault_state.h"
#include "core/fault_state_publisher.h"

namespace paystream::core {

struct AuthorizeShared {
  AuthorizeShared(const BreakerSettings& breaker_settings, uint64_t now_ms)
      : breaker(breaker_settings, now_ms) {}

  CircuitBreaker breaker;
  FaultStatePublisher faults;
  ProcessorParameters environment;  // LATENCY_*, SUCCESS_RATE, ERROR_RATE
  uint32_t processor_timeout_ms = 2000;
  std::string version;
  size_t max_body_bytes = 16384;
};

}  // namespace paystream::core
