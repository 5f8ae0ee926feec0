#pragma once
// authload's command line: every flag, its default and its accepted range.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/authload/duplicate_picker.h"

namespace paystream::bench {

struct TargetAddress {
  std::string host;  // as given, without IPv6 brackets
  int port = 0;
  std::string text;  // HOST:PORT as given
};

struct Options {
  std::vector<TargetAddress> targets;  // one or two
  int weight = 50;                     // percent for the second target
  double rate = 0;                     // requests/s; 0: not given
  double duration_s = 10;
  double warmup_s = 1;
  size_t connections = 16;
  size_t pipeline = 1;
  size_t threads = 1;
  double timeout_s = 5;
  std::string method = "POST";
  std::string path = "/v1/authorize";
  std::string body_file;  // empty: the generated mix (for POST and PUT)
  std::string host_header;
  std::vector<std::string> headers;
  uint64_t seed = 1;
  std::string json_file;
  bool quiet = false;
  bool find_max = false;
  double find_max_time_s = 30;
  double p99_bound_ms = 50;
  double step_s = 2;
  double spin_us = 0;
  double tick_us = 0;
  bool idempotency_keys = false;
  double duplicate_fraction = 0;
  DuplicateMode duplicate_mode = DuplicateMode::mixed;
  double conflict_fraction = 0;
};

struct ParsedOptions {
  std::optional<Options> options;  // set when the command line is good
  bool help = false;
  std::string error;  // usage error, for stderr
};

ParsedOptions parse_options(int argc, const char* const* argv);
std::string usage_text();

}  // namespace paystream::bench
