#include "core/config.h"

#include <arpa/inet.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <variant>

#include "base/ascii.h"
#include "base/json_escape.h"

namespace paystream::core {
namespace {

struct IntRange {
  int64_t Config::*field;
  int64_t min;
  int64_t max;
};
struct RealRange {
  double Config::*field;
  double min;
  double max;
};
struct Flag {
  bool Config::*field;
};
enum class TextKind { ip_address, path, free_text, redis_url, http_url };
struct Text {
  std::string Config::*field;
  TextKind kind;
};
struct Level {};
struct Seed {};
struct Mode {};

using Target = std::variant<IntRange, RealRange, Flag, Text, Level, Seed, Mode>;

struct Variable {
  const char* name;
  Target target;
  const char* default_text;
  const char* accepted_text;
  const char* meaning;
};

constexpr int64_t kMaxMs = 3'600'000;

// One row per variable: the single source of parsing, defaults shown and --help.
const std::array kVariables = {
    Variable{"PORT", IntRange{&Config::port, 0, 65535}, "8080", "0-65535 (0: ephemeral)",
             "public listener port"},
    Variable{"BIND_ADDR", Text{&Config::bind_addr, TextKind::ip_address}, "0.0.0.0",
             "IPv4 or IPv6 address", "public listener address"},
    Variable{"ADMIN_PORT", IntRange{&Config::admin_port, 0, 65535}, "8081",
             "0-65535 (0: ephemeral)", "admin listener port (/metrics, /admin/*)"},
    Variable{"ADMIN_BIND_ADDR", Text{&Config::admin_bind_addr, TextKind::ip_address}, "127.0.0.1",
             "IPv4 or IPv6 address", "admin listener address; non-loopback needs ADMIN_TOKEN_FILE"},
    Variable{"ADMIN_TOKEN_FILE", Text{&Config::admin_token_file, TextKind::path}, "(unset)",
             "readable file path", "bearer token for /admin/* requests; re-read every second"},
    Variable{"ADMIN_ALLOW_UNAUTHENTICATED", Flag{&Config::admin_allow_unauthenticated}, "false",
             "true, false", "allow a non-loopback admin listener without a token"},
    Variable{"REACTORS", IntRange{&Config::reactors, 0, 256}, "0", "0-256 (0: usable CPUs)",
             "reactor threads, one listener each (SO_REUSEPORT)"},
    Variable{"MAX_CONNECTIONS", IntRange{&Config::max_connections, 1, 1'000'000}, "20000",
             "1-1000000", "open connections per reactor; beyond it new ones are closed"},
    Variable{"MAX_HEADER_BYTES", IntRange{&Config::max_header_bytes, 1024, 65536}, "8192",
             "1024-65536", "largest request head plus its chunk framing (431 beyond)"},
    Variable{"MAX_BODY_BYTES", IntRange{&Config::max_body_bytes, 1, 1'048'576}, "16384",
             "1-1048576", "largest request body (413 beyond)"},
    Variable{"HEADER_TIMEOUT_MS", IntRange{&Config::header_timeout_ms, 1, kMaxMs}, "5000",
             "1-3600000", "time to receive a request head (408 beyond)"},
    Variable{"BODY_TIMEOUT_MS", IntRange{&Config::body_timeout_ms, 1, kMaxMs}, "10000", "1-3600000",
             "time to receive a request body (408 beyond)"},
    Variable{"IDLE_TIMEOUT_MS", IntRange{&Config::idle_timeout_ms, 1, kMaxMs}, "60000", "1-3600000",
             "keep-alive connection idle time before close"},
    Variable{"WRITE_TIMEOUT_MS", IntRange{&Config::write_timeout_ms, 1, kMaxMs}, "10000",
             "1-3600000", "a response write making no progress this long closes the connection"},
    Variable{"DRAIN_DELAY_MS", IntRange{&Config::drain_delay_ms, 0, kMaxMs}, "0", "0-3600000",
             "after SIGTERM: wait before closing listeners (/readyz is 503 meanwhile)"},
    Variable{"DRAIN_TIMEOUT_MS", IntRange{&Config::drain_timeout_ms, 1, kMaxMs}, "10000",
             "1-3600000", "after the drain delay: time for in-flight requests to finish"},
    Variable{"LOG_LEVEL", Level{}, "info", "debug, info, warn, error", "least severe level logged"},
    Variable{"LOG_RATE_LIMIT", IntRange{&Config::log_rate_limit, 0, 1'000'000}, "20",
             "0-1000000 (0: no limit)",
             "request-path log lines a second per reactor and kind; the rest counted in one line"},
    Variable{"SERVICE_VERSION", Text{&Config::service_version, TextKind::free_text},
             "(compiled version)", "1-64 printable characters",
             "version reported in responses and metric labels"},
    Variable{"LATENCY_BASE_MS", IntRange{&Config::latency_base_ms, 0, 60000}, "200", "0-60000",
             "simulated processor latency"},
    Variable{"LATENCY_JITTER_MS", IntRange{&Config::latency_jitter_ms, 0, 10000}, "50", "0-10000",
             "uniform +/- jitter on the simulated processor latency"},
    Variable{"PROCESSOR_TIMEOUT_MS", IntRange{&Config::processor_timeout_ms, 1, 60000}, "2000",
             "1-60000", "processor deadline (504 beyond)"},
    Variable{"SUCCESS_RATE", RealRange{&Config::success_rate, 0.0, 1.0}, "0.94", "0-1",
             "probability that a processor answer is an approval"},
    Variable{"ERROR_RATE", RealRange{&Config::error_rate, 0.0, 1.0}, "0", "0-1",
             "probability that a processor call fails (502)"},
    Variable{"SLOW_RATE", RealRange{&Config::slow_rate, 0.0, 1.0}, "0", "0-1",
             "probability that a processor call is slow (SLOW_LATENCY_MS added)"},
    Variable{"SLOW_LATENCY_MS", IntRange{&Config::slow_latency_ms, 0, 60000}, "0", "0-60000",
             "latency added to a slow processor call"},
    Variable{"RANDOM_SEED", Seed{}, "(random)", "0-18446744073709551615",
             "seed of the simulated processor (reproducible runs)"},
    Variable{"PROCESSOR_API_KEY_FILE", Text{&Config::processor_api_key_file, TextKind::path},
             "(unset)", "readable file path",
             "processor credential, sent on every call; re-read every second"},
    Variable{"PROCESSOR_MODE", Mode{}, "simulated", "simulated, http",
             "simulated: an in-process simulation that approves nothing real; http: PROCESSOR_URL"},
    Variable{"PROCESSOR_URL", Text{&Config::processor_url, TextKind::http_url}, "(unset)",
             "http://HOST[:PORT][/PATH]", "the processor's authorize endpoint (http mode)"},
    Variable{"PROCESSOR_MAX_CONNECTIONS", IntRange{&Config::processor_max_connections, 1, 65536},
             "64", "1-65536", "processor connections per reactor (calls in flight per reactor)"},
    Variable{"PROCESSOR_MAX_QUEUE", IntRange{&Config::processor_max_queue, 0, 1'000'000}, "1024",
             "0-1000000", "calls per reactor waiting for a connection; beyond: 503 processor_busy"},
    Variable{"PROCESSOR_IDLE_TIMEOUT_MS", IntRange{&Config::processor_idle_timeout_ms, 1, kMaxMs},
             "30000", "1-3600000",
             "idle processor connection closed after this; keep below the processor's"},
    Variable{"PROCESSOR_RESOLVE_INTERVAL_MS",
             IntRange{&Config::processor_resolve_interval_ms, 1000, kMaxMs}, "30000",
             "1000-3600000", "how often the processor's name is resolved again"},
    Variable{"CB_FAILURE_THRESHOLD", IntRange{&Config::cb_failure_threshold, 1, 255}, "5", "1-255",
             "consecutive processor failures that open the breaker"},
    Variable{"CB_OPEN_TIMEOUT_MS", IntRange{&Config::cb_open_timeout_ms, 1, kMaxMs}, "30000",
             "1-3600000", "time the breaker stays open before a half-open probe"},
    Variable{"CB_HALF_OPEN_MAX_REQUESTS", IntRange{&Config::cb_half_open_max_requests, 1, 255}, "3",
             "1-255", "probes admitted half-open; that many successes close it"},
    Variable{"CB_INTERVAL_MS", IntRange{&Config::cb_interval_ms, 0, kMaxMs}, "60000",
             "0-3600000 (0: never)", "closed-state counts reset period"},
    Variable{"IDEMPOTENCY_TTL_S", IntRange{&Config::idempotency_ttl_s, 1, 604800}, "86400",
             "1-604800", "how long an idempotency key's answer is kept, from completion"},
    Variable{"IDEMPOTENCY_MAX_BYTES",
             IntRange{&Config::idempotency_max_bytes, 1 << 20, int64_t{16} << 30}, "33554432",
             "1048576-17179869184",
             "embedded idempotency store's memory; beyond it the oldest completed keys go"},
    Variable{"IDEMPOTENCY_REDIS_URL", Text{&Config::idempotency_redis_url, TextKind::redis_url},
             "(unset: embedded store, one replica only)", "redis://HOST:PORT",
             "shared idempotency store for many replicas"},
    Variable{"IDEMPOTENCY_REDIS_PASSWORD_FILE",
             Text{&Config::idempotency_redis_password_file, TextKind::path}, "(unset)",
             "readable file path", "Redis AUTH password; re-read at each reconnect"},
    Variable{"IDEMPOTENCY_HMAC_KEY_FILE", Text{&Config::idempotency_hmac_key_file, TextKind::path},
             "(unset: random per process)", "readable file path, 32+ bytes",
             "secret of the idempotency store's keys and fingerprints; required with Redis"},
    Variable{"IDEMPOTENCY_REDIS_TIMEOUT_MS",
             IntRange{&Config::idempotency_redis_timeout_ms, 1, 60000}, "250", "1-60000",
             "Redis connect and command deadline (503 beyond)"},
    Variable{"IDEMPOTENCY_REDIS_MAX_PENDING",
             IntRange{&Config::idempotency_redis_max_pending, 1, 1'000'000}, "1024", "1-1000000",
             "Redis commands in flight per reactor (503 beyond)"},
};

std::string range_message(const Variable& v) {
  return std::string(v.name) + " must be " + v.accepted_text;
}

bool parse_int(std::string_view text, int64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_real(std::string_view text, double& out) {
  // Plain decimal only: strtod would also take hex, "inf" and "nan".
  if (text.empty() || text.size() > 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(out);
}

bool is_ip_address(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool is_printable(std::string_view text) {
  for (char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Returns true when `value` was valid and stored.
bool apply(const Variable& v, std::string_view value, Config& config) {
  struct Visitor {
    std::string_view value;
    Config& config;
    bool operator()(const IntRange& r) const {
      int64_t n = 0;
      if (!parse_int(value, n) || n < r.min || n > r.max) return false;
      config.*r.field = n;
      return true;
    }
    bool operator()(const RealRange& r) const {
      double d = 0;
      if (!parse_real(value, d) || d < r.min || d > r.max) return false;
      config.*r.field = d;
      return true;
    }
    bool operator()(const Flag& f) const {
      if (value == "true") {
        config.*f.field = true;
      } else if (value == "false") {
        config.*f.field = false;
      } else {
        return false;
      }
      return true;
    }
    bool operator()(const Text& t) const {
      std::string text(value);
      switch (t.kind) {
        case TextKind::ip_address:
          if (!is_ip_address(text)) return false;
          break;
        case TextKind::path:
          if (text.empty() || text.find('\0') != std::string::npos) return false;
          break;
        case TextKind::free_text:
          if (text.empty() || text.size() > 64 || !is_printable(text)) return false;
          break;
        case TextKind::redis_url:
          if (!parse_redis_url(text)) return false;
          break;
        case TextKind::http_url:
          if (!parse_http_url(text)) return false;
          break;
      }
      config.*t.field = std::move(text);
      return true;
    }
    bool operator()(const Level&) const {
      const std::optional<LogLevel> level = base::parse_log_level(value);
      if (!level) return false;
      config.log_level = *level;
      return true;
    }
    bool operator()(const Mode&) const {
      if (value == "simulated") {
        config.processor_mode = ProcessorMode::simulated;
      } else if (value == "http") {
        config.processor_mode = ProcessorMode::http;
      } else {
        return false;
      }
      return true;
    }
    bool operator()(const Seed&) const {
      uint64_t seed = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seed);
      if (ec != std::errc() || ptr != value.data() + value.size()) return false;
      config.random_seed = seed;
      return true;
    }
  };
  return std::visit(Visitor{value, config}, v.target);
}

}  // namespace

ConfigResult load_config(const EnvLookup& lookup) {
  ConfigResult result;
  for (const Variable& v : kVariables) {
    const char* value = lookup(v.name);
    if (value == nullptr) continue;
    if (!apply(v, value, result.config)) {
      result.error = ConfigError{v.name, range_message(v)};
      return result;
    }
  }
  // Pods sharing a Redis must agree on the keys' HMAC: a random key per process would make
  // every pod see different keys.
  if (!result.config.idempotency_redis_url.empty() &&
      result.config.idempotency_hmac_key_file.empty()) {
    result.error = ConfigError{"IDEMPOTENCY_HMAC_KEY_FILE",
                               "IDEMPOTENCY_HMAC_KEY_FILE is required when IDEMPOTENCY_REDIS_URL "
                               "is set"};
  }
  // A service that cannot reach a processor must not start, rather than answer 502 to all.
  if (!result.error && result.config.processor_mode == ProcessorMode::http &&
      result.config.processor_url.empty()) {
    result.error =
        ConfigError{"PROCESSOR_URL", "PROCESSOR_URL is required when PROCESSOR_MODE is http"};
  }
  return result;
}

std::string config_help_text() {
  std::string text =
      "# paystream-authd configuration\n"
      "\n"
      "Usage: `paystream-authd [--help | --version]`\n"
      "\n"
      "PayStream payment-authorization service. Configuration comes from environment\n"
      "variables only; an invalid value stops start-up with exit code 2 and a message\n"
      "naming the variable and its accepted range.\n"
      "\n"
      "| Variable | Default | Accepted | Meaning |\n"
      "|---|---|---|---|\n";
  for (const Variable& v : kVariables) {
    text += "| `";
    text += v.name;
    text += "` | ";
    text += v.default_text;
    text += " | ";
    text += v.accepted_text;
    text += " | ";
    text += v.meaning;
    text += " |\n";
  }
  return text;
}

std::string config_json(const Config& config) {
  struct Visitor {
    const Config& config;
    std::string& out;
    void operator()(const IntRange& r) const {
      out += std::to_string(static_cast<uint64_t>(config.*r.field));
    }
    void operator()(const RealRange& r) const { out += std::to_string(config.*r.field); }
    void operator()(const Flag& f) const { out += config.*f.field ? "true" : "false"; }
    void operator()(const Text& t) const { base::append_json_string(out, config.*t.field); }
    void operator()(const Level&) const {
      base::append_json_string(out, base::log_level_name(config.log_level));
    }
    void operator()(const Mode&) const {
      base::append_json_string(out, processor_mode_name(config.processor_mode));
    }
    void operator()(const Seed&) const {
      out += config.random_seed ? std::to_string(*config.random_seed) : "null";
    }
  };
  std::string out = "{";
  for (const Variable& v : kVariables) {
    if (out.size() > 1) out += ',';
    base::append_json_string(out, v.name);
    out += ':';
    std::visit(Visitor{config, out}, v.target);
  }
  out += '}';
  return out;
}

std::vector<std::string_view> config_variable_names() {
  std::vector<std::string_view> names;
  for (const Variable& v : kVariables) names.emplace_back(v.name);
  return names;
}

namespace {

struct Authority {
  std::string_view host;  // brackets removed
  std::optional<uint16_t> port;
};

// HOST[:PORT] with HOST a DNS name, an IPv4 literal or a bracketed IPv6 literal.
std::optional<Authority> parse_authority(std::string_view text) {
  Authority authority;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    authority.host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    unsigned char buf[16];
    if (inet_pton(AF_INET6, std::string(authority.host).c_str(), buf) != 1) return std::nullopt;
  } else {
    const size_t colon = text.find(':');
    authority.host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
    // Letters, digits, '-' and '.' (no user, no '@').
    if (authority.host.empty() || authority.host.size() > 253) return std::nullopt;
    for (char c : authority.host) {
      if (!(base::is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
            c == '.')) {
        return std::nullopt;
      }
    }
  }
  if (rest.empty()) return authority;
  if (rest.size() < 2 || rest.front() != ':' || rest.size() > 6) return std::nullopt;
  int64_t port = 0;
  if (!parse_int(rest.substr(1), port) || port < 1 || port > 65535 || rest[1] == '+' ||
      rest[1] == '-') {
    return std::nullopt;
  }
  authority.port = static_cast<uint16_t>(port);
  return authority;
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  const std::optional<Authority> authority = parse_authority(url.substr(kScheme.size()));
  if (!authority || !authority->port) return std::nullopt;
  return RedisEndpoint{std::string(authority->host), *authority->port};
}

std::optional<HttpEndpoint> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() > 2048 || url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  const std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view authority_text = rest.substr(0, slash);
  const std::optional<Authority> authority = parse_authority(authority_text);
  if (!authority) return std::nullopt;
  HttpEndpoint endpoint;
  endpoint.host = std::string(authority->host);
  endpoint.port = authority->port.value_or(80);
  endpoint.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  // The request target goes on the wire as is: visible ASCII only, no fragment.
  for (char c : endpoint.target) {
    if (c <= ' ' || c > '~' || c == '#') return std::nullopt;
  }
  endpoint.host_header = std::string(authority_text);
  if (authority->port == 80) endpoint.host_header.resize(authority_text.rfind(':'));
  return endpoint;
}

std::string_view processor_mode_name(ProcessorMode mode) {
  return mode == ProcessorMode::http ? "http" : "simulated";
}

bool is_loopback_address(std::string_view address) {
  if (address == "localhost" || address == "::1") return true;
  std::string text(address);
  unsigned char buf[4];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 && buf[0] == 127;
}

}  // namespace paystream::core
