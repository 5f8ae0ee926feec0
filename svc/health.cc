#include "svc/health.h"

#include <cmath>
#include <cstdio>

#include "base/clock.h"
#include "base/json_escape.h"

namespace paystream::svc {
namespace {

std::string_view health_breaker_name(core::BreakerState state) {
  switch (state) {
    case core::BreakerState::closed:
      return "closed";
    case core::BreakerState::half_open:
      return "half-open";
    case core::BreakerState::open:
      return "open";
  }
  return "closed";
}

std::string_view health_status(core::BreakerState state) {
  switch (state) {
    case core::BreakerState::closed:
      return "healthy";
    case core::BreakerState::half_open:
      return "degraded";
    case core::BreakerState::open:
      return "unhealthy";
  }
  return "healthy";
}

}  // namespace

void add_health_route(net::Router& router, const HealthContext& context) {
  const HealthContext* ctx = &context;
  router.add("GET", "/health", [ctx](const net::Request&, const net::Responder& responder) {
    // The shards are stamped with base::monotonic_ms()'s clock, which this reads too.
    const uint64_t now_ms = base::monotonic_ms();
    const core::MergedMetrics merged = core::merge_shards(ctx->shards, now_ms);
    const core::BreakerState state = ctx->breaker->snapshot(now_ms).state;
    const double rate = core::windowed_success_rate(merged);
    const double p95 = core::windowed_p95_ms(merged);
    char numbers[96];
    snprintf(numbers, sizeof numbers, R"("success_rate":%.4f,"latency_p95_ms":%.1f,)",
             std::isfinite(rate) ? rate : 1.0, std::isfinite(p95) ? p95 : 0.0);
    std::string body = R"({"status":")";
    body += health_status(state);
    body += R"(","circuit_breaker":")";
    body += health_breaker_name(state);
    body += R"(",)";
    body += numbers;
    body += R"("version":)";
    base::append_json_string(body, ctx->version);
    body += R"(,"uptime_seconds":)";
    body += std::to_string((base::unix_now_ms() - ctx->started_unix_ms) / 1000);
    body += '}';
    responder.respond(
        net::Response{.status = state == core::BreakerState::open ? 503 : 200, .body = body});
  });
}

}  // namespace paystream::svc
