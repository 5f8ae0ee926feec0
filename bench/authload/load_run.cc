#include "bench/authload/load_run.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "base/clock.h"
#include "bench/authload/live_status.h"
#include "bench/authload/load_plan.h"
#include "bench/authload/load_worker.h"

namespace paystream::bench {
namespace {

// Time between the go signal and the first due request: every thread is waiting by then.
constexpr uint64_t kStartDelayNs = 20'000'000;
constexpr useconds_t kPollUs = 20'000;

std::vector<std::unique_ptr<LoadWorker>> make_workers(const RunSpec& spec, uint64_t warmup,
                                                      uint64_t total) {
  const auto& targets = *spec.targets;
  const auto split = split_connections(spec.connections, spec.threads, targets.size(), spec.weight);
  std::vector<std::unique_ptr<LoadWorker>> workers;
  for (size_t t = 0; t < spec.threads; ++t) {
    WorkerPlan plan;
    plan.index = t;
    plan.count = spec.threads;
    plan.rate = spec.rate;
    plan.warmup_requests = warmup;
    plan.total_requests = total;
    plan.weight = spec.weight;
    plan.spin_ns = spec.spin_ns;
    plan.tick_ns = spec.tick_ns;
    plan.idempotency_keys = spec.idempotency_keys;
    plan.keys.plan = spec.duplicates;
    plan.keys.seed = spec.seed ^ (0xa0761d6478bd642fULL * (t + 1));
    plan.keys.conflict_offset = spec.conflict_offset;
    plan.distinct_requests = spec.distinct_requests;
    for (size_t target = 0; target < targets.size(); ++target) {
      LaneConfig lane;
      lane.address = reinterpret_cast<const sockaddr*>(&targets[target].address);
      lane.requests = &targets[target].requests;
      lane.connections = split[t][target];
      lane.pipeline = spec.pipeline;
      lane.head_requests = spec.head_requests;
      lane.timeout_ns = spec.timeout_ns;
      lane.key_prefix = spec.key_prefix;
      lane.key_offset = targets[target].key_offset;
      lane.index = static_cast<uint32_t>(target);
      plan.lanes.push_back(lane);
    }
    workers.push_back(std::make_unique<LoadWorker>(std::move(plan)));
  }
  return workers;
}

void print_live(const RunSpec& spec, std::vector<std::unique_ptr<LoadWorker>>& workers,
                uint64_t measured_start_ns, LiveStatus& status) {
  LiveCounts total;
  LiveCounts one;
  for (auto& w : workers) {
    w->read_live(one);
    total.sent += one.sent;
    total.responses += one.responses;
    total.errors += one.errors;
    total.latency.merge(one.latency);
  }
  const double elapsed_s =
      (static_cast<double>(base::monotonic_ns()) - static_cast<double>(measured_start_ns)) / 1e9;
  const std::string line = status.line(elapsed_s, spec.duration_s, total);
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace

uint64_t requests_in(double rate, double seconds) {
  return static_cast<uint64_t>(std::llround(rate * seconds));
}

RunResult run_load(const RunSpec& spec) {
  RunResult result;
  const auto& targets = *spec.targets;
  const uint64_t warmup = requests_in(spec.rate, spec.warmup_s);
  result.measured_requests = requests_in(spec.rate, spec.duration_s);
  const uint64_t started = base::monotonic_ns();
  auto workers = make_workers(spec, warmup, warmup + result.measured_requests);
  for (auto& w : workers) w->start();

  // The threads give up on a connection after the timeout; a second more for them to say so.
  const uint64_t connect_deadline = base::monotonic_ns() + spec.timeout_ns + 1'000'000'000;
  std::vector<size_t> established(targets.size(), 0);
  for (auto& w : workers) {
    w->wait_connected(connect_deadline);
    const auto mine = w->established();
    for (size_t t = 0; t < mine.size(); ++t) established[t] += mine[t];
  }
  const auto split = split_connections(spec.connections, spec.threads, targets.size(), spec.weight);
  result.connections.assign(targets.size(), 0);
  for (const auto& per_thread : split) {
    for (size_t t = 0; t < targets.size(); ++t) result.connections[t] += per_thread[t];
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    if (result.connections[t] > 0 && established[t] == 0) {
      result.error = "cannot connect to " + targets[t].name;
    }
  }
  if (!result.error.empty()) {
    for (auto& w : workers) w->abort();
    for (auto& w : workers) w->join();
    return result;
  }

  const uint64_t start_ns = base::monotonic_ns() + kStartDelayNs;
  result.measured_start_ns =
      start_ns + static_cast<uint64_t>(static_cast<long double>(warmup) * 1e9L / spec.rate);
  for (auto& w : workers) w->begin(start_ns);

  LiveStatus status;
  uint64_t next_status = start_ns + 1'000'000'000;
  for (;;) {
    bool all_done = true;
    for (auto& w : workers) all_done = all_done && w->done();
    if (all_done) break;
    if (spec.live_status && base::monotonic_ns() >= next_status) {
      print_live(spec, workers, result.measured_start_ns, status);
      next_status += 1'000'000'000;
    }
    usleep(kPollUs);
  }
  result.targets.assign(targets.size(), TargetStats{});
  for (auto& w : workers) {
    w->join();
    const auto stats = w->stats();
    for (size_t t = 0; t < stats.size(); ++t) result.targets[t].merge(stats[t]);
    result.idempotency.merge(w->idempotency());
  }
  result.wall_s = static_cast<double>(base::monotonic_ns() - started) / 1e9;
  result.ok = true;
  return result;
}

}  // namespace paystream::bench
