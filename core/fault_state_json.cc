#include "core/fault_state_json.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <iterator>

#include "core/json_body_errors.h"

namespace paystream::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kUnknownField = "is not a fault injection field";
constexpr std::string_view kEnabledType = "must be true or false";
constexpr std::string_view kLatencyRange = "must be an integer from 0 to 60000";
constexpr std::string_view kJitterRange = "must be an integer from 0 to 10000";
constexpr std::string_view kSlowLatencyRange = "must be an integer from 0 to 60000";
constexpr std::string_view kRateRange = "must be a number from 0 to 1";

enum class Field : uint8_t {
  enabled,
  latency_ms,
  jitter_ms,
  success_rate,
  error_rate,
  slow_rate,
  slow_latency_ms,
  reset_rate,
};
constexpr std::string_view kFieldNames[] = {"enabled",    "latency_ms", "jitter_ms",
                                            "success_rate", "error_rate", "slow_rate",
                                            "slow_latency_ms", "reset_rate"};

std::optional<Field> find_field(std::string_view key) {
  for (size_t i = 0; i < std::size(kFieldNames); ++i) {
    if (key == kFieldNames[i]) return static_cast<Field>(i);
  }
  return std::nullopt;
}

// `key` cut to at most kMaxReportedKeyBytes without splitting a UTF-8 sequence.
std::string reported_key(std::string_view key) {
  if (key.size() <= kMaxReportedKeyBytes) return std::string(key);
  size_t end = kMaxReportedKeyBytes;
  while (end > 0 && (static_cast<uint8_t>(key[end]) & 0xC0) == 0x80) --end;
  return std::string(key.substr(0, end));
}

FaultUpdateResult body_error(std::string_view message) {
  return {{}, FaultUpdateError{{}, message}};
}

FaultUpdateResult field_error(Field field, std::string_view message) {
  return {{}, FaultUpdateError{std::string(kFieldNames[static_cast<size_t>(field)]), message}};
}

// An integer token in [0, max]; a fraction or exponent form (even 100.0) is not an integer.
std::optional<uint32_t> integer_in_range(dom::element value, uint32_t max) {
  int64_t number = 0;
  if (value.type() == dom::element_type::INT64 && !value.get_int64().get(number) && number >= 0 &&
      number <= max) {
    return static_cast<uint32_t>(number);
  }
  return std::nullopt;  // a UINT64 element is above INT64_MAX: out of range too
}

std::optional<double> rate_in_range(dom::element value) {
  double number = 0;
  const dom::element_type type = value.type();
  if (type != dom::element_type::INT64 && type != dom::element_type::UINT64 &&
      type != dom::element_type::DOUBLE) {
    return std::nullopt;
  }
  if (value.get_double().get(number) || !(number >= 0.0 && number <= 1.0)) return std::nullopt;
  return number + 0.0;  // -0 becomes 0
}

// Sets the field in `update` from `value`; the problem's message when its type or range is wrong.
std::string_view read_field(Field field, dom::element value, FaultUpdate& update) {
  switch (field) {
    case Field::enabled: {
      bool flag = false;
      if (value.type() != dom::element_type::BOOL || value.get_bool().get(flag)) {
        return kEnabledType;
      }
      update.enabled = flag;
      return {};
    }
    case Field::latency_ms:
      update.latency_ms = integer_in_range(value, kMaxFaultLatencyMs);
      return update.latency_ms ? std::string_view{} : kLatencyRange;
    case Field::jitter_ms:
      update.jitter_ms = integer_in_range(value, kMaxFaultJitterMs);
      return update.jitter_ms ? std::string_view{} : kJitterRange;
    case Field::success_rate:
      update.success_rate = rate_in_range(value);
      return update.success_rate ? std::string_view{} : kRateRange;
    case Field::error_rate:
      update.error_rate = rate_in_range(value);
      return update.error_rate ? std::string_view{} : kRateRange;
    case Field::slow_rate:
      update.slow_rate = rate_in_range(value);
      return update.slow_rate ? std::string_view{} : kRateRange;
    case Field::slow_latency_ms:
      update.slow_latency_ms = integer_in_range(value, kMaxFaultSlowLatencyMs);
      return update.slow_latency_ms ? std::string_view{} : kSlowLatencyRange;
    case Field::reset_rate:
      update.reset_rate = rate_in_range(value);
      return update.reset_rate ? std::string_view{} : kRateRange;
  }
  return kBodyNotJson;
}

void append_number(std::string& out, double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, ec == std::errc{} ? end : buffer);
}

void append_number(std::string& out, uint32_t value) {
  out += std::to_string(value);
}

template <typename T>
void append_member(std::string& out, std::string_view name, const std::optional<T>& value) {
  out += '"';
  out += name;
  out += "\":";
  if (value) {
    append_number(out, *value);
  } else {
    out += "null";
  }
}

// The members of fault_state_json, without the braces.
void append_state_members(std::string& out, const FaultState& state) {
  out += "\"enabled\":";
  out += state.enabled ? "true" : "false";
  out += ',';
  append_member(out, "latency_ms", state.latency_ms);
  out += ',';
  append_member(out, "jitter_ms", state.jitter_ms);
  out += ',';
  append_member(out, "success_rate", state.success_rate);
  out += ',';
  append_member(out, "error_rate", state.error_rate);
  out += ',';
  append_member(out, "slow_rate", state.slow_rate);
  out += ',';
  append_member(out, "slow_latency_ms", state.slow_latency_ms);
  out += ',';
  append_member(out, "reset_rate", state.reset_rate);
}

}  // namespace

FaultUpdateResult parse_fault_update(std::string_view json_body) {
  // The DOM parser validates the whole document (values, nesting, trailing content) up front.
  dom::parser parser;
  dom::element document;
  if (parser.parse(simdjson::padded_string(json_body)).get(document)) {
    return body_error(kBodyNotJson);
  }
  dom::object object;
  if (document.type() != dom::element_type::OBJECT || document.get_object().get(object)) {
    return body_error(kBodyNotObject);
  }

  FaultUpdateResult result;
  bool seen[std::size(kFieldNames)] = {};
  for (const dom::key_value_pair member : object) {
    const std::optional<Field> field = find_field(member.key);  // the key as unescaped
    if (!field) return {{}, FaultUpdateError{reported_key(member.key), kUnknownField}};
    const size_t index = static_cast<size_t>(*field);
    if (seen[index]) return field_error(*field, kKeyRepeated);
    seen[index] = true;
    const std::string_view problem = read_field(*field, member.value, result.update);
    if (!problem.empty()) return field_error(*field, problem);
  }
  return result;
}

std::string fault_state_json(const FaultState& state) {
  std::string out = "{";
  append_state_members(out, state);
  out += '}';
  return out;
}

std::string processor_parameters_json(const ProcessorParameters& parameters) {
  std::string out = "{";
  append_member(out, "latency_ms", std::optional(parameters.latency_ms));
  out += ',';
  append_member(out, "jitter_ms", std::optional(parameters.jitter_ms));
  out += ',';
  append_member(out, "success_rate", std::optional(parameters.success_rate));
  out += ',';
  append_member(out, "error_rate", std::optional(parameters.error_rate));
  out += ',';
  append_member(out, "slow_rate", std::optional(parameters.slow_rate));
  out += ',';
  append_member(out, "slow_latency_ms", std::optional(parameters.slow_latency_ms));
  out += ',';
  append_member(out, "reset_rate", std::optional(parameters.reset_rate));
  out += '}';
  return out;
}

std::string fault_injection_json(const FaultState& state, const ProcessorParameters& environment) {
  std::string out = "{\"fault_injection\":{";
  append_state_members(out, state);
  out += ",\"effective\":";
  out += processor_parameters_json(state.effective(environment));
  out += "}}";
  return out;
}

}  // namespace paystream::core
