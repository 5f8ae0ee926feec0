#pragma once
// GET /health on the public port, the original service's contract for dashboards
// and humans (probes use /livez and /readyz): status, breaker state, success rate
// and p95 over the last 60 s, version, uptime. 200 unless the breaker is open.

#include <cstdint>
#include <string>
#include <vector>

#include "core/breaker.h"
#include "core/metric_shard.h"
#include "net/router.h"

namespace paystream::svc {

struct HealthContext {
  std::vector<const core::MetricShard*> shards;
  const core::CircuitBreaker* breaker = nullptr;
  std::string version;
  uint64_t started_unix_ms = 0;
};

// `context` must outlive the router.
void add_health_route(net::Router& router, const HealthContext& context);

}  // namespace paystream::svc
