#include "svc/processor_sim/sim_options.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace paystream::svc::sim {
namespace {

enum class Kind { text, path, port, count, millis, rate, flag_seed };

struct Flag {
  std::string_view name;  // without "--"
  Kind kind;
  uint64_t min;
  uint64_t max;
  std::string_view help;
};

// The one list --help, parsing and the environment names walk.
constexpr Flag kFlags[] = {
    {"bind", Kind::text, 0, 0, "address of the public listener (default 0.0.0.0)"},
    {"port", Kind::port, 0, 65535, "public port (default 9090; 0: ephemeral)"},
    {"admin-bind", Kind::text, 0, 0, "address of the admin listener (default 127.0.0.1)"},
    {"admin-port", Kind::port, 0, 65535, "admin port (default 9091; 0: ephemeral)"},
    {"path", Kind::path, 0, 0, "path of POST authorizations (default /v1/authorizations)"},
    {"reactors", Kind::count, 1, 256, "event-loop threads sharing the port (default 1)"},
    {"latency-ms", Kind::millis, 0, 60000, "base latency of an answer (default 50)"},
    {"jitter-ms", Kind::millis, 0, 10000, "uniform jitter around the base, +- (default 10)"},
    {"success-rate", Kind::rate, 0, 0, "P(approved) when no error (default 0.94)"},
    {"error-rate", Kind::rate, 0, 0, "P(500 processor_error) (default 0)"},
    {"slow-rate", Kind::rate, 0, 0, "P(a call is slow) (default 0)"},
    {"slow-latency-ms", Kind::millis, 0, 60000, "added to a slow call (default 0)"},
    {"api-key-file", Kind::text, 0, 0,
     "file holding the key callers send as 'Authorization: Bearer <key>', re-read every "
     "second (default unset: no key checked)"},
    {"dedupe-ttl-s", Kind::count, 1, 10'000'000, "how long a key is remembered (default 86400)"},
    {"dedupe-max-keys", Kind::count, 1, 100'000'000,
     "keys remembered at most; beyond, the oldest are evicted (default 1000000)"},
    {"idle-timeout-ms", Kind::count, 1, 3'600'000,
     "an idle keep-alive connection is closed after this (default 60000)"},
    {"max-connections", Kind::count, 1, 1'000'000, "open connections at most (default 20000)"},
    {"seed", Kind::flag_seed, 0, UINT64_MAX,
     "seed of the answers' random draws (default: drawn at start-up)"},
};

std::string env_name(std::string_view flag) {
  std::string name = "SIM_";
  for (char c : flag)
    name += c == '-' ? '_' : static_cast<char>(c - ('a' <= c && c <= 'z' ? 32 : 0));
  return name;
}

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parse_rate(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if (!std::isfinite(value) || value < 0 || value > 1) return std::nullopt;
  return value;
}

// Sets one option from its text; an error message, or empty.
std::string apply(const Flag& flag, std::string_view value, SimOptions& o) {
  const std::string where = "--" + std::string(flag.name) + " (" + env_name(flag.name) + ")";
  if (flag.kind == Kind::text || flag.kind == Kind::path) {
    if (value.empty()) return where + ": must not be empty";
    if (flag.kind == Kind::path && value.front() != '/') return where + ": must start with /";
    std::string text(value);
    if (flag.name == "bind") o.bind = text;
    if (flag.name == "admin-bind") o.admin_bind = text;
    if (flag.name == "path") o.path = text;
    if (flag.name == "api-key-file") o.api_key_file = text;
    return "";
  }
  if (flag.kind == Kind::rate) {
    const std::optional<double> rate = parse_rate(value);
    if (!rate) return where + ": must be a number from 0 to 1";
    if (flag.name == "success-rate") o.success_rate = *rate;
    if (flag.name == "error-rate") o.error_rate = *rate;
    if (flag.name == "slow-rate") o.slow_rate = *rate;
    return "";
  }
  const std::optional<uint64_t> n = parse_unsigned(value);
  if (!n || *n < flag.min || *n > flag.max) {
    return where + ": must be an integer from " + std::to_string(flag.min) + " to " +
           std::to_string(flag.max);
  }
  const std::string_view name = flag.name;
  if (name == "port") o.port = static_cast<int>(*n);
  if (name == "admin-port") o.admin_port = static_cast<int>(*n);
  if (name == "reactors") o.reactors = static_cast<uint32_t>(*n);
  if (name == "latency-ms") o.latency_ms = static_cast<uint32_t>(*n);
  if (name == "jitter-ms") o.jitter_ms = static_cast<uint32_t>(*n);
  if (name == "slow-latency-ms") o.slow_latency_ms = static_cast<uint32_t>(*n);
  if (name == "dedupe-ttl-s") o.dedupe_ttl_s = *n;
  if (name == "dedupe-max-keys") o.dedupe_max_keys = *n;
  if (name == "idle-timeout-ms") o.idle_timeout_ms = *n;
  if (name == "max-connections") o.max_connections = *n;
  if (name == "seed") o.seed = *n;
  return "";
}

const Flag* find_flag(std::string_view name) {
  for (const Flag& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

}  // namespace

SimOptionsResult parse_sim_options(const std::vector<std::string>& args,
                                   const std::function<const char*(const char*)>& getenv) {
  SimOptionsResult result;
  for (const Flag& flag : kFlags) {
    const std::string name = env_name(flag.name);
    if (const char* value = getenv(name.c_str()); value != nullptr) {
      result.error = apply(flag, value, result.options);
      if (!result.error.empty()) return result;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.options.help = true;
      continue;
    }
    if (arg == "--version") {
      result.options.version = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      result.error = "unexpected argument (flags are --name value or --name=value)";
      return result;
    }
    arg.remove_prefix(2);
    std::string_view value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = find_flag(arg);
    if (flag == nullptr) {
      result.error = "unknown flag --" + std::string(arg) + " (see --help)";
      return result;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        result.error = "--" + std::string(arg) + " needs a value";
        return result;
      }
      value = args[++i];
    }
    result.error = apply(*flag, value, result.options);
    if (!result.error.empty()) return result;
  }
  return result;
}

std::string sim_help_text() {
  std::string text =
      "usage: paystream-processor-sim [--flag value | --flag=value]...\n"
      "\n"
      "A simulated card processor speaking the PayStream processor contract (docs/api.md):\n"
      "POST <path> with an Idempotency-Key, answered approved or declined after a simulated\n"
      "latency, deduplicated by key. Admin port: GET/PUT/DELETE /admin/faults, GET /admin/stats,\n"
      "GET /metrics. Public port: also GET /livez and /readyz. See docs/processor-sim.md.\n"
      "\n"
      "Each flag can also be set as the environment variable shown; the flag wins.\n\n";
  for (const Flag& flag : kFlags) {
    std::string line = "  --" + std::string(flag.name) + "  [" + env_name(flag.name) + "]";
    text += line + "\n      " + std::string(flag.help) + "\n";
  }
  text += "  --version\n      prints \"paystream-processor-sim <version> (revision <revision>)\"\n";
  text += "  --help\n      this text\n";
  return text;
}

}  // namespace paystream::svc::sim
