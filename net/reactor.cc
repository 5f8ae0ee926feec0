#include "net/reactor.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "base/clock.h"
#include "net/connection.h"
#include "net/log.h"
#include "net/memory_bound.h"

namespace paystream::net {
namespace {

constexpr uint64_t kHeartbeatMs = 250;
constexpr int kBacklog = 4096;

Reactor* of(uv_handle_t* h) {
  return static_cast<Reactor*>(h->data);
}

}  // namespace

Reactor::Reactor(int index, std::string name, const ListenerOptions& options, const Router& router)
    : index_(index),
      name_(std::move(name)),
      options_(options),
      router_(router),
      read_buffer_(kReadBufferBytes) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &wakeup_, on_async);
  wakeup_.data = this;
  uv_timer_init(&loop_, &heartbeat_);
  heartbeat_.data = this;
  uv_timer_start(&heartbeat_, on_heartbeat, kHeartbeatMs, kHeartbeatMs);
  heartbeat_ms_.store(base::monotonic_ms(), std::memory_order_release);
  update_date();
}

Reactor::~Reactor() {
  join();
  while (!services_.empty()) services_.pop_back();  // newest first, their handles closing
  // Close what is left (a forced stop's connections, handlers' timers) and run the
  // close callbacks, so the loop can be closed and its memory freed. The threads
  // are joined: this thread owns the loop now.
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

int Reactor::listen(int port) {
  sockaddr_storage addr{};
  const bool v6 = options_.bind_addr.find(':') != std::string::npos;
  int rc =
      v6 ? uv_ip6_addr(options_.bind_addr.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
         : uv_ip4_addr(options_.bind_addr.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) return rc;
  // libuv 1.44 has no UV_TCP_REUSEPORT: create the socket, set the option, then bind.
  rc = uv_tcp_init_ex(&loop_, &listener_, v6 ? AF_INET6 : AF_INET);
  if (rc != 0) return rc;
  listener_.data = this;
  listening_ = true;  // from here on the handle must be closed
  if (options_.reuse_port) {
    uv_os_fd_t fd;
    uv_fileno(reinterpret_cast<uv_handle_t*>(&listener_), &fd);
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
      return uv_translate_sys_error(errno);
  }
  rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc != 0) return rc;
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kBacklog, on_connection);
  if (rc != 0) return rc;
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return 0;
}

void Reactor::run_in_thread() {
  thread_ = std::thread([this] { run_here(); });
}

void Reactor::run_here() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_run(&loop_, UV_RUN_NOWAIT);  // let close callbacks of a forced stop run
}

void Reactor::join() {
  if (thread_.joinable()) thread_.join();
}

void Reactor::post(std::function<void()> task) {
  std::lock_guard lock(tasks_mutex_);
  if (finished_) return;  // the loop is ending: nothing would run it
  tasks_.push_back(std::move(task));
  uv_async_send(&wakeup_);
}

void Reactor::on_async(uv_async_t* handle) {
  of(reinterpret_cast<uv_handle_t*>(handle))->run_tasks();
}

void Reactor::run_tasks() {
  {
    std::lock_guard lock(tasks_mutex_);
    running_tasks_.swap(tasks_);
  }
  for (auto& task : running_tasks_) task();
  running_tasks_.clear();
}

void Reactor::on_heartbeat(uv_timer_t* timer) {
  Reactor* r = of(reinterpret_cast<uv_handle_t*>(timer));
  r->heartbeat_ms_.store(base::monotonic_ms(), std::memory_order_release);
  r->update_date();
}

void Reactor::update_date() {
  const time_t now = time(nullptr);
  if (now == date_second_) return;
  date_second_ = now;
  tm utc{};
  gmtime_r(&now, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  date_.assign(buf, n);
}

void Reactor::on_connection(uv_stream_t* listener, int status) {
  Reactor* r = of(reinterpret_cast<uv_handle_t*>(listener));
  if (status < 0) {
    if (log::admit(r->accept_failed_log_, "accept failed", base::monotonic_ms())) {
      log::warn("accept failed").str("error", uv_strerror(status));
    }
    return;
  }
  r->accept_one();
}

void Reactor::accept_one() {
  if (live_connections_ >= options_.max_connections) {
    // Over the cap: accept and close at once, so the client hears it now.
    auto* tcp = new uv_tcp_t;
    uv_tcp_init(&loop_, tcp);
    uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(tcp));
    uv_close(reinterpret_cast<uv_handle_t*>(tcp),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    stats_.connection_rejected();
    return;
  }
  new_connection()->start(reinterpret_cast<uv_stream_t*>(&listener_));
}

void Reactor::adopt(int fd) {
  new_connection()->start_from_fd(fd);
}

Connection* Reactor::new_connection() {
  uint32_t index;
  if (!free_indexes_.empty()) {
    index = free_indexes_.back();
    free_indexes_.pop_back();
  } else {
    index = static_cast<uint32_t>(connections_.size());
    connections_.push_back(nullptr);
    generations_.push_back(0);
  }
  ++live_connections_;
  auto* c = new Connection(*this, index, generations_[index]);
  connections_[index] = c;
  return c;
}

void Reactor::release_connection(uint32_t index) {
  connections_[index] = nullptr;
  ++generations_[index];  // answers still on their way for it are dropped
  free_indexes_.push_back(index);
  --live_connections_;
  if (draining_) check_drained();
}

Connection* Reactor::connection(uint32_t index, uint32_t generation) const {
  if (index >= connections_.size() || generations_[index] != generation) return nullptr;
  return connections_[index];
}

void Reactor::begin_drain(std::function<void()> on_done) {
  post([this, on_done = std::move(on_done)]() mutable {
    on_drained_ = std::move(on_done);
    drain_now();
  });
}

void Reactor::drain_now() {
  draining_ = true;
  if (listening_) {
    // Take what the kernel already queued on our listener: closing a SO_REUSEPORT
    // listener resets the connections still in its backlog.
    uv_os_fd_t fd;
    uv_fileno(reinterpret_cast<uv_handle_t*>(&listener_), &fd);
    for (;;) {
      const int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client >= 0) {
        adopt(client);
      } else if (errno != EINTR && errno != ECONNABORTED) {
        break;  // EAGAIN: the backlog is empty (or nothing more can be taken)
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    listening_ = false;
  }
  const size_t count = connections_.size();
  for (size_t i = 0; i < count; ++i) {
    if (connections_[i] != nullptr) connections_[i]->begin_drain();
  }
  check_drained();
}

void Reactor::add_pending_work(int64_t delta) {
  pending_work_ += delta;
  if (draining_) check_drained();
}

void Reactor::check_drained() {
  if (!draining_ || finished_ || live_connections_ != 0 || pending_work_ > 0) return;
  finish();
  if (on_drained_) on_drained_();
}

void Reactor::force_stop(std::function<void(size_t cut)> on_done) {
  post([this, on_done = std::move(on_done)] {
    if (finished_) {  // it drained meanwhile (its own callback has reported)
      on_done(0);
      return;
    }
    draining_ = false;  // no drained callback: this is the end
    size_t cut = 0;
    const size_t count = connections_.size();
    for (size_t i = 0; i < count; ++i) {
      if (connections_[i] != nullptr && connections_[i]->force_close()) ++cut;
    }
    finish();
    on_done(cut);
    uv_stop(&loop_);
  });
}

void Reactor::finish() {
  {
    std::lock_guard lock(tasks_mutex_);
    if (finished_) return;  // drained and forced in the same batch of tasks
    finished_ = true;
  }
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    listening_ = false;
  }
  uv_timer_stop(&heartbeat_);
  uv_close(reinterpret_cast<uv_handle_t*>(&heartbeat_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
}

}  // namespace paystream::net
