#pragma once
// The authorization service: configuration turned into listeners, routes and
// the shared state handlers use. main() builds one and runs it.

#include <memory>
#include <vector>

#include "core/config.h"
#include "net/router.h"
#include "net/server.h"
#include "svc/authorize_handler.h"
#include "svc/authorize_shared.h"

namespace paystream::svc {

class Service {
 public:
  explicit Service(const core::Config& config);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  ~Service();

  // Binds every listener; logs and returns 2 (the start-up failure exit code) on error.
  int listen();
  // Serves until shutdown; returns the process exit code.
  int run();

 private:
  void log_startup() const;

  core::Config config_;
  AuthorizeShared authorize_;
  std::vector<std::unique_ptr<AuthorizeHandler>> authorize_handlers_;  // one per reactor
  net::Router public_router_;
  net::Router admin_router_;
  std::unique_ptr<net::Server> server_;
};

net::ServerOptions server_options(const core::Config& config);

}  // namespace paystream::svc
