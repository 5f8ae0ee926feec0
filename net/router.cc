#include "net/router.h"

#include <string>

namespace paystream::net {

void Router::add(std::string_view method, std::string_view path, Handler handler) {
  routes_.push_back({std::string(method), std::string(path), std::move(handler)});
}

void Router::route(const Request& request, const Responder& responder) const {
  bool path_known = false;
  for (const Route& r : routes_) {
    if (r.path != request.path) continue;
    path_known = true;
    if (r.method == request.method) {
      r.handler(request, responder);
      return;
    }
  }
  if (!path_known) {
    respond_error(responder, 404, "not_found", "no such path");
    return;
  }
  std::string allow;
  for (const Route& r : routes_) {
    if (r.path != request.path) continue;
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  const ResponseHeader allow_header[] = {{"Allow", allow}};
  respond_error(responder, 405, "method_not_allowed", "method not allowed on this path",
                allow_header);
}

void respond_error(const Responder& responder, int status, std::string_view code,
                   std::string_view message, std::span<const ResponseHeader> headers) {
  char body[512];
  int n = snprintf(body, sizeof body, R"({"error":"%.*s","message":"%.*s"})",
                   static_cast<int>(code.size()), code.data(), static_cast<int>(message.size()),
                   message.data());
  size_t len = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof body - 1);
  responder.respond(
      Response{.status = status, .body = std::string_view(body, len), .headers = headers});
}

}  // namespace paystream::net
