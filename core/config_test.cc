#include "core/config.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <map>
#include <sstream>
#include <string>

namespace paystream::core {
namespace {

ConfigResult load(const std::map<std::string, std::string>& env) {
  return load_config([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(Config, DefaultsWhenNothingIsSet) {
  ConfigResult r = load({});
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.config.port, 8080);
  EXPECT_EQ(r.config.admin_port, 8081);
  EXPECT_EQ(r.config.admin_bind_addr, "127.0.0.1");
  EXPECT_EQ(r.config.max_header_bytes, 8192);
  EXPECT_EQ(r.config.log_level, LogLevel::info);
  EXPECT_FALSE(r.config.random_seed);
}

TEST(Config, ParsesEveryKind) {
  ConfigResult r = load({{"PORT", "0"},
                         {"BIND_ADDR", "::1"},
                         {"ADMIN_ALLOW_UNAUTHENTICATED", "true"},
                         {"SUCCESS_RATE", "0.5"},
                         {"SLOW_RATE", "0.005"},
                         {"SLOW_LATENCY_MS", "200"},
                         {"LOG_LEVEL", "debug"},
                         {"LOG_RATE_LIMIT", "0"},
                         {"RANDOM_SEED", "18446744073709551615"},
                         {"SERVICE_VERSION", "1.2.3-canary"},
                         {"ADMIN_TOKEN_FILE", "/var/run/secrets/admin-token"}});
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.config.port, 0);
  EXPECT_EQ(r.config.bind_addr, "::1");
  EXPECT_TRUE(r.config.admin_allow_unauthenticated);
  EXPECT_DOUBLE_EQ(r.config.success_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.config.slow_rate, 0.005);
  EXPECT_EQ(r.config.slow_latency_ms, 200);
  EXPECT_EQ(r.config.log_level, LogLevel::debug);
  EXPECT_EQ(r.config.log_rate_limit, 0);
  EXPECT_EQ(r.config.random_seed, 18446744073709551615ULL);
  EXPECT_EQ(r.config.service_version, "1.2.3-canary");
  EXPECT_EQ(r.config.admin_token_file, "/var/run/secrets/admin-token");
}

struct BadValue {
  const char* name;
  const char* value;
};

class ConfigRejects : public ::testing::TestWithParam<BadValue> {};

TEST_P(ConfigRejects, NamesTheVariableAndItsRange) {
  ConfigResult r = load({{GetParam().name, GetParam().value}});
  ASSERT_TRUE(r.error) << GetParam().name << "=" << GetParam().value;
  EXPECT_EQ(r.error->variable, GetParam().name);
  EXPECT_NE(r.error->message.find(GetParam().name), std::string::npos);
  EXPECT_NE(r.error->message.find("must be"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Values, ConfigRejects,
    ::testing::Values(
        BadValue{"PORT", "65536"}, BadValue{"PORT", "-1"}, BadValue{"PORT", "80x"},
        BadValue{"PORT", ""}, BadValue{"PORT", " 80"}, BadValue{"REACTORS", "257"},
        BadValue{"SUCCESS_RATE", "1.01"}, BadValue{"SUCCESS_RATE", "nan"},
        BadValue{"SUCCESS_RATE", "-0.1"}, BadValue{"ERROR_RATE", "1e-3"},
        BadValue{"SLOW_RATE", "1.5"}, BadValue{"SLOW_LATENCY_MS", "60001"},
        BadValue{"LOG_LEVEL", "verbose"}, BadValue{"LOG_RATE_LIMIT", "-1"},
        BadValue{"BIND_ADDR", "example.com"}, BadValue{"ADMIN_ALLOW_UNAUTHENTICATED", "yes"},
        BadValue{"CB_FAILURE_THRESHOLD", "0"}, BadValue{"CB_HALF_OPEN_MAX_REQUESTS", "256"},
        BadValue{"CB_OPEN_TIMEOUT_MS", "3600001"}, BadValue{"RANDOM_SEED", "-5"},
        BadValue{"SERVICE_VERSION", "has space"}, BadValue{"ADMIN_TOKEN_FILE", ""},
        BadValue{"MAX_HEADER_BYTES", "100"}, BadValue{"IDEMPOTENCY_TTL_S", "0"},
        BadValue{"IDEMPOTENCY_MAX_BYTES", "1000"},
        BadValue{"IDEMPOTENCY_REDIS_URL", "redis://user:pw@host:6379"},
        BadValue{"IDEMPOTENCY_REDIS_URL", "rediss://host:6379"},
        BadValue{"IDEMPOTENCY_REDIS_TIMEOUT_MS", "0"},
        BadValue{"IDEMPOTENCY_REDIS_MAX_PENDING", "0"}, BadValue{"PROCESSOR_MODE", "live"},
        BadValue{"PROCESSOR_MODE", "HTTP"}, BadValue{"PROCESSOR_URL", "https://processor:443/v1"},
        BadValue{"PROCESSOR_URL", "http://user@processor/v1"},
        BadValue{"PROCESSOR_MAX_CONNECTIONS", "0"}, BadValue{"PROCESSOR_MAX_QUEUE", "-1"},
        BadValue{"PROCESSOR_IDLE_TIMEOUT_MS", "0"},
        BadValue{"PROCESSOR_RESOLVE_INTERVAL_MS", "999"}));

// The defaults --help shows must be the defaults the code uses.
TEST(Config, HelpDefaultsParseToTheBuiltInDefaults) {
  const Config defaults;
  std::istringstream lines(config_help_text());
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    ++rows;
    size_t name_end = line.find('`', 3);
    std::string name = line.substr(3, name_end - 3);
    size_t def_start = line.find("| ", name_end) + 2;
    std::string def = line.substr(def_start, line.find(" |", def_start) - def_start);
    if (def.front() == '(') continue;  // unset or derived at run time
    ConfigResult r = load({{name, def}});
    ASSERT_FALSE(r.error) << name << " default " << def << " is outside its own range";
    Config with_default = r.config;
    // Re-loading the shown default must change nothing.
    EXPECT_EQ(with_default.port, defaults.port) << name;
    EXPECT_EQ(with_default.bind_addr, defaults.bind_addr) << name;
    EXPECT_EQ(with_default.admin_port, defaults.admin_port) << name;
    EXPECT_EQ(with_default.admin_bind_addr, defaults.admin_bind_addr) << name;
    EXPECT_EQ(with_default.admin_allow_unauthenticated, defaults.admin_allow_unauthenticated);
    EXPECT_EQ(with_default.reactors, defaults.reactors) << name;
    EXPECT_EQ(with_default.max_connections, defaults.max_connections) << name;
    EXPECT_EQ(with_default.max_header_bytes, defaults.max_header_bytes) << name;
    EXPECT_EQ(with_default.max_body_bytes, defaults.max_body_bytes) << name;
    EXPECT_EQ(with_default.header_timeout_ms, defaults.header_timeout_ms) << name;
    EXPECT_EQ(with_default.body_timeout_ms, defaults.body_timeout_ms) << name;
    EXPECT_EQ(with_default.idle_timeout_ms, defaults.idle_timeout_ms) << name;
    EXPECT_EQ(with_default.write_timeout_ms, defaults.write_timeout_ms) << name;
    EXPECT_EQ(with_default.drain_delay_ms, defaults.drain_delay_ms) << name;
    EXPECT_EQ(with_default.drain_timeout_ms, defaults.drain_timeout_ms) << name;
    EXPECT_EQ(with_default.log_level, defaults.log_level) << name;
    EXPECT_EQ(with_default.log_rate_limit, defaults.log_rate_limit) << name;
    EXPECT_EQ(with_default.latency_base_ms, defaults.latency_base_ms) << name;
    EXPECT_EQ(with_default.latency_jitter_ms, defaults.latency_jitter_ms) << name;
    EXPECT_EQ(with_default.processor_timeout_ms, defaults.processor_timeout_ms) << name;
    EXPECT_DOUBLE_EQ(with_default.success_rate, defaults.success_rate) << name;
    EXPECT_DOUBLE_EQ(with_default.error_rate, defaults.error_rate) << name;
    EXPECT_DOUBLE_EQ(with_default.slow_rate, defaults.slow_rate) << name;
    EXPECT_EQ(with_default.slow_latency_ms, defaults.slow_latency_ms) << name;
    EXPECT_EQ(with_default.cb_failure_threshold, defaults.cb_failure_threshold) << name;
    EXPECT_EQ(with_default.cb_open_timeout_ms, defaults.cb_open_timeout_ms) << name;
    EXPECT_EQ(with_default.cb_half_open_max_requests, defaults.cb_half_open_max_requests);
    EXPECT_EQ(with_default.cb_interval_ms, defaults.cb_interval_ms) << name;
    EXPECT_EQ(with_default.idempotency_ttl_s, defaults.idempotency_ttl_s) << name;
    EXPECT_EQ(with_default.idempotency_max_bytes, defaults.idempotency_max_bytes) << name;
    EXPECT_EQ(with_default.idempotency_redis_timeout_ms, defaults.idempotency_redis_timeout_ms);
    EXPECT_EQ(with_default.idempotency_redis_max_pending, defaults.idempotency_redis_max_pending);
    EXPECT_EQ(with_default.processor_mode, defaults.processor_mode) << name;
    EXPECT_EQ(with_default.processor_max_connections, defaults.processor_max_connections);
    EXPECT_EQ(with_default.processor_max_queue, defaults.processor_max_queue) << name;
    EXPECT_EQ(with_default.processor_idle_timeout_ms, defaults.processor_idle_timeout_ms);
    EXPECT_EQ(with_default.processor_resolve_interval_ms, defaults.processor_resolve_interval_ms);
  }
  EXPECT_EQ(rows, 45);
}

TEST(Config, RedisUrl) {
  const auto name = parse_redis_url("redis://redis.paystream-data.svc.cluster.local:6380");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "redis.paystream-data.svc.cluster.local");
  EXPECT_EQ(name->port, 6380);
  const auto v4 = parse_redis_url("redis://127.0.0.1:6379");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  const auto v6 = parse_redis_url("redis://[::1]:1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 1);
  for (const char* bad :
       {"", "redis://", "redis://host", "redis://host:", "redis://host:0", "redis://host:65536",
        "redis://host:+80", "redis://host:80/0", "redis://:pw@host:80", "redis://u@host:80",
        "redis://[::1:80", "redis://[not-v6]:80", "http://host:80", "redis://ho st:80",
        "REDIS://host:80", "redis://host:123456"}) {
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
  }
}

TEST(Config, RedisNeedsAnHmacKeyShared) {
  ConfigResult without = load({{"IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379"}});
  ASSERT_TRUE(without.error);
  EXPECT_EQ(without.error->variable, "IDEMPOTENCY_HMAC_KEY_FILE");
  ConfigResult with = load({{"IDEMPOTENCY_REDIS_URL", "redis://127.0.0.1:6379"},
                            {"IDEMPOTENCY_HMAC_KEY_FILE", "/run/secrets/hmac"}});
  EXPECT_FALSE(with.error);
  EXPECT_EQ(with.config.idempotency_redis_url, "redis://127.0.0.1:6379");
}

TEST(Config, HttpUrl) {
  const auto named =
      parse_http_url("http://processor.paystream-staging.svc:9090/v1/authorizations");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->host, "processor.paystream-staging.svc");
  EXPECT_EQ(named->port, 9090);
  EXPECT_EQ(named->target, "/v1/authorizations");
  EXPECT_EQ(named->host_header, "processor.paystream-staging.svc:9090");
  const auto bare = parse_http_url("http://processor.example");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->target, "/");
  EXPECT_EQ(bare->host_header, "processor.example");
  const auto default_port = parse_http_url("http://p.example:80/a?b=c");
  ASSERT_TRUE(default_port);
  EXPECT_EQ(default_port->host_header, "p.example");
  EXPECT_EQ(default_port->target, "/a?b=c");
  const auto v6 = parse_http_url("http://[::1]:9090/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9090");
  for (const char* bad : {"", "http://", "https://p:443/", "http://u:pw@p/", "http://p:0/",
                          "http://p:65536/", "http://p:/", "http://p/a b", "http://p/a#frag",
                          "http://[::1/", "HTTP://p/", "http://p\\x/", "ftp://p/"}) {
    EXPECT_FALSE(parse_http_url(bad)) << bad;
  }
}

TEST(Config, HttpModeNeedsAUrl) {
  ConfigResult without = load({{"PROCESSOR_MODE", "http"}});
  ASSERT_TRUE(without.error);
  EXPECT_EQ(without.error->variable, "PROCESSOR_URL");
  ConfigResult with =
      load({{"PROCESSOR_MODE", "http"}, {"PROCESSOR_URL", "http://127.0.0.1:9090/"}});
  ASSERT_FALSE(with.error);
  EXPECT_EQ(with.config.processor_mode, ProcessorMode::http);
  EXPECT_EQ(load({}).config.processor_mode, ProcessorMode::simulated);
}

TEST(Config, Loopback) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.8.9.10"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("::"));
}

}  // namespace
// One table drives parsing, --help and the JSON /admin/state shows: each lists every
// variable, in the same order.
TEST(Config, HelpAndJsonListEveryVariableInTableOrder) {
  const std::vector<std::string_view> names = config_variable_names();
  ASSERT_GE(names.size(), 28u);
  const std::string help = config_help_text();
  const std::string json = config_json(Config{});
  size_t help_at = 0;
  size_t json_at = 0;
  for (std::string_view name : names) {
    std::string help_row = "| `";
    help_row.append(name).append("` |");
    std::string json_member = "\"";
    json_member.append(name).append("\":");
    const size_t h = help.find(help_row, help_at);
    const size_t j = json.find(json_member, json_at);
    ASSERT_NE(h, std::string::npos) << name << " missing from --help (or out of order)";
    ASSERT_NE(j, std::string::npos) << name << " missing from config_json (or out of order)";
    help_at = h;
    json_at = j;
  }
  EXPECT_EQ(std::count(json.begin(), json.end(), ':'), static_cast<std::ptrdiff_t>(names.size()))
      << json;
}

TEST(Config, JsonShowsTheValuesInForce) {
  ConfigResult r = load({{"PORT", "1234"},
                         {"ADMIN_TOKEN_FILE", "/etc/tok\"en"},
                         {"SUCCESS_RATE", "0.5"},
                         {"LOG_LEVEL", "warn"},
                         {"RANDOM_SEED", "77"},
                         {"ADMIN_ALLOW_UNAUTHENTICATED", "true"}});
  ASSERT_FALSE(r.error);
  const std::string json = config_json(r.config);
  EXPECT_NE(json.find(R"("PORT":1234,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("ADMIN_TOKEN_FILE":"/etc/tok\"en")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("SUCCESS_RATE":0.500000)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("LOG_LEVEL":"warn")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("RANDOM_SEED":77)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("ADMIN_ALLOW_UNAUTHENTICATED":true)"), std::string::npos) << json;
  EXPECT_NE(config_json(Config{}).find(R"("RANDOM_SEED":null)"), std::string::npos);
}

}  // namespace paystream::core
