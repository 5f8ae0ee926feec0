#include "svc/admin_routes.h"

#include "core/fault_state_json.h"
#include "core/json_escape.h"
#include "core/secret_text.h"
#include "net/clock.h"
#include "net/log.h"

namespace paystream::svc {
namespace {

constexpr net::ResponseHeader kBearerChallenge[] = {{"WWW-Authenticate", "Bearer"}};

void respond_json(const net::Responder& responder, int status, std::string_view body) {
  responder.respond(net::Response{.status = status, .body = body});
}

// Mutating requests need the bearer token when one is configured. Constant-time
// comparison of digests; the token is never logged or echoed.
bool authorized(const AdminContext& context, const net::Request& request,
                const net::Responder& responder) {
  if (context.admin_token == nullptr) return true;
  const auto presented = core::parse_bearer_token(request.header("authorization"));
  if (presented && context.admin_token->matches(*presented)) return true;
  net::log::warn("admin request refused: missing or wrong bearer token")
      .str("method", request.method)
      .str("path", request.path);
  net::respond_error(responder, 401, "unauthorized", "missing or invalid bearer token",
                     kBearerChallenge);
  return false;
}

std::string fault_reply(const AdminContext& context) {
  return core::fault_injection_json(context.authorize->faults.current().state,
                                    context.authorize->environment);
}

void log_fault_change(const core::FaultChange& change) {
  net::log::warn("fault injection changed")
      .raw("old", core::fault_state_json(change.before.state))
      .raw("new", core::fault_state_json(change.after.state));
}

void update_faults(const AdminContext& context, const net::Request& request,
                   const net::Responder& responder) {
  if (!authorized(context, request, responder)) return;
  const core::FaultUpdateResult parsed = core::parse_fault_update(request.body);
  if (parsed.error) {
    std::string body = R"({"error":"invalid_request","field":)";
    if (parsed.error->field.empty()) {
      body += "null";
    } else {
      core::append_json_string(body, parsed.error->field);
    }
    body += R"(,"message":)";
    core::append_json_string(body, parsed.error->message);
    body += "}";
    respond_json(responder, 400, body);  // nothing changed
    return;
  }
  log_fault_change(context.authorize->faults.apply(parsed.update));
  respond_json(responder, 200, fault_reply(context));
}

void reset_faults(const AdminContext& context, const net::Request& request,
                  const net::Responder& responder) {
  if (!authorized(context, request, responder)) return;
  log_fault_change(context.authorize->faults.reset());
  respond_json(responder, 200, fault_reply(context));
}

void append_field(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ',';
  core::append_json_string(out, name);
  out += ':';
}

void append_number(std::string& out, std::string_view name, uint64_t value) {
  append_field(out, name);
  out += std::to_string(value);
}

void append_text(std::string& out, std::string_view name, std::string_view value) {
  append_field(out, name);
  core::append_json_string(out, value);
}

std::string state_json(const AdminContext& context) {
  const core::BreakerSnapshot breaker = context.authorize->breaker.snapshot(net::monotonic_ms());
  std::string out = "{";
  append_text(out, "version", context.authorize->version);
  append_text(out, "compiled_version", context.compiled_version);
  append_text(out, "revision", context.revision);
  append_number(out, "reactors", context.server->reactor_count());
  append_number(out, "uptime_seconds", (net::unix_now_ms() - context.started_unix_ms) / 1000);
  append_field(out, "circuit_breaker");
  out += '{';
  append_text(out, "state", core::breaker_state_name(breaker.state));
  append_number(out, "generation", breaker.generation);
  append_number(out, "consecutive_failures", breaker.consecutive_failures);
  append_number(out, "consecutive_successes", breaker.consecutive_successes);
  append_number(out, "half_open_requests", breaker.requests);
  append_number(out, "trips", breaker.trips);
  out += '}';
  // fault_injection_json is {"fault_injection":{…}}: take its member as ours.
  const std::string faults = fault_reply(context);
  out += ',';
  out.append(faults, 1, faults.size() - 2);
  append_text(out, "admin_auth", context.admin_token != nullptr ? "bearer_token" : "none");
  append_field(out, "processor_credential");
  out += '{';
  append_field(out, "configured");
  out += context.processor_key != nullptr ? "true" : "false";
  if (context.processor_key != nullptr) {
    append_text(out, "fingerprint", context.processor_key->fingerprint());
    append_number(out, "last_changed_unix_ms", context.processor_key->last_changed_unix_ms());
  }
  out += '}';
  append_field(out, "config");
  out += config_json(*context.config);
  out += '}';
  return out;
}

}  // namespace

std::string config_json(const core::Config& c) {
  std::string out = "{";
  append_number(out, "PORT", static_cast<uint64_t>(c.port));
  append_text(out, "BIND_ADDR", c.bind_addr);
  append_number(out, "ADMIN_PORT", static_cast<uint64_t>(c.admin_port));
  append_text(out, "ADMIN_BIND_ADDR", c.admin_bind_addr);
  append_text(out, "ADMIN_TOKEN_FILE", c.admin_token_file);
  append_field(out, "ADMIN_ALLOW_UNAUTHENTICATED");
  out += c.admin_allow_unauthenticated ? "true" : "false";
  append_number(out, "REACTORS", static_cast<uint64_t>(c.reactors));
  append_number(out, "MAX_CONNECTIONS", static_cast<uint64_t>(c.max_connections));
  append_number(out, "MAX_HEADER_BYTES", static_cast<uint64_t>(c.max_header_bytes));
  append_number(out, "MAX_BODY_BYTES", static_cast<uint64_t>(c.max_body_bytes));
  append_number(out, "HEADER_TIMEOUT_MS", static_cast<uint64_t>(c.header_timeout_ms));
  append_number(out, "BODY_TIMEOUT_MS", static_cast<uint64_t>(c.body_timeout_ms));
  append_number(out, "IDLE_TIMEOUT_MS", static_cast<uint64_t>(c.idle_timeout_ms));
  append_number(out, "DRAIN_DELAY_MS", static_cast<uint64_t>(c.drain_delay_ms));
  append_number(out, "DRAIN_TIMEOUT_MS", static_cast<uint64_t>(c.drain_timeout_ms));
  append_text(out, "LOG_LEVEL", core::log_level_name(c.log_level));
  append_text(out, "SERVICE_VERSION", c.service_version);
  append_number(out, "LATENCY_BASE_MS", static_cast<uint64_t>(c.latency_base_ms));
  append_number(out, "LATENCY_JITTER_MS", static_cast<uint64_t>(c.latency_jitter_ms));
  append_number(out, "PROCESSOR_TIMEOUT_MS", static_cast<uint64_t>(c.processor_timeout_ms));
  append_field(out, "SUCCESS_RATE");
  out += std::to_string(c.success_rate);
  append_field(out, "ERROR_RATE");
  out += std::to_string(c.error_rate);
  append_field(out, "SLOW_RATE");
  out += std::to_string(c.slow_rate);
  append_number(out, "SLOW_LATENCY_MS", static_cast<uint64_t>(c.slow_latency_ms));
  append_field(out, "RANDOM_SEED");
  out += c.random_seed ? std::to_string(*c.random_seed) : "null";
  append_text(out, "PROCESSOR_API_KEY_FILE", c.processor_api_key_file);
  append_number(out, "CB_FAILURE_THRESHOLD", static_cast<uint64_t>(c.cb_failure_threshold));
  append_number(out, "CB_OPEN_TIMEOUT_MS", static_cast<uint64_t>(c.cb_open_timeout_ms));
  append_number(out, "CB_HALF_OPEN_MAX_REQUESTS",
                static_cast<uint64_t>(c.cb_half_open_max_requests));
  append_number(out, "CB_INTERVAL_MS", static_cast<uint64_t>(c.cb_interval_ms));
  out += '}';
  return out;
}

void add_admin_routes(net::Router& router, const AdminContext& context) {
  const AdminContext* ctx = &context;
  router.add("GET", "/metrics", [ctx](const net::Request&, const net::Responder& responder) {
    const std::string text = core::render_metrics(*ctx->metrics);
    responder.respond(net::Response{.content_type = core::kMetricsContentType, .body = text});
  });
  router.add("GET", "/admin/fault-inject",
             [ctx](const net::Request&, const net::Responder& responder) {
               respond_json(responder, 200, fault_reply(*ctx));
             });
  router.add("POST", "/admin/fault-inject",
             [ctx](const net::Request& request, const net::Responder& responder) {
               update_faults(*ctx, request, responder);
             });
  router.add("DELETE", "/admin/fault-inject",
             [ctx](const net::Request& request, const net::Responder& responder) {
               reset_faults(*ctx, request, responder);
             });
  router.add("GET", "/admin/state", [ctx](const net::Request&, const net::Responder& responder) {
    respond_json(responder, 200, state_json(*ctx));
  });
}

}  // namespace paystream::svc
