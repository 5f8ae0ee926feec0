// libFuzzer target: the admin port's fault injection body (parse_fault_update) and the JSON the
// admin port answers with. The input is the POST /admin/fault-inject body.
//
// Invariants: an error has a message and names a known field, nothing, or a key of at most 64
// bytes of UTF-8; an accepted update holds only in-range values (no -0); the state it produces
// is written as a JSON object that simdjson's DOM parser reads, and that JSON, sent back as a
// body (its null members left out), produces exactly the same state.

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "core/fault_state.h"
#include "core/fault_state_json.h"
#include "core/json_body_errors.h"

namespace {

using namespace paystream::core;

constexpr std::string_view kFields[] = {"enabled",         "latency_ms", "jitter_ms",
                                        "success_rate",    "error_rate", "slow_rate",
                                        "slow_latency_ms", "reset_rate"};

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fault_state_json_fuzz: invariant violated: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

bool rate_ok(const std::optional<double>& rate) {
  return !rate || (*rate >= 0.0 && *rate <= 1.0 && !std::signbit(*rate));
}

template <typename T>
bool at_most(const std::optional<T>& value, T max) {
  return !value || *value <= max;
}

// The state's JSON as a POST body: the members that are set, the nulls left out.
std::string as_body(const FaultState& state) {
  std::string json = fault_state_json(state);
  for (std::string_view name : kFields) {
    const std::string null_member = ",\"" + std::string(name) + "\":null";
    if (const size_t at = json.find(null_member); at != std::string::npos) {
      json.erase(at, null_member.size());
    }
  }
  return json;
}

void check_json(const std::string& json) {
  static simdjson::dom::parser dom;
  simdjson::dom::element document;
  check(!dom.parse(simdjson::padded_string(json)).get(document), "reply is not valid JSON");
  check(document.is_object(), "reply is not an object");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const FaultUpdateResult result = parse_fault_update(body);
  if (result.error) {
    const FaultUpdateError& error = *result.error;
    check(!error.message.empty(), "error without a message");
    check(error.field.size() <= kMaxReportedKeyBytes, "reported key longer than 64 bytes");
    check(paystream::base::is_valid_utf8(error.field), "reported key cut inside a character");
    check(result.update == FaultUpdate{}, "a refused body changes something");
    return 0;
  }

  const FaultUpdate& u = result.update;
  check(at_most(u.latency_ms, kMaxFaultLatencyMs) && at_most(u.jitter_ms, kMaxFaultJitterMs) &&
            at_most(u.slow_latency_ms, kMaxFaultSlowLatencyMs),
        "integer out of range");
  check(rate_ok(u.success_rate) && rate_ok(u.error_rate) && rate_ok(u.slow_rate) &&
            rate_ok(u.reset_rate),
        "rate out of range");

  FaultState state;
  state.apply(u);
  check_json(fault_state_json(state));
  check_json(fault_injection_json(state, ProcessorParameters{}));
  const ProcessorParameters effective = state.effective(ProcessorParameters{});
  check(effective.success_rate >= 0.0 && effective.success_rate <= 1.0, "effective rate");

  const std::string body_again = as_body(state);
  const FaultUpdateResult again = parse_fault_update(body_again);
  check(!again.error, "the state's own JSON is refused as a body");
  FaultState state_again;
  state_again.apply(again.update);
  check(state_again == state, "the state does not survive its JSON");
  return 0;
}
