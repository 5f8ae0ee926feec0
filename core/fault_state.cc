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
  for_each_fault_parameter([&](auto, auto, auto from, auto to, auto) {
    if (update.*from) this->*to = update.*from;
  });
}

ProcessorParameters FaultState::effective(const ProcessorParameters& environment) const {
  if (!enabled) return environment;
  ProcessorParameters parameters;
  for_each_fault_parameter([&](auto, auto parameter, auto, auto state, auto) {
    parameters.*parameter = (this->*state).value_or(environment.*parameter);
  });
  return parameters;
}

}  // namespace paystream::core
