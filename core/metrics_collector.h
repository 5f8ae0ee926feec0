#pragma once
// GET /metrics on the admin port: a prometheus::Collectable that, at scrape time, sums the
// reactors' MetricShards and reads the HTTP counters, the breaker, the fault state and the
// process through the sources it is given (pure: the service supplies the readings).
// Every series exists (zero) from start-up; every label value comes from a bounded set.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/breaker.h"
#include "core/fault_state.h"
#include "core/fault_state_publisher.h"
#include "core/metric_shard.h"

namespace paystream::core {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct BreakerMetrics {
  core::BreakerState state = core::BreakerState::closed;
  uint64_t trips = 0;
};

struct FaultMetrics {
  bool enabled = false;
  core::ProcessorParameters effective;  // what the simulated processor runs with now
};

// The embedded idempotency store's occupancy (zeros with Redis, which reports its own).
struct IdempotencyStoreMetrics {
  uint64_t entries = 0;
  uint64_t capacity = 0;
  uint64_t evictions = 0;
  double oldest_completed_age_seconds = 0;  // how long completed keys are really kept
};

// The processor link's pool, summed over reactors (zeros in simulated mode).
struct ProcessorLinkMetrics {
  ProcessorMode mode = ProcessorMode::simulated;
  uint64_t connections_open = 0;
  uint64_t connections_busy = 0;  // with a call in flight
  uint64_t queue_depth = 0;       // calls waiting for a connection
  uint64_t retries = 0;           // calls sent a second time (connect failure, stale keep-alive)
};

// The standard process_* values, read by the service at scrape time.
struct ProcessMetrics {
  double cpu_seconds = 0;            // user + system, every thread
  double resident_memory_bytes = 0;  // RSS
  double open_fds = 0;
  double start_time_seconds = 0;  // Unix time
};

// The HTTP layer's counters, summed over reactors by the service at scrape time.
struct HttpMetrics {
  uint64_t connections_active = 0;
  uint64_t connections_rejected = 0;
  std::vector<std::pair<int, uint64_t>> errors_by_code;  // a bounded set of status codes
  std::vector<uint64_t> reactor_requests;                // index = the `reactor` label
};

struct BuildLabels {
  // The `version` label of every auth_* series and of auth_build_info: the effective
  // SERVICE_VERSION, so canary and stable differ and `on(version)` joins work.
  std::string version;
  std::string revision;
  // auth_build_info only: the version compiled into the binary, so an image whose
  // SERVICE_VERSION does not match it stands out.
  std::string service_version;
};

// Everything a scrape reads. Pointers must outlive the collector; the functions are called on
// the scraping thread. An empty function reads as its default (closed breaker, fault injection
// off, process metrics 0), which keeps tests free of servers.
struct ScrapeSources {
  std::vector<const core::MetricShard*> shards;  // one per reactor
  std::function<HttpMetrics()> http;
  std::function<uint64_t()> now_ms;  // the shards' monotonic clock
  std::function<BreakerMetrics()> breaker;
  std::function<FaultMetrics()> fault;
  std::function<ProcessMetrics()> process;  // read_process_metrics in the service
  std::function<IdempotencyStoreMetrics()> idempotency_store;
  std::function<ProcessorLinkMetrics()> processor_link;
  BuildLabels build;
  std::function<uint64_t()> log_lines_dropped;  // log lines lost (full log queue, stderr failed)
};

class MetricsCollector : public prometheus::Collectable {
 public:
  explicit MetricsCollector(ScrapeSources sources);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  ScrapeSources sources_;
};

// Text exposition format 0.0.4 (serve with kMetricsContentType).
std::string render_metrics(const prometheus::Collectable& collectable);

// 0 closed, 1 half-open, 2 open.
double breaker_state_value(core::BreakerState state);

// Source helpers for the service's wiring.
BreakerMetrics breaker_metrics(const core::CircuitBreaker& breaker, uint64_t now_ms);
FaultMetrics fault_metrics(const core::FaultStatePublisher& publisher,
                           const core::ProcessorParameters& environment);

}  // namespace paystream::core
