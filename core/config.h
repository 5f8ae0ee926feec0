#pragma once
// The service's whole configuration, read from environment variables only.
// Pure logic: the caller supplies the lookup, so tests need no real environment.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log_level.h"

namespace paystream::core {

using base::LogLevel;

// Where authorizations go: the in-process simulation (the development default) or a
// processor over HTTP (PROCESSOR_URL).
enum class ProcessorMode : uint8_t { simulated, http };
std::string_view processor_mode_name(ProcessorMode mode);

struct Config {
  // Listeners
  int64_t port = 8080;
  std::string bind_addr = "0.0.0.0";
  int64_t admin_port = 8081;
  std::string admin_bind_addr = "127.0.0.1";
  std::string admin_token_file;  // empty: no admin authentication
  bool admin_allow_unauthenticated = false;
  // Reactors and HTTP limits
  int64_t reactors = 0;  // 0: one per CPU this process may use
  int64_t max_connections = 20000;
  int64_t max_header_bytes = 8192;
  int64_t max_body_bytes = 16384;
  int64_t header_timeout_ms = 5000;
  int64_t body_timeout_ms = 10000;
  int64_t idle_timeout_ms = 60000;
  int64_t write_timeout_ms = 10000;
  int64_t drain_delay_ms = 0;
  int64_t drain_timeout_ms = 10000;
  LogLevel log_level = LogLevel::info;
  int64_t log_rate_limit = 20;  // request-path lines a second per reactor and kind; 0: no limit
  // Service
  std::string service_version;  // empty: the compiled version
  int64_t latency_base_ms = 200;
  int64_t latency_jitter_ms = 50;
  int64_t processor_timeout_ms = 2000;
  double success_rate = 0.94;
  double error_rate = 0.0;
  double slow_rate = 0.0;
  int64_t slow_latency_ms = 0;
  std::optional<uint64_t> random_seed;  // absent: seeded from RAND_bytes
  std::string processor_api_key_file;
  ProcessorMode processor_mode = ProcessorMode::simulated;
  std::string processor_url;               // http mode: required
  int64_t processor_max_connections = 64;  // per reactor
  int64_t processor_max_queue = 1024;      // per reactor: calls waiting for a connection
  int64_t processor_idle_timeout_ms = 30000;
  int64_t processor_resolve_interval_ms = 30000;
  // Circuit breaker
  int64_t cb_failure_threshold = 5;
  int64_t cb_open_timeout_ms = 30000;
  int64_t cb_half_open_max_requests = 3;
  int64_t cb_interval_ms = 60000;
  // Idempotency keys
  int64_t idempotency_ttl_s = 86400;
  int64_t idempotency_max_bytes = 32 * 1024 * 1024;
  std::string idempotency_redis_url;  // empty: the embedded store
  std::string idempotency_redis_password_file;
  std::string idempotency_hmac_key_file;  // empty: a random key per process (embedded only)
  int64_t idempotency_redis_timeout_ms = 250;
  int64_t idempotency_redis_max_pending = 1024;
};

// IDEMPOTENCY_REDIS_URL, parsed: `redis://HOST:PORT` with HOST a DNS name, an IPv4
// address or a bracketed IPv6 address; no user, password, database or query.
struct RedisEndpoint {
  std::string host;  // brackets removed
  uint16_t port = 6379;
};
std::optional<RedisEndpoint> parse_redis_url(std::string_view url);

// PROCESSOR_URL, parsed: `http://HOST[:PORT][/PATH]` with HOST a DNS name, an IPv4 address
// or a bracketed IPv6 address; no user, password or fragment. The path defaults to "/" and
// may carry a query. No https: the mesh encrypts the link (docs/egress.md).
struct HttpEndpoint {
  std::string host;  // brackets removed
  uint16_t port = 80;
  std::string target;       // path and query, from the first '/'
  std::string host_header;  // the Host header: host as written, with the port unless 80
};
std::optional<HttpEndpoint> parse_http_url(std::string_view url);

struct ConfigError {
  std::string variable;
  std::string message;  // names the variable and its accepted range
};

struct ConfigResult {
  Config config;
  std::optional<ConfigError> error;  // the first invalid variable, if any
};

using EnvLookup = std::function<const char*(const char* name)>;

ConfigResult load_config(const EnvLookup& lookup);

// The `--help` text: every variable with its default and accepted range.
// docs/config.md is this text, checked by a test.
std::string config_help_text();

// The configuration in force as one JSON object, a member per variable in the
// table's order (file paths shown, never a file's content). /admin/state shows it.
std::string config_json(const Config& config);

// Every variable's name, in the order of --help and config_json.
std::vector<std::string_view> config_variable_names();

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_address(std::string_view address);

}  // namespace paystream::core
