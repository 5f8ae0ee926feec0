#pragma once
// What every reactor's authorize handler shares: the one circuit breaker
// (lock-free), the processor settings and the version reported.

#include <cstdint>
#include <string>

#include "core/breaker.h"
#include "core/decision.h"

namespace paystream::svc {

struct ProcessorSettings {
  core::LatencySettings latency;
  core::ProcessorSettings rates;
  uint32_t timeout_ms = 2000;
};

struct AuthorizeShared {
  AuthorizeShared(const core::BreakerSettings& breaker_settings, uint64_t now_ms)
      : breaker(breaker_settings, now_ms) {}

  core::CircuitBreaker breaker;
  std::string version;
  ProcessorSettings processor;  // from the environment
  size_t max_body_bytes = 16384;
};

}  // namespace paystream::svc
