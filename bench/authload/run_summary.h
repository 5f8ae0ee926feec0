#pragma once
// The figures of one run: percentiles, achieved rates, and whether the run is valid, i.e.
// whether the server rather than the generator set the numbers.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/authload/histogram.h"
#include "bench/authload/load_run.h"
#include "bench/authload/target_stats.h"

namespace paystream::bench {

// In microseconds.
struct Percentiles {
  uint64_t count = 0;
  double min = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double p99_9 = 0;
  double p99_99 = 0;
  double max = 0;
};
Percentiles percentiles_of(const Histogram& histogram);

struct TargetSummary {
  std::string name;
  double share_percent = 100;  // of the requests
  size_t connections = 0;
  double target_rate = 0;
  double achieved_rate = 0;
  TargetStats stats;
  Percentiles latency;
  Percentiles send_lag;
};

struct RunSummary {
  double target_rate = 0;
  double achieved_rate = 0;  // measured requests sent / send_window_s
  double duration_s = 0;     // as asked
  double send_window_s = 0;  // from the first due time to the last send, at least duration_s
  double warmup_s = 0;
  size_t connections = 0;
  size_t pipeline = 1;
  size_t threads = 1;
  uint64_t scheduled = 0;
  TargetStats all;
  Percentiles latency;
  Percentiles send_lag;
  std::vector<TargetSummary> targets;
  bool idempotency_keys = false;
  IdempotencyStats idempotency;
  bool valid = true;
  std::vector<std::string> invalid_reasons;
};

RunSummary summarize_run(const RunSpec& spec, const RunResult& result);

// The validity rules: the generator must have sent at least 98% of the target rate, and its p99
// send lag must stay within 10% of the p99 latency (otherwise it, not the server, set the tail).
std::vector<std::string> invalid_reasons(double target_rate, double achieved_rate,
                                         const Percentiles& latency, const Percentiles& send_lag,
                                         uint64_t scheduled, uint64_t waited_for_connection);

}  // namespace paystream::bench
