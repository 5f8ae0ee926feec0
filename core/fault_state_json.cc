#include "core/fault_state_json.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <type_traits>

#include "core/json_body_errors.h"

namespace paystream::core {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kUnknownField = "is not a fault injection field";
constexpr std::string_view kEnabledType = "must be true or false";
constexpr std::string_view kLatencyRange = "must be an integer from 0 to 60000";
constexpr std::string_view kJitterRange = "must be an integer from 0 to 10000";
constexpr std::string_view kRateRange = "must be a number from 0 to 1";
static_assert(kMaxFaultLatencyMs == 60'000 && kMaxFaultSlowLatencyMs == 60'000 &&
              kMaxFaultJitterMs == 10'000);  // the messages above state them

constexpr std::string_view kEnabled = "enabled";
// enabled and each parameter of for_each_fault_parameter.
constexpr size_t kFieldCount = [] {
  size_t count = 1;
  for_each_fault_parameter([&](auto...) { ++count; });
  return count;
}();

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

FaultUpdateResult field_error(std::string_view field, std::string_view message) {
  return {{}, FaultUpdateError{std::string(field), message}};
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

// A field of the body as read: its index among the fields (for repeats), its name, and the
// problem's message when its value's type or range is wrong (empty when it was set).
struct FieldRead {
  size_t index = 0;
  std::string_view name;
  std::string_view problem;
};

// Sets the field `key` names in `update` from `value`; nullopt when `key` names no field.
std::optional<FieldRead> read_field(std::string_view key, dom::element value, FaultUpdate& update) {
  if (key == kEnabled) {
    bool flag = false;
    if (value.type() != dom::element_type::BOOL || value.get_bool().get(flag)) {
      return FieldRead{0, kEnabled, kEnabledType};
    }
    update.enabled = flag;
    return FieldRead{0, kEnabled, {}};
  }
  std::optional<FieldRead> read;
  size_t index = 0;
  for_each_fault_parameter([&](std::string_view name, auto, auto member, auto, auto range) {
    ++index;
    if (read || key != name) return;
    auto& slot = update.*member;
    if constexpr (std::is_same_v<decltype(range), RateRange>) {
      slot = rate_in_range(value);
      read = FieldRead{index, name, slot ? std::string_view{} : kRateRange};
    } else {
      slot = integer_in_range(value, range);
      const std::string_view problem = range == kMaxFaultJitterMs ? kJitterRange : kLatencyRange;
      read = FieldRead{index, name, slot ? std::string_view{} : problem};
    }
  });
  return read;
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
  for_each_fault_parameter([&](std::string_view name, auto, auto, auto member, auto) {
    out += ',';
    append_member(out, name, state.*member);
  });
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
  bool seen[kFieldCount] = {};
  for (const dom::key_value_pair member : object) {
    // The key as unescaped.
    const std::optional<FieldRead> field = read_field(member.key, member.value, result.update);
    if (!field) return {{}, FaultUpdateError{reported_key(member.key), kUnknownField}};
    if (seen[field->index]) return field_error(field->name, kKeyRepeated);
    seen[field->index] = true;
    if (!field->problem.empty()) return field_error(field->name, field->problem);
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
  for_each_fault_parameter([&](std::string_view name, auto member, auto, auto, auto) {
    if (out.size() > 1) out += ',';
    append_member(out, name, std::optional(parameters.*member));
  });
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
