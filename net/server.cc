#include "net/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

#include "base/clock.h"
#include "net/log.h"
#include "net/termination_signals.h"

namespace paystream::net {
namespace {

// File descriptors kept for everything that is not a client connection.
constexpr uint64_t kReservedFds = 64;

Server* of(uv_handle_t* h) {
  return static_cast<Server*>(h->data);
}

uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
}

}  // namespace

std::string_view error_text(int code) {
  return uv_strerror(code);
}

Server::Server(const ServerOptions& options, const Router& public_router,
               const Router& admin_router)
    : options_(options) {
  const size_t n = std::max<size_t>(1, options.reactors);
  for (size_t i = 0; i < n; ++i) {
    reactors_.push_back(std::make_unique<Reactor>(static_cast<int>(i),
                                                  "reactor-" + std::to_string(i),
                                                  options.public_listener, public_router));
  }
  ListenerOptions admin_options = options.admin_listener;
  admin_options.reuse_port = false;
  admin_ = std::make_unique<Reactor>(-1, "admin", admin_options, admin_router);
  reactor_finished_.assign(n, false);

  // Signals are watched from before the first listener exists: a SIGTERM at any
  // instant from here on drains. The admin loop handles it once run() starts it.
  uv_loop_t* loop = admin_->loop();
  uv_signal_init(loop, &sigterm_);
  uv_signal_init(loop, &sigint_);
  uv_timer_init(loop, &drain_delay_);
  uv_timer_init(loop, &drain_deadline_);
  sigterm_.data = sigint_.data = drain_delay_.data = drain_deadline_.data = this;
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  uv_signal_start(&sigint_, on_signal, SIGINT);
  // One that came earlier (see catch_termination_signals) is taken over now.
  if (int signum = take_early_termination_signal(); signum != 0) begin_shutdown(signum);
}

Server::~Server() {
  for (auto& r : reactors_) r->join();
  // The admin loop holds this object's signal and timer handles: it closes them
  // while they are still alive, whatever the order of the members.
  admin_.reset();
}

int Server::listen() {
  const uint64_t fd_limit = raise_open_file_limit();
  const uint64_t wanted = options_.public_listener.max_connections * reactors_.size();
  const uint64_t available = fd_limit > kReservedFds ? fd_limit - kReservedFds : 1;
  connection_cap_ = static_cast<size_t>(std::min(wanted, available));
  // The cap is shared fairly: each reactor takes its part of it.
  const size_t per_reactor = std::max<size_t>(1, connection_cap_ / reactors_.size());
  int port = options_.public_listener.port;
  for (auto& r : reactors_) {
    r->set_max_connections(per_reactor);
    if (int rc = r->listen(port); rc != 0) {
      failed_listener_ = options_.public_listener.bind_addr + ":" + std::to_string(port);
      return rc;
    }
    port = r->bound_port();  // PORT=0: the others join the port the first one got
  }
  if (int rc = admin_->listen(options_.admin_listener.port); rc != 0) {
    failed_listener_ =
        options_.admin_listener.bind_addr + ":" + std::to_string(options_.admin_listener.port);
    return rc;
  }
  return 0;
}

int Server::run() {
  for (auto& r : reactors_) r->run_in_thread();
  admin_->run_here();
  for (auto& r : reactors_) r->join();
  return exit_code_;
}

std::vector<int> Server::stalled_reactors(uint64_t max_age_ms) const {
  std::vector<int> stalled;
  const uint64_t now = base::monotonic_ms();
  for (const auto& r : reactors_) {
    const uint64_t beat = r->heartbeat_ms();
    if (now > beat && now - beat > max_age_ms) stalled.push_back(r->index());
  }
  return stalled;
}

void Server::on_signal(uv_signal_t* handle, int signum) {
  of(reinterpret_cast<uv_handle_t*>(handle))->begin_shutdown(signum);
}

void Server::begin_shutdown(int signum) {
  if (shutting_down_) {
    log::warn("second signal: exiting at once").num("signal", signum);
    log::flush(std::chrono::milliseconds(200));  // briefly: this exit must stay prompt
    std::_Exit(1);
  }
  shutting_down_ = true;
  draining_.store(true, std::memory_order_release);  // /readyz answers 503 from now
  log::info("shutdown: draining")
      .num("signal", signum)
      .num("drain_delay_ms", static_cast<int64_t>(options_.drain_delay_ms))
      .num("drain_timeout_ms", static_cast<int64_t>(options_.drain_timeout_ms));
  uv_timer_start(&drain_delay_, on_drain_delay, options_.drain_delay_ms, 0);
}

void Server::on_drain_delay(uv_timer_t* timer) {
  of(reinterpret_cast<uv_handle_t*>(timer))->drain_reactors();
}

void Server::drain_reactors() {
  uv_timer_start(&drain_deadline_, on_drain_deadline, options_.drain_timeout_ms, 0);
  for (size_t i = 0; i < reactors_.size(); ++i) {
    reactors_[i]->begin_drain([this, i] { admin_->post([this, i] { reactor_done(i, 0); }); });
  }
}

void Server::on_drain_deadline(uv_timer_t* timer) {
  Server* s = of(reinterpret_cast<uv_handle_t*>(timer));
  s->deadline_hit_ = true;
  for (size_t i = 0; i < s->reactors_.size(); ++i) {
    if (s->reactor_finished_[i]) continue;
    s->reactors_[i]->force_stop(
        [s, i](size_t cut) { s->admin_->post([s, i, cut] { s->reactor_done(i, cut); }); });
  }
}

void Server::reactor_done(size_t index, size_t cut) {
  if (reactor_finished_[index]) return;
  reactor_finished_[index] = true;
  cut_requests_ += cut;
  if (++finished_count_ == reactors_.size()) finish();
}

void Server::finish() {
  exit_code_ = cut_requests_ > 0 ? 1 : 0;
  if (cut_requests_ > 0) {
    log::error("shutdown: drain deadline cut requests")
        .num("connections_cut", static_cast<int64_t>(cut_requests_));
  } else {
    log::info("shutdown: drained").boolean("deadline_reached", deadline_hit_);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_delay_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_deadline_), nullptr);
  admin_->force_stop([](size_t) {});
}

}  // namespace paystream::net
