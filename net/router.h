#pragma once
// Exact-path routing: unknown path → 404, known path with another method → 405
// with Allow. Handlers are registered once at start-up and only read afterwards.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_types.h"
#include "net/responder.h"

namespace paystream::net {

using Handler = std::function<void(const Request&, const Responder&)>;

class Router {
 public:
  void add(std::string_view method, std::string_view path, Handler handler);
  void route(const Request& request, const Responder& responder) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// {"error":"<code>","message":"<message>"} for our own fixed texts (no escaping needed).
void respond_error(const Responder& responder, int status, std::string_view code,
                   std::string_view message, std::span<const ResponseHeader> headers = {});

}  // namespace paystream::net
