#include "net/probes.h"

#include <string>

namespace paystream::net {

void add_probes(Router& router, const Server& server) {
  router.add("GET", "/livez", [&server](const Request&, const Responder& responder) {
    const std::vector<int> stalled = server.stalled_reactors(kStalledHeartbeatMs);
    if (stalled.empty()) {
      responder.respond(Response{.body = R"({"status":"alive"})"});
      return;
    }
    std::string message = "heartbeat older than 2 s on reactor";
    for (int index : stalled) {
      message += ' ';
      message += std::to_string(index);
    }
    respond_error(responder, 503, "reactor_stalled", message);
  });
  router.add("GET", "/readyz", [&server](const Request&, const Responder& responder) {
    if (server.draining()) {
      respond_error(responder, 503, "draining", "shutting down");
      return;
    }
    responder.respond(Response{.body = R"({"status":"ready"})"});
  });
}

}  // namespace paystream::net
