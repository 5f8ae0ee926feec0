#pragma once
// The admin port's routes (Envoy-style: operators' endpoints apart from the data
// plane): GET /metrics, GET|POST|DELETE /admin/fault-inject, GET /admin/state.
// /metrics is open (Prometheus scrapes it without credentials). Every /admin/* request
// needs `Authorization: Bearer` when a token is configured, or a loopback Host when
// none is and the listener is loopback; POST and DELETE need application/json.

#include <cstdint>
#include <functional>
#include <string>

#include "core/authorize_shared.h"
#include "core/config.h"
#include "core/metrics_collector.h"
#include "net/router.h"
#include "net/server.h"
#include "svc/secret_watch.h"

namespace paystream::svc {

struct AdminContext {
  const core::Config* config = nullptr;
  const net::Server* server = nullptr;
  core::AuthorizeShared* authorize = nullptr;
  const core::MetricsCollector* metrics = nullptr;
  const SecretWatch* admin_token = nullptr;    // null: no authentication configured
  const SecretWatch* processor_key = nullptr;  // null: no processor credential configured
  std::function<core::ProcessorLinkMetrics()> processor_link;  // the pool, summed over reactors
  std::string revision;
  std::string compiled_version;
  uint64_t started_unix_ms = 0;
};

// `context` must outlive the router.
void add_admin_routes(net::Router& router, const AdminContext& context);

}  // namespace paystream::svc
