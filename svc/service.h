#pragma once
// The authorization service: configuration turned into listeners, routes and
// the shared state handlers use. main() builds one and runs it.

#include <memory>
#include <vector>

#include "core/authorize_shared.h"
#include "core/config.h"
#include "core/idempotency_store.h"
#include "core/metric_shard.h"
#include "core/metrics_collector.h"
#include "net/router.h"
#include "net/server.h"
#include "svc/admin_routes.h"
#include "svc/authorize_handler.h"
#include "svc/health.h"
#include "svc/processor_credential.h"
#include "svc/secret_watch.h"

namespace paystream::svc {

class Service {
 public:
  explicit Service(const core::Config& config);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  ~Service();

  // Loads the secret files and binds every listener; logs and returns 2 (the
  // start-up failure exit code) on error.
  int start();
  // Serves until shutdown; returns the process exit code.
  int run();

 private:
  void log_startup() const;
  // The connection cap times the per-connection memory bound, against the cgroup limit.
  void log_memory_budget() const;
  void log_processor_mode() const;
  core::HttpMetrics http_metrics() const;
  void add_idempotency_store();
  void add_processor_link();
  core::ProcessorLinkMetrics processor_link_metrics() const;
  // The keys' HMAC secret from IDEMPOTENCY_HMAC_KEY_FILE, or random; false (logged) on error.
  bool load_idempotency_secret();

  core::Config config_;
  uint64_t started_unix_ms_;
  core::AuthorizeShared authorize_;
  std::vector<std::unique_ptr<core::MetricShard>> shards_;  // one per reactor
  // Services of the reactors, owned by them: one handler per reactor, the secret
  // watches on the admin reactor (null when not configured).
  std::vector<AuthorizeHandler*> authorize_handlers_;
  // The idempotency store: embedded (shared by the reactors) or one Redis client per reactor.
  std::unique_ptr<core::EmbeddedStore> idempotency_store_;
  std::vector<net::RedisClient*> redis_clients_;
  // PROCESSOR_MODE=http: one client per reactor, and the API key they send.
  std::vector<net::HttpClient*> processor_clients_;
  ProcessorCredential processor_credential_;
  SecretWatch* admin_token_ = nullptr;
  SecretWatch* processor_key_ = nullptr;
  std::unique_ptr<core::MetricsCollector> metrics_;
  AdminContext admin_context_;
  HealthContext health_context_;
  net::Router public_router_;
  net::Router admin_router_;
  std::unique_ptr<net::Server> server_;
};

net::ServerOptions server_options(const core::Config& config);

}  // namespace paystream::svc
