#pragma once
// Fault injection: operator overrides of the simulated processor's parameters, set through the
// admin port. While `enabled`, each set override replaces its environment value; overrides set
// while disabled are stored but inactive.

#include <cstdint>
#include <optional>

#include "core/config.h"

namespace paystream::core {

inline constexpr uint32_t kMaxFaultLatencyMs = 60'000;
inline constexpr uint32_t kMaxFaultJitterMs = 10'000;
inline constexpr uint32_t kMaxFaultSlowLatencyMs = 60'000;

// What the simulated processor runs with.
struct ProcessorParameters {
  uint32_t latency_ms = 200;  // LATENCY_BASE_MS
  uint32_t jitter_ms = 50;    // LATENCY_JITTER_MS
  double success_rate = 0.94;
  double error_rate = 0.0;
  double slow_rate = 0.0;        // SLOW_RATE: fraction of processor calls that are slow
  uint32_t slow_latency_ms = 0;  // SLOW_LATENCY_MS: added to a slow call's latency
  double reset_rate = 0.0;       // fault injection only: fraction of requests reset (RST)

  bool operator==(const ProcessorParameters&) const = default;
};

// LATENCY_BASE_MS, LATENCY_JITTER_MS, SUCCESS_RATE, ERROR_RATE, SLOW_RATE and SLOW_LATENCY_MS
// from a validated Config (reset_rate is 0: only fault injection sets it).
ProcessorParameters environment_parameters(const Config& config);

// Http mode's base: no latency, no error, every call goes to the real processor. Faults set on
// the admin port override it, so they act on the service's own calls before each call.
constexpr ProcessorParameters no_simulation() {
  return {.latency_ms = 0, .jitter_ms = 0, .success_rate = 1.0, .error_rate = 0.0};
}

// A partial update: only the fields present change.
struct FaultUpdate {
  std::optional<bool> enabled;
  std::optional<uint32_t> latency_ms;       // 0-60000
  std::optional<uint32_t> jitter_ms;        // 0-10000
  std::optional<double> success_rate;       // 0-1
  std::optional<double> error_rate;         // 0-1
  std::optional<double> slow_rate;          // 0-1
  std::optional<uint32_t> slow_latency_ms;  // 0-60000
  std::optional<double> reset_rate;         // 0-1

  bool operator==(const FaultUpdate&) const = default;
};

struct FaultState {
  bool enabled = false;
  std::optional<uint32_t> latency_ms;  // unset: the environment's value
  std::optional<uint32_t> jitter_ms;
  std::optional<double> success_rate;
  std::optional<double> error_rate;
  std::optional<double> slow_rate;
  std::optional<uint32_t> slow_latency_ms;
  std::optional<double> reset_rate;

  bool operator==(const FaultState&) const = default;

  // Sets the fields the update carries; the others keep their value. The update must be in range
  // (parse_fault_update guarantees it).
  void apply(const FaultUpdate& update);
  // Clears every override and disables injection.
  void reset() { *this = FaultState{}; }
  // The parameters in force: each override when enabled and set, else the environment's value.
  ProcessorParameters effective(const ProcessorParameters& environment) const;
};

// Calls visit(name, parameter, update, state, max) for each overridable parameter, in the
// order the JSON documents list them: its JSON name, its member in ProcessorParameters,
// FaultUpdate and FaultState, and its range (an integer from 0 to max, or for a rate,
// kRate: a number from 0 to 1). Parsing, applying, the effective values and the JSON all
// walk this one list.
struct RateRange {};
inline constexpr RateRange kRate{};
template <typename Visit>
constexpr void for_each_fault_parameter(Visit&& visit) {
  visit("latency_ms", &ProcessorParameters::latency_ms, &FaultUpdate::latency_ms,
        &FaultState::latency_ms, kMaxFaultLatencyMs);
  visit("jitter_ms", &ProcessorParameters::jitter_ms, &FaultUpdate::jitter_ms,
        &FaultState::jitter_ms, kMaxFaultJitterMs);
  visit("success_rate", &ProcessorParameters::success_rate, &FaultUpdate::success_rate,
        &FaultState::success_rate, kRate);
  visit("error_rate", &ProcessorParameters::error_rate, &FaultUpdate::error_rate,
        &FaultState::error_rate, kRate);
  visit("slow_rate", &ProcessorParameters::slow_rate, &FaultUpdate::slow_rate,
        &FaultState::slow_rate, kRate);
  visit("slow_latency_ms", &ProcessorParameters::slow_latency_ms, &FaultUpdate::slow_latency_ms,
        &FaultState::slow_latency_ms, kMaxFaultSlowLatencyMs);
  visit("reset_rate", &ProcessorParameters::reset_rate, &FaultUpdate::reset_rate,
        &FaultState::reset_rate, kRate);
}

}  // namespace paystream::core
