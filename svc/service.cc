#include "svc/service.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <limits>

#include "base/clock.h"
#include "base/file.h"
#include "core/fault_state.h"
#include "core/secret_text.h"
#include "net/cpu_count.h"
#include "net/log.h"
#include "net/memory_bound.h"
#include "net/probes.h"
#include "net/versions.h"
#include "svc/process_metrics.h"
#include "svc/runtime_info.h"
#include "svc/secret_file.h"

namespace paystream::svc {

net::ServerOptions server_options(const core::Config& config) {
  net::ServerOptions options;
  net::SessionLimits limits;
  limits.parse.max_header_bytes = static_cast<size_t>(config.max_header_bytes);
  limits.parse.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  limits.header_timeout_ms = static_cast<uint64_t>(config.header_timeout_ms);
  limits.body_timeout_ms = static_cast<uint64_t>(config.body_timeout_ms);
  limits.idle_timeout_ms = static_cast<uint64_t>(config.idle_timeout_ms);
  limits.write_timeout_ms = static_cast<uint64_t>(config.write_timeout_ms);
  options.public_listener.bind_addr = config.bind_addr;
  options.public_listener.port = static_cast<int>(config.port);
  options.public_listener.max_connections = static_cast<size_t>(config.max_connections);
  options.public_listener.limits = limits;
  options.admin_listener.bind_addr = config.admin_bind_addr;
  options.admin_listener.port = static_cast<int>(config.admin_port);
  options.admin_listener.max_connections = 1024;
  options.admin_listener.limits = limits;
  options.reactors = config.reactors > 0 ? static_cast<size_t>(config.reactors)
                                         : static_cast<size_t>(net::usable_cpus());
  options.drain_delay_ms = static_cast<uint64_t>(config.drain_delay_ms);
  options.drain_timeout_ms = static_cast<uint64_t>(config.drain_timeout_ms);
  return options;
}

namespace {

constexpr size_t kMaxCgroupFileBytes = 64;

core::BreakerSettings breaker_settings(const core::Config& config) {
  return core::BreakerSettings{
      .failure_threshold = static_cast<uint32_t>(config.cb_failure_threshold),
      .open_timeout_ms = static_cast<uint32_t>(config.cb_open_timeout_ms),
      .half_open_max_requests = static_cast<uint32_t>(config.cb_half_open_max_requests),
      .interval_ms = static_cast<uint32_t>(config.cb_interval_ms),
  };
}

// RANDOM_SEED makes a single-reactor run reproducible; otherwise each start differs.
uint64_t reactor_seed(const core::Config& config, size_t reactor) {
  if (config.random_seed) return *config.random_seed + reactor;
  uint64_t seed = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1)
    seed = base::monotonic_ns() ^ (reactor << 32);
  return seed;
}

}  // namespace

Service::Service(const core::Config& config)
    : config_(config),
      started_unix_ms_(base::unix_now_ms()),
      authorize_(breaker_settings(config), base::monotonic_ms()),
      server_(
          std::make_unique<net::Server>(server_options(config), public_router_, admin_router_)) {
  authorize_.version = config.service_version.empty() ? std::string(service_version_default())
                                                      : config.service_version;
  authorize_.processor_mode = config.processor_mode;
  authorize_.environment = config.processor_mode == core::ProcessorMode::http
                               ? core::no_simulation()
                               : core::environment_parameters(config);
  authorize_.processor_timeout_ms = static_cast<uint32_t>(config.processor_timeout_ms);
  authorize_.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  for (size_t i = 0; i < server_->reactor_count(); ++i) {
    shards_.push_back(std::make_unique<core::MetricShard>());
    authorize_handlers_.push_back(&server_->reactor(i).add_service<AuthorizeHandler>(
        authorize_, *shards_.back(), reactor_seed(config, i),
        static_cast<uint32_t>(config.log_rate_limit)));
  }
  add_idempotency_store();
  add_processor_link();
  public_router_.add("POST", "/v1/authorize",
                     [this](const net::Request& request, const net::Responder& responder) {
                       const auto reactor = static_cast<size_t>(responder.reactor().index());
                       authorize_handlers_[reactor]->handle(request, responder);
                     });
  net::add_probes(public_router_, *server_);

  core::ScrapeSources sources;
  for (const auto& shard : shards_) sources.shards.push_back(shard.get());
  sources.now_ms = base::monotonic_ms;
  sources.http = [this] { return http_metrics(); };
  sources.breaker = [this] {
    const core::BreakerSnapshot s = authorize_.breaker.snapshot(base::monotonic_ms());
    return core::BreakerMetrics{s.state, s.trips};
  };
  sources.fault = [this] { return core::fault_metrics(authorize_.faults, authorize_.environment); };
  sources.process = read_process_metrics;
  if (idempotency_store_) {
    sources.idempotency_store = [store = idempotency_store_.get()] {
      const core::EmbeddedStore::Stats stats = store->stats(base::monotonic_ms());
      return core::IdempotencyStoreMetrics{
          .entries = stats.entries,
          .capacity = stats.capacity,
          .evictions = stats.evictions,
          .oldest_completed_age_seconds = static_cast<double>(stats.oldest_completed_age_ms) / 1000,
      };
    };
  }
  sources.processor_link = [this] { return processor_link_metrics(); };
  sources.log_lines_dropped = net::log::lines_dropped;
  sources.build = {authorize_.version, std::string(revision()),
                   std::string(service_version_default())};
  metrics_ = std::make_unique<core::MetricsCollector>(std::move(sources));

  health_context_ = HealthContext{.shards = {},
                                  .breaker = &authorize_.breaker,
                                  .version = authorize_.version,
                                  .started_unix_ms = started_unix_ms_};
  for (const auto& shard : shards_) health_context_.shards.push_back(shard.get());
  add_health_route(public_router_, health_context_);
}

void Service::add_idempotency_store() {
  authorize_.idempotency_ttl_ms = static_cast<uint64_t>(config_.idempotency_ttl_s) * 1000;
  if (config_.idempotency_redis_url.empty()) {
    idempotency_store_ =
        std::make_unique<core::EmbeddedStore>(static_cast<size_t>(config_.idempotency_max_bytes));
    for (AuthorizeHandler* handler : authorize_handlers_) handler->use_store(*idempotency_store_);
    return;
  }
  // load_config accepted the URL.
  const core::RedisEndpoint endpoint = *core::parse_redis_url(config_.idempotency_redis_url);
  net::RedisOptions options;
  options.host = endpoint.host;
  options.port = endpoint.port;
  if (!config_.idempotency_redis_password_file.empty()) {
    // Read at each (re)connect, so a rotated password is used from the next connection.
    options.password = [path = config_.idempotency_redis_password_file] {
      const std::optional<std::string> content =
          base::read_small_file(path.c_str(), kMaxSecretFileBytes);
      return content ? std::string(core::trim_trailing_whitespace(*content)) : std::string();
    };
  }
  options.scripts = idempotency_redis_scripts();
  options.connect_timeout_ms = static_cast<uint32_t>(config_.idempotency_redis_timeout_ms);
  options.command_timeout_ms = static_cast<uint32_t>(config_.idempotency_redis_timeout_ms);
  options.max_pending = static_cast<size_t>(config_.idempotency_redis_max_pending);
  for (size_t i = 0; i < server_->reactor_count(); ++i) {
    // After the handler: the reactor destroys its newest service first.
    net::RedisClient& client = server_->reactor(i).add_service<net::RedisClient>(options);
    authorize_handlers_[i]->use_store(client);
    redis_clients_.push_back(&client);
  }
}

void Service::add_processor_link() {
  if (config_.processor_mode != core::ProcessorMode::http) return;
  // load_config accepted the URL.
  const core::HttpEndpoint endpoint = *core::parse_http_url(config_.processor_url);
  net::HttpClientOptions options;
  options.host = endpoint.host;
  options.port = endpoint.port;
  options.host_header = endpoint.host_header;
  options.max_connections = static_cast<size_t>(config_.processor_max_connections);
  options.max_queue = static_cast<size_t>(config_.processor_max_queue);
  options.idle_timeout_ms = static_cast<uint32_t>(config_.processor_idle_timeout_ms);
  options.resolve_interval_ms = static_cast<uint32_t>(config_.processor_resolve_interval_ms);
  options.max_response_bytes = core::kMaxProcessorAnswerBytes;
  const ProcessorCredential* credential =
      config_.processor_api_key_file.empty() ? nullptr : &processor_credential_;
  for (size_t i = 0; i < server_->reactor_count(); ++i) {
    // After the handler: the reactor destroys its newest service first.
    net::HttpClient& client = server_->reactor(i).add_service<net::HttpClient>(options);
    authorize_handlers_[i]->use_processor(client, endpoint.target, credential);
    processor_clients_.push_back(&client);
  }
}

core::ProcessorLinkMetrics Service::processor_link_metrics() const {
  core::ProcessorLinkMetrics link{.mode = config_.processor_mode};
  for (const net::HttpClient* client : processor_clients_) {
    const net::HttpClientStats& stats = client->stats();
    link.connections_open += stats.connections_open();
    link.connections_busy += stats.connections_busy();
    link.queue_depth += stats.queue_depth();
    link.retries += stats.retries();
  }
  return link;
}

bool Service::load_idempotency_secret() {
  constexpr size_t kMinSecretBytes = 32;
  if (config_.idempotency_hmac_key_file.empty()) {
    // One process, one embedded store: a key of its own is enough (load_config requires the
    // file with Redis, where every pod must compute the same store keys).
    std::string secret(kMinSecretBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()),
                   static_cast<int>(secret.size())) != 1) {
      net::log::error("cannot draw a random idempotency key secret");
      return false;
    }
    authorize_.idempotency.emplace(secret);
    OPENSSL_cleanse(secret.data(), secret.size());
    return true;
  }
  std::optional<std::string> content =
      base::read_small_file(config_.idempotency_hmac_key_file.c_str(), kMaxSecretFileBytes);
  const std::string_view secret =
      content ? core::trim_trailing_whitespace(*content) : std::string_view();
  if (secret.size() < kMinSecretBytes) {
    net::log::error("idempotency key secret unusable")
        .str("variable", "IDEMPOTENCY_HMAC_KEY_FILE")
        .str("reason", content ? "shorter than 32 bytes" : "missing or unreadable");
  } else {
    authorize_.idempotency.emplace(secret);
  }
  if (content) OPENSSL_cleanse(content->data(), content->size());
  return authorize_.idempotency.has_value();
}

Service::~Service() {
  // The reactors first: their services (the handlers, the secret watches) refer to
  // the shards and the shared state below, whatever the order of the members.
  server_.reset();
}

core::HttpMetrics Service::http_metrics() const {
  core::HttpMetrics http;
  for (int code : net::kHttpErrorCodes) http.errors_by_code.emplace_back(code, 0);
  for (size_t r = 0; r < server_->reactor_count(); ++r) {
    const net::ReactorStats& stats = server_->reactor(r).stats();
    http.connections_active += stats.connections_active();
    http.connections_rejected += stats.connections_rejected();
    for (size_t i = 0; i < net::kHttpErrorCodes.size(); ++i) {
      http.errors_by_code[i].second += stats.http_errors(i);
    }
    http.reactor_requests.push_back(stats.requests());
  }
  return http;
}

int Service::start() {
  if (!load_idempotency_secret()) return 2;
  net::Reactor& admin = server_->admin_reactor();
  if (!config_.admin_token_file.empty()) {
    admin_token_ = SecretWatch::start("admin_token", config_.admin_token_file, admin);
    if (!admin_token_) return 2;
  }
  if (!config_.processor_api_key_file.empty()) {
    // No start-up without the credential the processor calls carry. Each rotation reaches
    // every reactor's next call; the pools keep their connections.
    processor_key_ = SecretWatch::start("processor_api_key", config_.processor_api_key_file, admin);
    if (!processor_key_) return 2;
    processor_key_->on_change([this](std::string_view key) { processor_credential_.publish(key); });
  }
  admin_context_ = AdminContext{.config = &config_,
                                .server = server_.get(),
                                .authorize = &authorize_,
                                .metrics = metrics_.get(),
                                .admin_token = admin_token_,
                                .processor_key = processor_key_,
                                .processor_link = [this] { return processor_link_metrics(); },
                                .revision = std::string(revision()),
                                .compiled_version = std::string(service_version_default()),
                                .started_unix_ms = started_unix_ms_};
  add_admin_routes(admin_router_, admin_context_);
  if (int rc = server_->listen(); rc != 0) {
    net::log::error("cannot listen")
        .str("listener", server_->failed_listener())
        .str("error", net::error_text(rc));
    return 2;
  }
  log_startup();
  return 0;
}

int Service::run() {
  return server_->run();
}

void Service::log_startup() const {
  const AllocatorInfo allocator = check_allocator();
  std::string mimalloc = R"({"linked":)";
  mimalloc += allocator.linked ? "true" : "false";
  if (allocator.linked) {
    mimalloc += R"(,"version":")" + allocator.version + R"(","override":)";
    mimalloc += allocator.overrides ? "true" : "false";
  }
  mimalloc += "}";
  std::string simdjson = R"({"version":")" + simdjson_version() + R"(","kernel":")" +
                         std::string(simdjson_kernel()) + R"(","active":")" +
                         simdjson_active_kernel() + R"("})";
  net::log::info("listening")
      .num("port", server_->public_port())
      .num("admin_port", server_->admin_port())
      .str("bind_addr", config_.bind_addr)
      .str("admin_bind_addr", config_.admin_bind_addr)
      .num("reactors", static_cast<int64_t>(server_->reactor_count()))
      .num("connection_cap", static_cast<int64_t>(server_->connection_cap()))
      .str("version", service_version_default())
      .str("revision", revision())
      .str("libuv", net::libuv_version())
      .str("llhttp", net::llhttp_version())
      .raw("simdjson", simdjson)
      .raw("mimalloc", mimalloc)
      .str("idempotency_store", idempotency_store_ ? "embedded" : "redis");
  if (!idempotency_store_) {
    const core::RedisEndpoint endpoint = *core::parse_redis_url(config_.idempotency_redis_url);
    net::log::info("idempotency keys in redis")
        .str("host", endpoint.host)
        .num("port", endpoint.port)
        .num("reactors", static_cast<int64_t>(redis_clients_.size()));
  }
  log_processor_mode();
  if (allocator.linked && !allocator.overrides) {
    net::log::error("mimalloc is linked but does not replace malloc/new");
  }
  log_memory_budget();
}

void Service::log_processor_mode() const {
  if (config_.processor_mode == core::ProcessorMode::simulated) {
    // Loud on purpose: a pod that should call the real processor must never look healthy.
    net::log::warn("processor is SIMULATED: no real payment is authorized")
        .str("processor_mode", "simulated")
        .num("latency_base_ms", config_.latency_base_ms)
        .num("success_rate_permille", static_cast<int64_t>(config_.success_rate * 1000));
    return;
  }
  const core::HttpEndpoint endpoint = *core::parse_http_url(config_.processor_url);
  net::log::info("processor over http")
      .str("processor_mode", "http")
      .str("host", endpoint.host)
      .num("port", endpoint.port)
      .str("target", endpoint.target)
      .num("max_connections_per_reactor", config_.processor_max_connections)
      .num("max_queue_per_reactor", config_.processor_max_queue)
      .num("idle_timeout_ms", config_.processor_idle_timeout_ms)
      .num("timeout_ms", config_.processor_timeout_ms)
      .str("api_key", config_.processor_api_key_file.empty() ? "none" : "file");
}

void Service::log_memory_budget() const {
  const net::ConnectionBound bound = net::connection_bound(
      server_options(config_).public_listener.limits, net::kLargestPublicResponseBytes);
  const std::optional<std::string> text =
      base::read_small_file("/sys/fs/cgroup/memory.max", kMaxCgroupFileBytes);
  const net::MemoryLimit limit = text ? net::parse_memory_max(*text) : net::MemoryLimit{};
  net::MemoryBudget budget = net::memory_budget(server_->connection_cap(), bound.total(), limit);
  // The embedded idempotency store is allocated once, at its bound.
  const uint64_t store_bytes =
      idempotency_store_ ? static_cast<uint64_t>(config_.idempotency_max_bytes) : 0;
  budget.worst_case_bytes =
      std::min(budget.worst_case_bytes, std::numeric_limits<uint64_t>::max() - store_bytes) +
      store_bytes;
  if (limit.kind == net::MemoryLimitKind::limited) {
    budget.exceeds_limit = budget.worst_case_bytes > limit.bytes;
  }
  auto line = budget.exceeds_limit ? net::log::warn("connection cap can exceed the memory limit")
                                   : net::log::info("connection memory bound");
  line.num("connection_cap", static_cast<int64_t>(server_->connection_cap()))
      .num("per_connection_bytes", static_cast<int64_t>(bound.total()))
      .num("per_connection_kernel_bytes", static_cast<int64_t>(bound.kernel))
      .num("idempotency_store_bytes", static_cast<int64_t>(store_bytes))
      .num("worst_case_bytes", static_cast<int64_t>(std::min<uint64_t>(
                                   budget.worst_case_bytes, std::numeric_limits<int64_t>::max())));
  switch (limit.kind) {
    case net::MemoryLimitKind::limited:
      line.num("memory_max_bytes", static_cast<int64_t>(std::min<uint64_t>(
                                       limit.bytes, std::numeric_limits<int64_t>::max())));
      break;
    case net::MemoryLimitKind::unlimited:
      line.str("memory_max", "max");
      break;
    case net::MemoryLimitKind::unknown:
      line.str("memory_max", "unknown");
      break;
  }
}

}  // namespace paystream::svc
