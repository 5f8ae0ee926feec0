#pragma once
// One event loop on one thread with its own SO_REUSEPORT listener. Connections
// live on the reactor that accepted them; nothing on the request path is shared
// with other reactors.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_session.h"
#include "net/log_rate_limiter.h"
#include "net/reactor_stats.h"
#include "net/router.h"

namespace paystream::net {

class Connection;

// Something that lives on one reactor for the reactor's whole life (a handler's
// state, a client, a watcher): the reactor destroys its services, newest first,
// before it closes its loop, so their timers and handles close with them.
class ReactorService {
 public:
  virtual ~ReactorService() = default;
};

struct ListenerOptions {
  std::string bind_addr = "0.0.0.0";
  int port = 8080;  // 0: ephemeral
  bool reuse_port = true;
  size_t max_connections = 20000;
  SessionLimits limits;
};

class Reactor {
 public:
  Reactor(int index, std::string name, const ListenerOptions& options, const Router& router);
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;
  ~Reactor();

  // Binds and listens (on the calling thread, before run). Returns 0 or a libuv error.
  int listen(int port);
  int bound_port() const { return bound_port_; }
  void set_max_connections(size_t n) { options_.max_connections = n; }

  void run_in_thread();
  void run_here();  // runs the loop on the calling thread until it ends
  void join();

  // Thread-safe: runs `task` on this reactor's thread.
  void post(std::function<void()> task);
  // Thread-safe graceful shutdown: take the listener's backlog, close the listener,
  // let connections finish. `on_done` runs on this thread once none is left.
  void begin_drain(std::function<void()> on_done);
  // Thread-safe: close every connection now and end the loop. Reports how many
  // connections had a request in progress.
  void force_stop(std::function<void(size_t cut)> on_done);

  // Before run: creates a service owned by this reactor, constructed as
  // T(reactor, args…). The reference stays valid until the reactor is destroyed.
  template <typename T, typename... Args>
  T& add_service(Args&&... args) {
    auto service = std::make_unique<T>(*this, std::forward<Args>(args)...);
    T& added = *service;
    services_.push_back(std::move(service));
    return added;
  }

  int index() const { return index_; }
  const std::string& name() const { return name_; }
  const SessionLimits& limits() const { return options_.limits; }
  const std::string& date() const { return date_; }
  const Router& router() const { return router_; }
  ReactorStats& stats() { return stats_; }

  // On this reactor's thread: work of a service that a drain waits for like a connection
  // (an answer computed for a client that has gone, whose side effects must still happen).
  // `delta` adds to or removes from the count; a drain finishes when both are zero.
  void add_pending_work(int64_t delta);
  const ReactorStats& stats() const { return stats_; }

  // Any thread: monotonic ms of the last heartbeat (every 250 ms).
  uint64_t heartbeat_ms() const { return heartbeat_ms_.load(std::memory_order_acquire); }

 private:
  // The loop and the connection table are net's own.
  friend class Connection;
  friend class HttpClient;
  friend class Responder;
  friend class ReactorTimer;
  friend class RedisClient;
  friend class Server;

  uv_loop_t* loop() { return &loop_; }
  char* read_buffer() { return read_buffer_.data(); }
  size_t read_buffer_size() const { return read_buffer_.size(); }
  void release_connection(uint32_t index);
  // The live connection at `index` with that generation, or null.
  Connection* connection(uint32_t index, uint32_t generation) const;

  static void on_connection(uv_stream_t* listener, int status);
  static void on_async(uv_async_t* handle);
  static void on_heartbeat(uv_timer_t* timer);
  void accept_one();
  void adopt(int fd);
  Connection* new_connection();
  void run_tasks();
  void drain_now();
  void check_drained();
  void finish();
  void update_date();

  int index_;
  std::string name_;
  ListenerOptions options_;
  const Router& router_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_async_t wakeup_;
  uv_timer_t heartbeat_;
  bool listening_ = false;
  bool draining_ = false;
  bool finished_ = false;
  int bound_port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> heartbeat_ms_{0};

  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  std::vector<std::function<void()>> running_tasks_;

  std::vector<Connection*> connections_;  // by index; null when free
  std::vector<uint32_t> generations_;
  std::vector<uint32_t> free_indexes_;
  size_t live_connections_ = 0;
  int64_t pending_work_ = 0;
  std::function<void()> on_drained_;

  std::string date_;
  int64_t date_second_ = -1;
  std::vector<char> read_buffer_;
  ReactorStats stats_;
  log::RateLimiter accept_failed_log_{20};  // lines a second: EMFILE repeats on every wake
  std::vector<std::unique_ptr<ReactorService>> services_;
};

}  // namespace paystream::net
