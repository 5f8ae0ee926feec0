// Test-only server for net/'s end-to-end tests (never installed): the real reactor
// and session code with handlers that answer at once, echo, or answer later on a
// timer. Configured by the same environment variables as the service.

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "net/log.h"
#include "net/probes.h"
#include "net/reactor_timer.h"
#include "net/server.h"
#include "net/termination_signals.h"

namespace net = paystream::net;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr) return fallback;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v, v + std::strlen(v), n);
  if (ec != std::errc() || *p != '\0' || n < 0) {
    std::fprintf(stderr, "%s must be a non-negative integer\n", name);
    std::exit(2);
  }
  return n;
}

std::string reactor_body(const net::Responder& responder) {
  return R"({"reactor":)" + std::to_string(responder.reactor().index()) + "}";
}

// An answer sent after ?ms=N on the reactor's timer; the timer is destroyed from its
// own callback, which ReactorTimer allows.
struct DelayedAnswer {
  net::Responder responder;
  std::string target;  // copied: the request is gone once handle() returns
  std::unique_ptr<net::ReactorTimer> timer;
};

void answer_later(const net::Request& request, const net::Responder& responder) {
  int64_t ms = 0;
  std::string_view q = request.query;
  if (q.starts_with("ms=")) std::from_chars(q.data() + 3, q.data() + q.size(), ms);
  auto* d = new DelayedAnswer{responder, std::string(request.target), nullptr};
  d->timer = std::make_unique<net::ReactorTimer>(responder.reactor(), [d] {
    const std::string body = R"({"reactor":)" + std::to_string(d->responder.reactor().index()) +
                             R"(,"target":")" + d->target + "\"}";
    d->responder.respond(net::Response{.body = body});  // dropped if the client left
    delete d;
  });
  d->timer->start(static_cast<uint64_t>(ms));
}

}  // namespace

int main() {
  net::catch_termination_signals();
  signal(SIGPIPE, SIG_IGN);
  net::ServerOptions options;
  net::SessionLimits& limits = options.public_listener.limits;
  limits.parse.max_header_bytes = static_cast<size_t>(env_int("MAX_HEADER_BYTES", 8192));
  limits.parse.max_body_bytes = static_cast<size_t>(env_int("MAX_BODY_BYTES", 16384));
  limits.header_timeout_ms = static_cast<uint64_t>(env_int("HEADER_TIMEOUT_MS", 5000));
  limits.body_timeout_ms = static_cast<uint64_t>(env_int("BODY_TIMEOUT_MS", 10000));
  limits.idle_timeout_ms = static_cast<uint64_t>(env_int("IDLE_TIMEOUT_MS", 60000));
  options.public_listener.bind_addr = "127.0.0.1";
  options.public_listener.port = static_cast<int>(env_int("PORT", 0));
  options.public_listener.max_connections = static_cast<size_t>(env_int("MAX_CONNECTIONS", 20000));
  options.admin_listener.bind_addr = "127.0.0.1";
  options.admin_listener.port = static_cast<int>(env_int("ADMIN_PORT", 0));
  options.admin_listener.limits = limits;
  options.reactors = static_cast<size_t>(env_int("REACTORS", 1));
  options.drain_delay_ms = static_cast<uint64_t>(env_int("DRAIN_DELAY_MS", 0));
  options.drain_timeout_ms = static_cast<uint64_t>(env_int("DRAIN_TIMEOUT_MS", 10000));

  net::Router router;
  net::Router admin_router;
  router.add("GET", "/hello", [](const net::Request&, const net::Responder& r) {
    const std::string body = reactor_body(r);
    r.respond(net::Response{.body = body});
  });
  router.add("POST", "/echo", [](const net::Request& req, const net::Responder& r) {
    r.respond(net::Response{.content_type = "application/octet-stream", .body = req.body});
  });
  router.add("GET", "/delay", answer_later);
  // Answered from another thread: the handler hands the answer back through post().
  router.add("GET", "/thread", [](const net::Request&, const net::Responder& r) {
    std::thread([r] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      r.reactor().post([r] { r.respond(net::Response{.body = R"({"thread":"worker"})"}); });
    }).detach();
  });
  router.add("POST", "/delay", answer_later);
  router.add("GET", "/cut", [](const net::Request&, const net::Responder& r) {
    r.send_raw_then_reset("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut");
  });
  net::Server server(options, router, admin_router);
  net::add_probes(router, server);
  if (int rc = server.listen(); rc != 0) {
    net::log::error("listen failed")
        .str("listener", server.failed_listener())
        .str("error", net::error_text(rc));
    return 2;
  }
  net::log::info("listening")
      .num("port", server.public_port())
      .num("admin_port", server.admin_port())
      .num("reactors", static_cast<int64_t>(server.reactor_count()));
  // Widens the window between listening and running, where a signal must still drain.
  if (const int64_t pause = env_int("PAUSE_BEFORE_RUN_MS", 0); pause > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause));
  }
  return server.run();
}
