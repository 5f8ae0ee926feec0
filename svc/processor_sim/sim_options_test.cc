#include "svc/processor_sim/sim_options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace paystream::svc::sim {
namespace {

SimOptionsResult parse(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {}) {
  return parse_sim_options(args, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(SimOptions, DefaultsMatchTheContract) {
  const SimOptionsResult r = parse({});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.options.bind, "0.0.0.0");
  EXPECT_EQ(r.options.port, 9090);
  EXPECT_EQ(r.options.admin_bind, "127.0.0.1");
  EXPECT_EQ(r.options.admin_port, 9091);
  EXPECT_EQ(r.options.path, "/v1/authorizations");
  EXPECT_EQ(r.options.reactors, 1u);
  EXPECT_EQ(r.options.latency_ms, 50u);
  EXPECT_EQ(r.options.jitter_ms, 10u);
  EXPECT_DOUBLE_EQ(r.options.success_rate, 0.94);
  EXPECT_EQ(r.options.dedupe_ttl_s, 86400u);
  EXPECT_EQ(r.options.dedupe_max_keys, 1'000'000u);
  EXPECT_EQ(r.options.idle_timeout_ms, 60000u);
  EXPECT_EQ(r.options.max_connections, 20000u);
  EXPECT_FALSE(r.options.seed.has_value());
  EXPECT_TRUE(r.options.api_key_file.empty());
}

TEST(SimOptions, FlagsWinOverTheEnvironment) {
  const SimOptionsResult r =
      parse({"--port", "1234", "--latency-ms=7", "--error-rate", "0.5", "--seed", "9"},
            {{"SIM_PORT", "4321"}, {"SIM_JITTER_MS", "3"}, {"SIM_API_KEY_FILE", "/k"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.options.port, 1234);
  EXPECT_EQ(r.options.latency_ms, 7u);
  EXPECT_EQ(r.options.jitter_ms, 3u);
  EXPECT_DOUBLE_EQ(r.options.error_rate, 0.5);
  EXPECT_EQ(r.options.seed, 9u);
  EXPECT_EQ(r.options.api_key_file, "/k");
}

TEST(SimOptions, BadValuesNameTheFlag) {
  EXPECT_NE(parse({"--port", "70000"}).error.find("--port"), std::string::npos);
  EXPECT_NE(parse({"--success-rate", "1.5"}).error.find("--success-rate"), std::string::npos);
  EXPECT_NE(parse({}, {{"SIM_REACTORS", "0"}}).error.find("SIM_REACTORS"), std::string::npos);
  EXPECT_NE(parse({"--path", "v1"}).error.find("--path"), std::string::npos);
  EXPECT_NE(parse({"--nope", "1"}).error.find("--nope"), std::string::npos);
  EXPECT_NE(parse({"--port"}).error, "");
  EXPECT_NE(parse({"stray"}).error, "");
}

TEST(SimOptions, HelpDocumentsEveryFlagAndVariable) {
  EXPECT_TRUE(parse({"--help"}).options.help);
  const std::string help = sim_help_text();
  for (const char* name : {"--bind",
                           "--port",
                           "--admin-bind",
                           "--admin-port",
                           "--path",
                           "--reactors",
                           "--latency-ms",
                           "--jitter-ms",
                           "--success-rate",
                           "--error-rate",
                           "--slow-rate",
                           "--slow-latency-ms",
                           "--api-key-file",
                           "--dedupe-ttl-s",
                           "--dedupe-max-keys",
                           "--idle-timeout-ms",
                           "--max-connections",
                           "--seed",
                           "--help",
                           "SIM_SLOW_LATENCY_MS",
                           "SIM_API_KEY_FILE"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace paystream::svc::sim
