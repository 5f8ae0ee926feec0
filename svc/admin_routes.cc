#include "svc/admin_routes.h"

#include <memory>

#include "base/clock.h"
#include "base/json_escape.h"
#include "core/config.h"
#include "core/fault_state_json.h"
#include "core/request_headers.h"
#include "core/secret_text.h"
#include "net/log.h"

namespace paystream::svc {
namespace {

constexpr net::ResponseHeader kBearerChallenge[] = {{"WWW-Authenticate", "Bearer"}};

void respond_json(const net::Responder& responder, int status, std::string_view body) {
  responder.respond(net::Response{.status = status, .body = body});
}

enum class Access { read, mutate };

// Refusals are logged, at most LOG_RATE_LIMIT a second (the admin port is one thread).
struct RefusalLog {
  net::log::RateLimiter limiter;
};

void log_refusal(RefusalLog& log, const net::Request& request, std::string_view why) {
  if (!net::log::admit(log.limiter, "admin request refused", base::monotonic_ms())) return;
  net::log::warn("admin request refused")
      .str("reason", why)
      .str("method", request.method)
      .str("path", request.path);
}

// The checks every /admin/* request passes, in this order:
// - without a token on a loopback listener, the Host must be a loopback one (403), so a
//   page in a browser on this host cannot reach us through DNS rebinding;
// - with a token, `Authorization: Bearer` (401), compared in constant time on digests;
//   the token is never logged or echoed;
// - a mutation must be `Content-Type: application/json` (415): a browser cannot send
//   that cross-origin without a CORS preflight, which this port never grants.
bool admitted(const AdminContext& context, RefusalLog& log, Access access,
              const net::Request& request, const net::Responder& responder) {
  if (context.admin_token == nullptr) {
    if (core::is_loopback_address(context.config->admin_bind_addr) &&
        !core::is_loopback_host(request.header("host"))) {
      log_refusal(log, request, "host is not loopback");
      net::respond_error(responder, 403, "forbidden",
                         "without an admin token, Host must be 127.0.0.1, localhost or [::1]");
      return false;
    }
  } else {
    const auto presented = core::parse_bearer_token(request.header("authorization"));
    if (!presented || !context.admin_token->matches(*presented)) {
      log_refusal(log, request, "missing or wrong bearer token");
      net::respond_error(responder, 401, "unauthorized", "missing or invalid bearer token",
                         kBearerChallenge);
      return false;
    }
  }
  if (access == Access::mutate &&
      !core::is_json_utf8_content_type(request.header("content-type"))) {
    net::respond_error(responder, 415, "unsupported_media_type",
                       "Content-Type must be application/json (charset utf-8 if given)");
    return false;
  }
  return true;
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
  const core::FaultUpdateResult parsed = core::parse_fault_update(request.body);
  if (parsed.error) {
    std::string body = R"({"error":"invalid_request","field":)";
    if (parsed.error->field.empty()) {
      body += "null";
    } else {
      base::append_json_string(body, parsed.error->field);
    }
    body += R"(,"message":)";
    base::append_json_string(body, parsed.error->message);
    body += "}";
    respond_json(responder, 400, body);  // nothing changed
    return;
  }
  log_fault_change(context.authorize->faults.apply(parsed.update));
  respond_json(responder, 200, fault_reply(context));
}

void reset_faults(const AdminContext& context, const net::Responder& responder) {
  log_fault_change(context.authorize->faults.reset());
  respond_json(responder, 200, fault_reply(context));
}

void append_field(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ',';
  base::append_json_string(out, name);
  out += ':';
}

void append_number(std::string& out, std::string_view name, uint64_t value) {
  append_field(out, name);
  out += std::to_string(value);
}

void append_text(std::string& out, std::string_view name, std::string_view value) {
  append_field(out, name);
  base::append_json_string(out, value);
}

std::string state_json(const AdminContext& context) {
  const core::BreakerSnapshot breaker = context.authorize->breaker.snapshot(base::monotonic_ms());
  std::string out = "{";
  append_text(out, "version", context.authorize->version);
  append_text(out, "compiled_version", context.compiled_version);
  append_text(out, "revision", context.revision);
  append_number(out, "reactors", context.server->reactor_count());
  append_number(out, "uptime_seconds", (base::unix_now_ms() - context.started_unix_ms) / 1000);
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
  append_field(out, "processor");
  out += '{';
  const core::ProcessorLinkMetrics link =
      context.processor_link ? context.processor_link() : core::ProcessorLinkMetrics{};
  append_text(out, "mode", core::processor_mode_name(context.config->processor_mode));
  if (context.config->processor_mode == core::ProcessorMode::simulated) {
    append_text(out, "warning", "simulated processor: no real payment is authorized");
  } else {
    append_text(out, "url", context.config->processor_url);
    append_number(out, "max_connections_per_reactor", context.config->processor_max_connections);
    append_number(out, "connections_open", link.connections_open);
    append_number(out, "connections_busy", link.connections_busy);
    append_number(out, "queue_depth", link.queue_depth);
    append_number(out, "retries", link.retries);
  }
  out += '}';
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
  out += core::config_json(*context.config);
  out += '}';
  return out;
}

// An /admin/* route: `handle(context, request, responder)` once the request is admitted.
template <typename Handle>
void add_guarded(net::Router& router, const AdminContext& context,
                 const std::shared_ptr<RefusalLog>& log, std::string_view method,
                 std::string_view path, Handle handle) {
  const Access access = method == "GET" ? Access::read : Access::mutate;
  router.add(method, path,
             [ctx = &context, log, access, handle](const net::Request& request,
                                                   const net::Responder& responder) {
               if (admitted(*ctx, *log, access, request, responder))
                 handle(*ctx, request, responder);
             });
}

}  // namespace

void add_admin_routes(net::Router& router, const AdminContext& context) {
  const AdminContext* ctx = &context;
  // Prometheus scrapes without credentials: /metrics holds no secret and changes nothing.
  router.add("GET", "/metrics", [ctx](const net::Request&, const net::Responder& responder) {
    const std::string text = core::render_metrics(*ctx->metrics);
    responder.respond(net::Response{.content_type = core::kMetricsContentType, .body = text});
  });
  const auto log = std::make_shared<RefusalLog>(
      RefusalLog{net::log::RateLimiter(static_cast<uint32_t>(context.config->log_rate_limit))});
  add_guarded(router, context, log, "GET", "/admin/fault-inject",
              [](const AdminContext& c, const net::Request&, const net::Responder& responder) {
                respond_json(responder, 200, fault_reply(c));
              });
  add_guarded(router, context, log, "POST", "/admin/fault-inject", update_faults);
  add_guarded(router, context, log, "DELETE", "/admin/fault-inject",
              [](const AdminContext& c, const net::Request&, const net::Responder& responder) {
                reset_faults(c, responder);
              });
  add_guarded(router, context, log, "GET", "/admin/state",
              [](const AdminContext& c, const net::Request&, const net::Responder& responder) {
                respond_json(responder, 200, state_json(c));
              });
}

}  // namespace paystream::svc
