#pragma once
// The admin port's fault injection JSON: POST bodies in, the full state out.

#include <optional>
#include <string>
#include <string_view>

#include "core/fault_state.h"

namespace paystream::core {

// `field` names the offending key, or is empty when the error concerns the whole body (send
// "field":null). `message` is static text. An unknown key is named as sent (at most 64 bytes,
// cut at a character boundary): escape it when writing JSON.
struct FaultUpdateError {
  std::string field;
  std::string_view message;
};

struct FaultUpdateResult {
  FaultUpdate update;                     // meaningful when !error
  std::optional<FaultUpdateError> error;  // the first problem; then nothing may change
};

// A POST /admin/fault-inject body: one JSON object with only the keys enabled (boolean),
// latency_ms (integer 0-60000), jitter_ms (integer 0-10000), success_rate, error_rate, slow_rate
// and reset_rate (number 0-1), slow_latency_ms (integer 0-60000), each at most once; absent keys
// stay as they are, `{}` changes nothing. `null` is refused
// like any other wrong type: a single override cannot be cleared on its own (DELETE clears all),
// so that a forgotten value can never quietly mean something.
FaultUpdateResult parse_fault_update(std::string_view json_body);

// {"enabled":true,"latency_ms":500,"jitter_ms":null,"success_rate":null,"error_rate":0.5,
//  "slow_rate":null,"slow_latency_ms":null,"reset_rate":null}
// (null: not overridden). For the reply and the old -> new log line.
std::string fault_state_json(const FaultState& state);

// {"latency_ms":200,"jitter_ms":50,"success_rate":0.94,"error_rate":0,"slow_rate":0,
//  "slow_latency_ms":0,"reset_rate":0}
std::string processor_parameters_json(const ProcessorParameters& parameters);

// The admin reply: {"fault_injection":{<fault_state_json's members>,"effective":{<the
// parameters in force>}}}.
std::string fault_injection_json(const FaultState& state, const ProcessorParameters& environment);

}  // namespace paystream::core
