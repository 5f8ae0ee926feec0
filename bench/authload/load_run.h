#pragma once
// One run at one rate: starts the client threads, waits until they have connected, starts
// every schedule at the same instant, prints the live status line, and merges the counts.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/authload/duplicate_picker.h"
#include "bench/authload/idempotency_stats.h"
#include "bench/authload/target_stats.h"

namespace paystream::bench {

struct RunTarget {
  std::string name;  // as given: "127.0.0.1:8080"
  sockaddr_storage address{};
  std::vector<std::string> requests;  // prepared, with this target's Host header
  size_t key_offset = 0;              // where an Idempotency-Key header goes in each of them
};

struct RunSpec {
  const std::vector<RunTarget>* targets = nullptr;
  int weight = 0;  // percent of requests and connections for the second target
  double rate = 1;
  double duration_s = 10;
  double warmup_s = 1;
  size_t connections = 16;
  size_t pipeline = 1;
  size_t threads = 1;
  bool head_requests = false;
  uint64_t timeout_ns = 5'000'000'000;
  uint64_t spin_ns = 0;
  uint64_t tick_ns = 0;
  bool live_status = true;  // one line on stderr per second
  // Idempotency keys: "<key_prefix>-<global request number>"; a fresh prefix for every run.
  bool idempotency_keys = false;
  std::string key_prefix;
  DuplicatePlan duplicates;
  uint64_t seed = 1;               // of the duplicate picks (each thread its own stream)
  uint32_t distinct_requests = 0;  // see WorkerPlan
  uint32_t conflict_offset = 0;    // prepared request of body i with another amount: i + this
};

struct RunResult {
  bool ok = false;
  std::string error;                 // why not ok: no connection to a target
  std::vector<TargetStats> targets;  // merged over threads, by target
  std::vector<size_t> connections;   // by target
  uint64_t measured_requests = 0;    // scheduled in the measured phase
  uint64_t measured_start_ns = 0;    // monotonic time the first measured request was due
  double wall_s = 0;                 // connect to drained
  IdempotencyStats idempotency;      // merged over threads; zeros when keys are off
};

RunResult run_load(const RunSpec& spec);

// Requests scheduled in `seconds` at `rate`.
uint64_t requests_in(double rate, double seconds);

}  // namespace paystream::bench
