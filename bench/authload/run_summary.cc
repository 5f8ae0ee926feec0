#include "bench/authload/run_summary.h"

#include <algorithm>
#include <cstdio>

namespace paystream::bench {
namespace {

constexpr double kMinRateShare = 0.98;
constexpr double kMaxLagShare = 0.10;

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

template <typename... Args>
std::string format(const char* pattern, Args... args) {
  char text[200];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

}  // namespace

Percentiles percentiles_of(const Histogram& h) {
  Percentiles p;
  p.count = h.count();
  p.min = us(h.min_ns());
  p.mean = h.mean_ns() / 1e3;
  p.p50 = us(h.value_at_percentile(50));
  p.p90 = us(h.value_at_percentile(90));
  p.p99 = us(h.value_at_percentile(99));
  p.p99_9 = us(h.value_at_percentile(99.9));
  p.p99_99 = us(h.value_at_percentile(99.99));
  p.max = us(h.max_ns());
  return p;
}

std::vector<std::string> invalid_reasons(double target_rate, double achieved_rate,
                                         const Percentiles& latency, const Percentiles& send_lag,
                                         uint64_t scheduled, uint64_t waited_for_connection) {
  std::vector<std::string> reasons;
  if (latency.count == 0) reasons.push_back("no responses");
  if (achieved_rate < kMinRateShare * target_rate) {
    reasons.push_back(format("achieved rate %.1f/s is below 98%% of the target %.1f/s",
                             achieved_rate, target_rate));
  }
  if (send_lag.count > 0 && send_lag.p99 > kMaxLagShare * latency.p99) {
    std::string reason = format("send lag p99 %.3f ms exceeds 10%% of latency p99 %.3f ms",
                                send_lag.p99 / 1e3, latency.p99 / 1e3);
    if (scheduled > 0 && waited_for_connection * 100 >= scheduled) {
      const double share =
          100.0 * static_cast<double>(waited_for_connection) / static_cast<double>(scheduled);
      reason += format(
          " (%.1f%% of requests found every connection busy: raise --connections or --pipeline)",
          share);
    }
    reasons.push_back(reason);
  }
  return reasons;
}

RunSummary summarize_run(const RunSpec& spec, const RunResult& result) {
  RunSummary s;
  s.target_rate = spec.rate;
  s.duration_s = spec.duration_s;
  s.warmup_s = spec.warmup_s;
  s.connections = spec.connections;
  s.pipeline = spec.pipeline;
  s.threads = spec.threads;
  s.scheduled = result.measured_requests;
  for (const TargetStats& t : result.targets) s.all.merge(t);
  const double last_send_s =
      s.all.last_send_ns > result.measured_start_ns
          ? static_cast<double>(s.all.last_send_ns - result.measured_start_ns) / 1e9
          : 0;
  s.send_window_s = std::max(spec.duration_s, last_send_s);
  s.achieved_rate = static_cast<double>(s.all.sent) / s.send_window_s;
  s.idempotency_keys = spec.idempotency_keys;
  s.idempotency = result.idempotency;
  s.latency = percentiles_of(s.all.latency);
  s.send_lag = percentiles_of(s.all.send_lag);
  for (size_t t = 0; t < result.targets.size(); ++t) {
    TargetSummary ts;
    ts.name = (*spec.targets)[t].name;
    if (result.targets.size() == 2) ts.share_percent = t == 1 ? spec.weight : 100 - spec.weight;
    ts.connections = result.connections[t];
    ts.target_rate = spec.rate * ts.share_percent / 100.0;
    ts.stats = result.targets[t];
    ts.achieved_rate = static_cast<double>(ts.stats.sent) / s.send_window_s;
    ts.latency = percentiles_of(ts.stats.latency);
    ts.send_lag = percentiles_of(ts.stats.send_lag);
    s.targets.push_back(std::move(ts));
  }
  s.invalid_reasons = invalid_reasons(s.target_rate, s.achieved_rate, s.latency, s.send_lag,
                                      s.all.scheduled, s.all.waited_for_connection);
  s.valid = s.invalid_reasons.empty();
  return s;
}

}  // namespace paystream::bench
