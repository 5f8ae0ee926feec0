#include "core/metrics_collector.h"

#include <prometheus/text_serializer.h>

#include <limits>
#include <string>
#include <utility>

namespace paystream::core {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr core::AuthStatus kStatuses[] = {core::AuthStatus::approved, core::AuthStatus::declined,
                                          core::AuthStatus::rejected, core::AuthStatus::error,
                                          core::AuthStatus::invalid};
constexpr core::ProcessorLabel kProcessors[] = {
    core::ProcessorLabel::visa, core::ProcessorLabel::mastercard, core::ProcessorLabel::amex,
    core::ProcessorLabel::discover, core::ProcessorLabel::unknown};

ClientMetric::Label label(std::string name, std::string_view value) {
  return {std::move(name), std::string(value)};
}

ClientMetric value_metric(MetricType type, double value, std::vector<ClientMetric::Label> labels) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  return {std::move(name), std::move(help), type, {value_metric(type, value, {})}};
}

std::vector<ClientMetric::Label> auth_labels(const std::string& version, core::AuthStatus status,
                                             core::ProcessorLabel processor) {
  return {label("version", version), label("status", core::auth_status_name(status)),
          label("processor", core::processor_label_name(processor))};
}

MetricFamily requests_family(const core::MergedMetrics& merged, const std::string& version) {
  MetricFamily family{"auth_requests_total",
                      "Authorize requests by outcome and card network.",
                      MetricType::Counter,
                      {}};
  for (core::AuthStatus status : kStatuses) {
    for (core::ProcessorLabel processor : kProcessors) {
      const double count = static_cast<double>(merged.at(status, processor).count());
      family.metric.push_back(
          value_metric(MetricType::Counter, count, auth_labels(version, status, processor)));
    }
  }
  return family;
}

ClientMetric::Histogram histogram(const core::SeriesTotals& series) {
  ClientMetric::Histogram out;
  out.sample_sum = static_cast<double>(series.sum_us) / 1e6;
  out.bucket.reserve(core::kDurationBucketCount);
  uint64_t cumulative = 0;
  for (size_t b = 0; b < core::kDurationBucketCount; ++b) {
    cumulative += series.buckets[b];
    out.bucket.push_back({cumulative, core::duration_bucket_upper_bound_seconds(b)});
  }
  out.sample_count = cumulative;
  return out;
}

MetricFamily duration_family(const core::MergedMetrics& merged, const std::string& version) {
  MetricFamily family{"auth_request_duration_seconds",
                      "Authorize request duration, from request complete to response written.",
                      MetricType::Histogram,
                      {}};
  for (core::AuthStatus status : kStatuses) {
    for (core::ProcessorLabel processor : kProcessors) {
      ClientMetric metric;
      metric.label = auth_labels(version, status, processor);
      metric.histogram = histogram(merged.at(status, processor));
      family.metric.push_back(std::move(metric));
    }
  }
  return family;
}

void add_idempotency_families(std::vector<MetricFamily>& families,
                              const core::MergedMetrics& merged,
                              const IdempotencyStoreMetrics& store) {
  families.push_back(single("auth_idempotency_store_entries",
                            "Keys held by the embedded idempotency store (0 with Redis).",
                            MetricType::Gauge, static_cast<double>(store.entries)));
  families.push_back(single("auth_idempotency_store_capacity",
                            "Keys the embedded idempotency store can hold (0 with Redis).",
                            MetricType::Gauge, static_cast<double>(store.capacity)));
  families.push_back(single("auth_idempotency_store_evictions_total",
                            "Completed keys the embedded store dropped before their TTL to make "
                            "room; a retry of one of them would be executed again.",
                            MetricType::Counter, static_cast<double>(store.evictions)));
  families.push_back(single("auth_idempotency_store_oldest_completed_age_seconds",
                            "Age of the oldest completed key the embedded store still holds: "
                            "how long answers are really kept.",
                            MetricType::Gauge, store.oldest_completed_age_seconds));
  MetricFamily requests{"auth_idempotency_requests_total",
                        "Authorize requests with an Idempotency-Key, by what the store answered.",
                        MetricType::Counter,
                        {}};
  for (size_t r = 0; r < kIdempotencyResultCount; ++r) {
    requests.metric.push_back(value_metric(
        MetricType::Counter, static_cast<double>(merged.idempotency[r]),
        {label("result", idempotency_result_name(static_cast<IdempotencyResult>(r)))}));
  }
  families.push_back(std::move(requests));

  MetricFamily duration{"auth_idempotency_store_duration_seconds",
                        "Idempotency store operations, from request to reply.",
                        MetricType::Histogram,
                        {}};
  for (size_t op = 0; op < kStoreOpCount; ++op) {
    const StoreOpTotals& totals = merged.store_ops[op];
    ClientMetric metric;
    metric.label = {label("op", store_op_name(static_cast<StoreOp>(op)))};
    metric.histogram.sample_sum = static_cast<double>(totals.sum_us) / 1e6;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kStoreBucketCount; ++b) {
      cumulative += totals.buckets[b];
      const double bound = b < kStoreBucketBoundsUs.size()
                               ? kStoreBucketBoundsUs[b] / 1e6
                               : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back({cumulative, bound});
    }
    metric.histogram.sample_count = cumulative;
    duration.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(duration));
}

void add_processor_families(std::vector<MetricFamily>& families, const core::MergedMetrics& merged,
                            const ProcessorLinkMetrics& link) {
  MetricFamily mode{"auth_processor_mode",
                    "1 for the processor mode in force: simulated approves nothing real.",
                    MetricType::Gauge,
                    {}};
  for (ProcessorMode m : {ProcessorMode::simulated, ProcessorMode::http}) {
    mode.metric.push_back(value_metric(MetricType::Gauge, m == link.mode ? 1 : 0,
                                       {label("mode", processor_mode_name(m))}));
  }
  families.push_back(std::move(mode));
  MetricFamily calls{"auth_processor_calls_total",
                     "Calls to the processor over HTTP, by how they ended.",
                     MetricType::Counter,
                     {}};
  for (size_t r = 0; r < kProcessorCallResultCount; ++r) {
    calls.metric.push_back(value_metric(
        MetricType::Counter, static_cast<double>(merged.processor_calls[r]),
        {label("result", processor_call_result_name(static_cast<ProcessorCallResult>(r)))}));
  }
  families.push_back(std::move(calls));
  MetricFamily upstream{"auth_processor_upstream_duration_seconds",
                        "Processor calls answered, from the request written to the answer read.",
                        MetricType::Histogram,
                        {}};
  ClientMetric upstream_metric;
  upstream_metric.histogram = histogram(merged.processor_upstream);
  upstream.metric.push_back(std::move(upstream_metric));
  families.push_back(std::move(upstream));
  MetricFamily connections{"auth_processor_connections",
                           "Open connections to the processor, summed over reactors.",
                           MetricType::Gauge,
                           {}};
  connections.metric.push_back(value_metric(
      MetricType::Gauge, static_cast<double>(link.connections_busy), {label("state", "busy")}));
  connections.metric.push_back(
      value_metric(MetricType::Gauge,
                   static_cast<double>(link.connections_open > link.connections_busy
                                           ? link.connections_open - link.connections_busy
                                           : 0),
                   {label("state", "idle")}));
  families.push_back(std::move(connections));
  families.push_back(single("auth_processor_queue_depth",
                            "Processor calls waiting for a free connection, summed over reactors.",
                            MetricType::Gauge, static_cast<double>(link.queue_depth)));
  families.push_back(single("auth_processor_retries_total",
                            "Processor calls sent a second time with the same idempotency key "
                            "(connect failure, or a kept-alive connection closed before any "
                            "answer byte).",
                            MetricType::Counter, static_cast<double>(link.retries)));
}

void add_fault_families(std::vector<MetricFamily>& families, const FaultMetrics& fault) {
  const core::ProcessorParameters& p = fault.effective;
  families.push_back(single("fault_injection_enabled", "1 while fault injection is enabled.",
                            MetricType::Gauge, fault.enabled ? 1 : 0));
  // Seconds, the Prometheus base unit (promtool rejects an `_ms` suffix).
  families.push_back(single("fault_injection_latency_seconds",
                            "Simulated processor base latency in force.", MetricType::Gauge,
                            p.latency_ms / 1000.0));
  families.push_back(single("fault_injection_jitter_seconds",
                            "Simulated processor latency jitter in force (+/-).", MetricType::Gauge,
                            p.jitter_ms / 1000.0));
  families.push_back(single("fault_injection_success_rate",
                            "Simulated processor approval probability in force.", MetricType::Gauge,
                            p.success_rate));
  families.push_back(single("fault_injection_error_rate",
                            "Simulated processor error probability in force.", MetricType::Gauge,
                            p.error_rate));
  families.push_back(single("fault_injection_slow_rate",
                            "Fraction of simulated processor calls that are slow, in force.",
                            MetricType::Gauge, p.slow_rate));
  families.push_back(single("fault_injection_slow_latency_seconds",
                            "Latency added to a slow simulated processor call, in force.",
                            MetricType::Gauge, p.slow_latency_ms / 1000.0));
  families.push_back(single("fault_injection_reset_rate",
                            "Fraction of authorize requests answered by a connection reset.",
                            MetricType::Gauge, p.reset_rate));
}

void add_http_families(std::vector<MetricFamily>& families, const HttpMetrics& http) {
  MetricFamily errors{"http_request_errors_total",
                      "Requests answered with an error status, by status.",
                      MetricType::Counter,
                      {}};
  MetricFamily per_reactor{
      "reactor_requests_total", "Requests received, by reactor.", MetricType::Counter, {}};
  for (const auto& [code, count] : http.errors_by_code) {
    errors.metric.push_back(value_metric(MetricType::Counter, static_cast<double>(count),
                                         {label("code", std::to_string(code))}));
  }
  for (size_t r = 0; r < http.reactor_requests.size(); ++r) {
    per_reactor.metric.push_back(value_metric(MetricType::Counter,
                                              static_cast<double>(http.reactor_requests[r]),
                                              {label("reactor", std::to_string(r))}));
  }
  families.push_back(single("http_connections_active", "Open HTTP connections.", MetricType::Gauge,
                            static_cast<double>(http.connections_active)));
  families.push_back(single("http_connections_rejected_total",
                            "Connections closed on accept because the reactor was full.",
                            MetricType::Counter, static_cast<double>(http.connections_rejected)));
  families.push_back(std::move(errors));
  families.push_back(std::move(per_reactor));
}

void add_process_families(std::vector<MetricFamily>& families, const ProcessMetrics& process) {
  families.push_back(single("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.", MetricType::Counter,
                            process.cpu_seconds));
  families.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                            MetricType::Gauge, process.resident_memory_bytes));
  families.push_back(single("process_open_fds", "Number of open file descriptors.",
                            MetricType::Gauge, process.open_fds));
  families.push_back(single("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge, process.start_time_seconds));
}

}  // namespace

double breaker_state_value(core::BreakerState state) {
  switch (state) {
    case core::BreakerState::closed:
      return 0;
    case core::BreakerState::half_open:
      return 1;
    case core::BreakerState::open:
      return 2;
  }
  return 0;
}

BreakerMetrics breaker_metrics(const core::CircuitBreaker& breaker, uint64_t now_ms) {
  const core::BreakerSnapshot snapshot = breaker.snapshot(now_ms);
  return {snapshot.state, snapshot.trips};
}

FaultMetrics fault_metrics(const core::FaultStatePublisher& publisher,
                           const core::ProcessorParameters& environment) {
  const core::FaultState state = publisher.current().state;
  return {state.enabled, state.effective(environment)};
}

MetricsCollector::MetricsCollector(ScrapeSources sources) : sources_(std::move(sources)) {}

std::vector<MetricFamily> MetricsCollector::Collect() const {
  const ScrapeSources& s = sources_;
  const uint64_t now_ms = s.now_ms ? s.now_ms() : 0;
  const core::MergedMetrics merged = core::merge_shards(s.shards, now_ms);
  const BreakerMetrics breaker = s.breaker ? s.breaker() : BreakerMetrics{};
  const FaultMetrics fault = s.fault ? s.fault() : FaultMetrics{};
  const ProcessMetrics process = s.process ? s.process() : ProcessMetrics{};

  std::vector<MetricFamily> families;
  families.reserve(20);
  families.push_back(requests_family(merged, s.build.version));
  families.push_back(duration_family(merged, s.build.version));
  add_idempotency_families(families, merged,
                           s.idempotency_store ? s.idempotency_store() : IdempotencyStoreMetrics{});
  families.push_back(single("auth_success_rate",
                            "approved / (approved + declined) over the last 60 s; 1 when idle.",
                            MetricType::Gauge, core::windowed_success_rate(merged)));
  families.push_back(single("circuit_breaker_state",
                            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                            MetricType::Gauge, breaker_state_value(breaker.state)));
  families.push_back(single("circuit_breaker_trips_total",
                            "Transitions of the circuit breaker into open.", MetricType::Counter,
                            static_cast<double>(breaker.trips)));
  add_processor_families(families, merged,
                         s.processor_link ? s.processor_link() : ProcessorLinkMetrics{});
  add_fault_families(families, fault);
  add_http_families(families, s.http ? s.http() : HttpMetrics{});
  add_process_families(families, process);
  families.push_back(single("log_lines_dropped_total",
                            "Log lines dropped because the log queue was full or stderr failed.",
                            MetricType::Counter,
                            static_cast<double>(s.log_lines_dropped ? s.log_lines_dropped() : 0)));

  MetricFamily build{"auth_build_info",
                     "Build and release of the running binary; always 1.",
                     MetricType::Gauge,
                     {}};
  build.metric.push_back(
      value_metric(MetricType::Gauge, 1,
                   {label("version", s.build.version), label("revision", s.build.revision),
                    label("service_version", s.build.service_version)}));
  families.push_back(std::move(build));
  return families;
}

std::string render_metrics(const prometheus::Collectable& collectable) {
  return prometheus::TextSerializer().Serialize(collectable.Collect());
}

}  // namespace paystream::core
