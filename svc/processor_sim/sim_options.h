#pragma once
// paystream-processor-sim's settings: command-line flags, each also readable from the
// environment as SIM_<NAME> (--latency-ms: SIM_LATENCY_MS); a flag wins over its variable.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace paystream::svc::sim {

struct SimOptions {
  std::string bind = "0.0.0.0";
  int port = 9090;
  std::string admin_bind = "127.0.0.1";
  int admin_port = 9091;
  std::string path = "/v1/authorizations";
  uint32_t reactors = 1;
  uint32_t latency_ms = 50;
  uint32_t jitter_ms = 10;
  double success_rate = 0.94;
  double error_rate = 0.0;
  double slow_rate = 0.0;
  uint32_t slow_latency_ms = 0;
  std::string api_key_file;  // empty: no key checked
  uint64_t dedupe_ttl_s = 86400;
  uint64_t dedupe_max_keys = 1'000'000;
  uint64_t idle_timeout_ms = 60000;
  uint64_t max_connections = 20000;
  std::optional<uint64_t> seed;  // unset: drawn at start-up
  bool help = false;
  bool version = false;
};

struct SimOptionsResult {
  SimOptions options;
  std::string error;  // empty: valid. Names the flag; never a value from a secret file.
};

// `args` without the program name; `getenv` returns nullptr for an unset variable.
SimOptionsResult parse_sim_options(const std::vector<std::string>& args,
                                   const std::function<const char*(const char*)>& getenv);

std::string sim_help_text();

}  // namespace paystream::svc::sim
