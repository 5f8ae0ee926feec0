// paystream-authd: payment-authorization service. Configuration from the
// environment only (see --help and docs/config.md).

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/config.h"
#include "net/log.h"
#include "net/termination_signals.h"
#include "svc/runtime_info.h"
#include "svc/service.h"

namespace {

constexpr int kExitBadConfig = 2;

}  // namespace

int main(int argc, char** argv) {
  paystream::net::catch_termination_signals();
  namespace core = paystream::core;
  namespace log = paystream::net::log;
  namespace svc = paystream::svc;

  if (argc > 1) {
    if (std::strcmp(argv[1], "--help") == 0 && argc == 2) {
      std::fputs(core::config_help_text().c_str(), stdout);
      return 0;
    }
    if (std::strcmp(argv[1], "--version") == 0 && argc == 2) {
      std::printf("paystream-authd %.*s (revision %.*s)\n",
                  static_cast<int>(svc::service_version_default().size()),
                  svc::service_version_default().data(), static_cast<int>(svc::revision().size()),
                  svc::revision().data());
      return 0;
    }
    std::fprintf(stderr, "usage: %s [--help | --version]\n", argv[0]);
    return kExitBadConfig;
  }

  std::signal(SIGPIPE, SIG_IGN);
  core::ConfigResult loaded = core::load_config([](const char* name) { return std::getenv(name); });
  if (loaded.error) {
    log::error("invalid configuration")
        .str("variable", loaded.error->variable)
        .str("error", loaded.error->message);
    return kExitBadConfig;
  }
  const core::Config& config = loaded.config;
  log::set_level(config.log_level);
  if (config.admin_token_file.empty() && !config.admin_allow_unauthenticated &&
      !core::is_loopback_address(config.admin_bind_addr)) {
    log::error("invalid configuration")
        .str("variable", "ADMIN_BIND_ADDR")
        .str("error",
             "a non-loopback ADMIN_BIND_ADDR needs ADMIN_TOKEN_FILE "
             "(or ADMIN_ALLOW_UNAUTHENTICATED=true)");
    return kExitBadConfig;
  }

  svc::Service service(config);
  if (int rc = service.start(); rc != 0) return rc;
  return service.run();
}
