#pragma once
// The whole HTTP server: N public reactors sharing one port through SO_REUSEPORT,
// an admin listener on the calling thread, signals, and graceful shutdown.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/reactor.h"
#include "net/router.h"

namespace paystream::net {

// A readable text for the error code listen() returns.
std::string_view error_text(int code);

struct ServerOptions {
  ListenerOptions public_listener;
  ListenerOptions admin_listener;
  size_t reactors = 1;
  uint64_t drain_delay_ms = 0;
  uint64_t drain_timeout_ms = 10000;
};

class Server {
 public:
  Server(const ServerOptions& options, const Router& public_router, const Router& admin_router);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Raises the open-file limit, sizes the connection cap and binds every listener.
  // Returns 0, or a libuv error with `failed_listener` naming the listener.
  int listen();
  // Runs until shutdown completes; returns the process exit code (0, or 1 when
  // the drain deadline cut requests).
  int run();

  int public_port() const { return reactors_.front()->bound_port(); }
  int admin_port() const { return admin_->bound_port(); }
  size_t reactor_count() const { return reactors_.size(); }
  const Reactor& reactor(size_t i) const { return *reactors_[i]; }
  Reactor& reactor(size_t i) { return *reactors_[i]; }
  Reactor& admin_reactor() { return *admin_; }
  size_t connection_cap() const { return connection_cap_; }
  const std::string& failed_listener() const { return failed_listener_; }

  // Any thread.
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  // Reactors whose heartbeat is older than `max_age_ms`.
  std::vector<int> stalled_reactors(uint64_t max_age_ms) const;

 private:
  static void on_signal(uv_signal_t* handle, int signum);
  static void on_drain_delay(uv_timer_t* timer);
  static void on_drain_deadline(uv_timer_t* timer);
  void begin_shutdown(int signum);
  void drain_reactors();
  void reactor_done(size_t index, size_t cut);
  void finish();

  ServerOptions options_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::unique_ptr<Reactor> admin_;
  size_t connection_cap_ = 0;
  std::string failed_listener_;

  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_timer_t drain_delay_;
  uv_timer_t drain_deadline_;
  std::atomic<bool> draining_{false};
  bool shutting_down_ = false;
  std::vector<bool> reactor_finished_;
  size_t finished_count_ = 0;
  size_t cut_requests_ = 0;
  bool deadline_hit_ = false;
  int exit_code_ = 0;
};

}  // namespace paystream::net
