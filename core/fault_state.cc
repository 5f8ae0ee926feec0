#include "core/fault_state.h"

namespace paystream::core {

ProcessorParameters environment_parameters(const Config& config) {
  return {
      .latency_ms = static_cast<uint32_t>(config.latency_base_ms),
      .jitter_ms = static_cast<uint32_t>(config.latency_jitter_ms),
      .success_rate = config.success_rate,
      .error_rate = config.error_rate,
      .slow_rate = config.slow_rate,
      .slow_latency_ms = static_cast<uint32_t>(config.slow_latency_ms),
      .reset_rate = 0.0,
  };
}

void FaultState::apply(const FaultUpdate& update) {
  if (update.enabled) enabled = *update.enabled;
  if (update.latency_ms) latency_ms = update.latency_ms;
  if (update.jitter_ms) jitter_ms = update.jitter_ms;
  if (update.success_rate) success_rate = update.success_rate;
  if (update.error_rate) error_rate = update.error_rate;
  if (update.slow_rate) slow_rate = update.slow_rate;
  if (update.slow_latency_ms) slow_latency_ms = update.slow_latency_ms;
  if (update.reset_rate) reset_rate = update.reset_rate;
}

ProcessorParameters FaultState::effective(const ProcessorParameters& environment) const {
  if (!enabled) return environment;
  return {
      .latency_ms = latency_ms.value_or(environment.latency_ms),
      .jitter_ms = jitter_ms.value_or(environment.jitter_ms),
      .success_rate = success_rate.value_or(environment.success_rate),
      .error_rate = error_rate.value_or(environment.error_rate),
      .slow_rate = slow_rate.value_or(environment.slow_rate),
      .slow_latency_ms = slow_latency_ms.value_or(environment.slow_latency_ms),
      .reset_rate = reset_rate.value_or(environment.reset_rate),
  };
}

}  // namespace paystream::core
