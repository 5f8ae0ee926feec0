#include "svc/processor_sim/sim_state.h"

#include <simdjson.h>

#include <charconv>

#include "base/json_escape.h"
#include "core/fault_state_json.h"

namespace paystream::svc::sim {
namespace {

void append_number(std::string& out, double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc() ? end : buffer);
}

void append_optional(std::string& out, const std::optional<double>& value) {
  if (value) {
    append_number(out, *value);
  } else {
    out += "null";
  }
}

}  // namespace

EffectiveFaults SimFaults::effective() const {
  EffectiveFaults e;
  e.parameters = publisher_.current().state.effective(environment_);
  e.garbage_rate = garbage_effective_.load(std::memory_order_relaxed);
  e.truncate_rate = truncate_effective_.load(std::memory_order_relaxed);
  return e;
}

void SimFaults::publish_extras() {
  const bool enabled = publisher_.current().state.enabled;
  garbage_effective_.store(enabled ? extras_.garbage_rate.value_or(0) : 0,
                           std::memory_order_relaxed);
  truncate_effective_.store(enabled ? extras_.truncate_rate.value_or(0) : 0,
                            std::memory_order_relaxed);
}

std::optional<SimFaults::UpdateError> SimFaults::update(std::string_view json_body) {
  namespace dom = simdjson::dom;
  dom::parser parser;
  dom::object object;
  if (parser.parse(json_body.data(), json_body.size()).get_object().get(object)) {
    return UpdateError{"", "body must be one JSON object"};
  }
  // The simulator's own members are taken out; the rest goes to the service's parser.
  SimFaultExtras extras;
  std::string rest = "{";
  for (dom::key_value_pair field : object) {
    std::optional<double>* extra = field.key == "garbage_rate"    ? &extras.garbage_rate
                                   : field.key == "truncate_rate" ? &extras.truncate_rate
                                                                  : nullptr;
    if (extra == nullptr) {
      if (rest.size() > 1) rest += ',';
      base::append_json_string(rest, field.key);
      rest += ':';
      rest += simdjson::to_string(field.value);
      continue;
    }
    double value = 0;
    if (extra->has_value()) return UpdateError{std::string(field.key), "appears more than once"};
    if (field.value.is_bool() || field.value.get_double().get(value) ||
        !(value >= 0 && value <= 1)) {
      return UpdateError{std::string(field.key), "must be a number from 0 to 1"};
    }
    *extra = value + 0.0;
  }
  rest += '}';
  core::FaultUpdateResult parsed = core::parse_fault_update(rest);
  if (parsed.error) {
    return UpdateError{parsed.error->field, std::string(parsed.error->message)};
  }
  std::lock_guard lock(mutex_);
  publisher_.apply(parsed.update);
  if (extras.garbage_rate) extras_.garbage_rate = extras.garbage_rate;
  if (extras.truncate_rate) extras_.truncate_rate = extras.truncate_rate;
  publish_extras();
  return std::nullopt;
}

void SimFaults::reset() {
  std::lock_guard lock(mutex_);
  publisher_.reset();
  extras_ = {};
  publish_extras();
}

std::string SimFaults::json() const {
  std::lock_guard lock(mutex_);
  const core::FaultState state = publisher_.current().state;
  std::string out = core::fault_state_json(state);
  out.pop_back();
  out += ",\"garbage_rate\":";
  append_optional(out, extras_.garbage_rate);
  out += ",\"truncate_rate\":";
  append_optional(out, extras_.truncate_rate);
  std::string effective = core::processor_parameters_json(state.effective(environment_));
  effective.pop_back();
  out += ",\"effective\":" + effective + ",\"garbage_rate\":";
  append_number(out, state.enabled ? extras_.garbage_rate.value_or(0) : 0);
  out += ",\"truncate_rate\":";
  append_number(out, state.enabled ? extras_.truncate_rate.value_or(0) : 0);
  out += "}}";
  return out;
}

namespace {

struct Counter {
  const char* name;
  const char* help;
  uint64_t value;
  bool gauge;
};

}  // namespace

std::string SimShared::stats_json() const {
  const auto get = [](const std::atomic<uint64_t>& c) {
    return std::to_string(c.load(std::memory_order_relaxed));
  };
  return "{\"requests\":" + get(stats.requests) + ",\"executed\":" + get(stats.executed) +
         ",\"duplicates\":" + get(stats.duplicates) +
         ",\"in_flight_duplicates\":" + get(stats.in_flight_duplicates) +
         ",\"approved\":" + get(stats.approved) + ",\"declined\":" + get(stats.declined) +
         ",\"errors\":" + get(stats.errors) + ",\"keys\":" + std::to_string(dedupe.keys()) +
         ",\"evictions\":" + std::to_string(dedupe.evictions()) +
         ",\"rejected\":" + get(stats.rejected) + "}";
}

std::string SimShared::metrics_text() const {
  const auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  const Counter counters[] = {
      {"processor_sim_requests_total", "POSTs to the contract path", get(stats.requests), false},
      {"processor_sim_executed_total", "Distinct keys decided", get(stats.executed), false},
      {"processor_sim_duplicates_total", "Requests answered from the dedupe store",
       get(stats.duplicates), false},
      {"processor_sim_in_flight_duplicates_total",
       "Duplicates that arrived while their key was being decided", get(stats.in_flight_duplicates),
       false},
      {"processor_sim_approved_total", "Approved decisions", get(stats.approved), false},
      {"processor_sim_declined_total", "Declined decisions", get(stats.declined), false},
      {"processor_sim_errors_total", "500, garbage, reset or cut answers", get(stats.errors),
       false},
      {"processor_sim_rejected_total", "Requests refused with 400, 401 or 422", get(stats.rejected),
       false},
      {"processor_sim_dedupe_keys", "Keys in the dedupe store", dedupe.keys(), true},
      {"processor_sim_dedupe_evictions_total", "Keys evicted before their TTL", dedupe.evictions(),
       false},
  };
  std::string out;
  for (const Counter& c : counters) {
    out += std::string("# HELP ") + c.name + " " + c.help + "\n# TYPE " + c.name +
           (c.gauge ? " gauge\n" : " counter\n") + c.name + " " + std::to_string(c.value) + "\n";
  }
  return out;
}

}  // namespace paystream::svc::sim
