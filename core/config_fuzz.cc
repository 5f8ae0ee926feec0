// libFuzzer target: the configuration parser (load_config) and the configuration JSON that
// /admin/state shows. The input is an environment: lines of NAME=value (the first occurrence
// of a name wins, as with getenv; a value ends at a NUL byte, as in a real environment).
//
// Invariants: an error names a variable that was set, with a message that names it and its
// accepted range; an accepted configuration is written by config_json as a JSON
// object with every variable in order, and that JSON, given back as an environment, loads
// without error into a configuration whose JSON holds the same values.

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace {

using namespace paystream::core;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "config_fuzz: invariant violated: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) violated(what);
}

using Environment = std::map<std::string, std::string, std::less<>>;

Environment parse_environment(std::string_view input) {
  Environment env;
  while (!input.empty()) {
    const size_t eol = input.find('\n');
    const std::string_view line = input.substr(0, eol);
    input = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string value(line.substr(equals + 1));
    value.resize(std::char_traits<char>::length(value.c_str()));  // up to a NUL byte
    env.emplace(std::string(line.substr(0, equals)), std::move(value));
  }
  return env;
}

ConfigResult load(const Environment& env) {
  return load_config([&env](const char* name) -> const char* {
    const auto it = env.find(std::string_view(name));
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// config_json read back into an environment: every member as the text a variable would hold
// (a JSON string unescaped, anything else as written); null and "" are left unset.
Environment environment_from_json(const std::string& json) {
  static simdjson::dom::parser dom;
  simdjson::dom::element document;
  check(!dom.parse(simdjson::padded_string(json)).get(document), "config_json is not valid JSON");
  simdjson::dom::object object;
  check(!document.get_object().get(object), "config_json is not an object");
  const std::vector<std::string_view> names = config_variable_names();
  Environment env;
  size_t index = 0;
  for (const simdjson::dom::key_value_pair member : object) {
    check(index < names.size() && member.key == names[index], "config_json members out of order");
    ++index;
    std::string_view text;
    if (member.value.is_null()) continue;
    if (member.value.is_string()) {
      text = member.value.get_string().value_unsafe();
      if (text.empty()) continue;
      env.emplace(std::string(member.key), std::string(text));
    } else if (member.value.type() == simdjson::dom::element_type::DOUBLE) {
      // As config_json wrote it (std::to_string: six decimals), not simdjson's shortest form
      // ("1e-05"), which no rate variable accepts.
      env.emplace(std::string(member.key),
                  std::to_string(member.value.get_double().value_unsafe()));
    } else {
      env.emplace(std::string(member.key), simdjson::minify(member.value));
    }
  }
  check(index == names.size(), "config_json misses variables");
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Environment env =
      parse_environment(std::string_view(reinterpret_cast<const char*>(data), size));
  const ConfigResult result = load(env);
  if (result.error) {
    const ConfigError& error = *result.error;
    const auto it = env.find(error.variable);
    check(it != env.end(), "error names a variable that was not set");
    check(error.message.starts_with(error.variable + " must be ") &&
              error.message.size() > error.variable.size() + 9,
          "error message does not name the variable and its range");
    return 0;
  }

  const std::string json = config_json(result.config);
  const Environment again = environment_from_json(json);
  const ConfigResult reloaded = load(again);
  check(!reloaded.error, "config_json's values are refused as an environment");
  // Compared as values: text that is not UTF-8 is shown with U+FFFD, written as an escape
  // the first time and as itself after the round trip.
  if (const std::string json_again = config_json(reloaded.config);
      environment_from_json(json_again) != again) {
    std::fprintf(stderr, "before: %s\nafter:  %s\n", json.c_str(), json_again.c_str());
    violated("the configuration does not survive its JSON");
  }
  return 0;
}
