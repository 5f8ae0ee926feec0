#include "svc/processor_sim/sim_admin.h"

#include "base/json_escape.h"
#include "net/log.h"

namespace paystream::svc::sim {
namespace {

void respond_json(const net::Responder& responder, int status, const std::string& body) {
  responder.respond(net::Response{.status = status, .body = body});
}

}  // namespace

void add_sim_admin_routes(net::Router& router, SimShared& shared) {
  router.add("GET", "/admin/faults", [&shared](const net::Request&, const net::Responder& r) {
    respond_json(r, 200, shared.faults.json());
  });
  router.add("PUT", "/admin/faults", [&shared](const net::Request& req, const net::Responder& r) {
    const std::string before = shared.faults.json();
    if (auto error = shared.faults.update(req.body)) {
      std::string body = R"({"error":"invalid_request","message":)";
      base::append_json_string(body, error->message);
      body += R"(,"field":)";
      if (error->field.empty()) {
        body += "null";
      } else {
        base::append_json_string(body, error->field);
      }
      body += '}';
      respond_json(r, 400, body);
      return;
    }
    const std::string after = shared.faults.json();
    net::log::info("faults changed").raw("before", before).raw("after", after);
    respond_json(r, 200, after);
  });
  router.add("DELETE", "/admin/faults", [&shared](const net::Request&, const net::Responder& r) {
    shared.faults.reset();
    const std::string after = shared.faults.json();
    net::log::info("faults reset").raw("after", after);
    respond_json(r, 200, after);
  });
  router.add("GET", "/admin/stats", [&shared](const net::Request&, const net::Responder& r) {
    respond_json(r, 200, shared.stats_json());
  });
  router.add("GET", "/metrics", [&shared](const net::Request&, const net::Responder& r) {
    const std::string text = shared.metrics_text();
    r.respond(net::Response{.content_type = "text/plain; version=0.0.4", .body = text});
  });
}

}  // namespace paystream::svc::sim
