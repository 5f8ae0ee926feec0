// paystream-processor-sim: the simulated card processor as a server of its own, speaking the
// processor contract (core/processor_contract.h). Flags and SIM_* variables: see --help and
// docs/processor-sim.md.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "base/file.h"
#include "core/processor_contract.h"
#include "core/secret_text.h"
#include "net/log.h"
#include "net/probes.h"
#include "net/server.h"
#include "net/termination_signals.h"
#include "svc/processor_sim/sim_admin.h"
#include "svc/processor_sim/sim_handler.h"
#include "svc/processor_sim/sim_options.h"
#include "svc/processor_sim/sim_state.h"
#include "svc/runtime_info.h"

namespace {

namespace log = paystream::net::log;
namespace net = paystream::net;
namespace core = paystream::core;
namespace sim = paystream::svc::sim;

constexpr int kExitBadConfig = 2;

}  // namespace

int main(int argc, char** argv) {
  net::catch_termination_signals();
  const std::vector<std::string> args(argv + 1, argv + argc);
  const sim::SimOptionsResult parsed =
      sim::parse_sim_options(args, [](const char* name) { return std::getenv(name); });
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "paystream-processor-sim: %s\n", parsed.error.c_str());
    log::error("invalid configuration").str("error", parsed.error);
    return kExitBadConfig;
  }
  const sim::SimOptions& o = parsed.options;
  if (o.help) {
    std::fputs(sim::sim_help_text().c_str(), stdout);
    return 0;
  }
  if (o.version) {
    const std::string_view version = paystream::svc::service_version_default();
    const std::string_view revision = paystream::svc::revision();
    std::printf("paystream-processor-sim %.*s (revision %.*s)\n", static_cast<int>(version.size()),
                version.data(), static_cast<int>(revision.size()), revision.data());
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (!o.api_key_file.empty()) {
    const std::optional<std::string> content =
        paystream::base::read_small_file(o.api_key_file.c_str(), 4096);
    if (!content || !core::secret_from_file_content(*content)) {
      log::error("invalid configuration")
          .str("variable", "--api-key-file")
          .str("error", "the API key file is missing, unreadable or empty");
      return kExitBadConfig;
    }
  }

  core::ProcessorParameters environment{.latency_ms = o.latency_ms,
                                        .jitter_ms = o.jitter_ms,
                                        .success_rate = o.success_rate,
                                        .error_rate = o.error_rate,
                                        .slow_rate = o.slow_rate,
                                        .slow_latency_ms = o.slow_latency_ms};
  sim::SimShared shared(o, environment);
  const uint64_t seed =
      o.seed ? *o.seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();

  net::ServerOptions options;
  options.public_listener.bind_addr = o.bind;
  options.public_listener.port = o.port;
  // --max-connections is the total; the server's option is per reactor.
  options.public_listener.max_connections =
      std::max<size_t>(1, static_cast<size_t>(o.max_connections) / o.reactors);
  options.public_listener.limits.idle_timeout_ms = o.idle_timeout_ms;
  options.public_listener.limits.parse.max_body_bytes = core::kMaxProcessorRequestBytes;
  options.admin_listener.bind_addr = o.admin_bind;
  options.admin_listener.port = o.admin_port;
  options.admin_listener.max_connections = 64;
  options.reactors = o.reactors;
  options.drain_timeout_ms = 5000;

  std::vector<sim::SimHandler*> handlers(o.reactors, nullptr);
  net::Router router;
  net::Router admin_router;
  router.add("POST", o.path, [&handlers](const net::Request& request, const net::Responder& r) {
    handlers[static_cast<size_t>(r.reactor().index())]->handle(request, r);
  });
  sim::add_sim_admin_routes(admin_router, shared);
  net::Server server(options, router, admin_router);
  net::add_probes(router, server);
  for (size_t i = 0; i < server.reactor_count(); ++i) {
    handlers[i] = &server.reactor(i).add_service<sim::SimHandler>(
        shared, seed + 0x9e3779b97f4a7c15ULL * (i + 1));
  }
  if (int rc = server.listen(); rc != 0) {
    log::error("cannot listen")
        .str("listener", server.failed_listener())
        .str("error", net::error_text(rc));
    return kExitBadConfig;
  }
  log::info("listening")
      .num("port", server.public_port())
      .num("admin_port", server.admin_port())
      .str("bind_addr", o.bind)
      .str("admin_bind_addr", o.admin_bind)
      .str("path", o.path)
      .num("reactors", static_cast<int64_t>(server.reactor_count()))
      .num("connection_cap", static_cast<int64_t>(server.connection_cap()))
      .boolean("api_key", !o.api_key_file.empty())
      .num("latency_ms", o.latency_ms)
      .num("jitter_ms", o.jitter_ms)
      .real("success_rate", o.success_rate)
      .real("error_rate", o.error_rate)
      .num("dedupe_ttl_s", static_cast<int64_t>(o.dedupe_ttl_s))
      .num("dedupe_max_keys", static_cast<int64_t>(o.dedupe_max_keys))
      .num("idle_timeout_ms", static_cast<int64_t>(o.idle_timeout_ms))
      .num("seed", static_cast<int64_t>(seed));
  return server.run();
}
