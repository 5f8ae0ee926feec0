#pragma once
// Counters of one HttpClient. One writer (the client's reactor thread) uses relaxed loads
// and stores, no read-modify-write; readers on any thread load them relaxed (and sum over
// reactors).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace paystream::net {

// How a call ended (HttpResult::Kind).
enum class HttpResultKind : uint8_t {
  response,        // a complete answer (any status)
  busy,            // pool and queue full: never sent; reported before call() returns
  timeout,         // the deadline passed (queued, connecting, writing or reading)
  connect_failed,  // resolution or TCP connect failed (after the allowed resend)
  closed,          // closed or reset before a complete answer
  malformed,       // not valid HTTP/1.1 (or a request the client refused to write)
  too_large,       // answer over max_response_bytes
  shutdown,        // the client shut down with the call pending
};
inline constexpr size_t kHttpResultKinds = 8;

class HttpClientStats {
 public:
  // Connections open (connecting, in use or idle), and those carrying a call.
  uint64_t connections_open() const { return get(connections_open_); }
  uint64_t connections_busy() const { return get(connections_busy_); }
  uint64_t queue_depth() const { return get(queue_depth_); }  // calls waiting for a connection
  uint64_t connects() const { return get(connects_); }        // TCP connections established
  uint64_t calls() const { return get(calls_); }              // call() invocations
  uint64_t retries() const { return get(retries_); }          // resends (second attempts)
  uint64_t busy_rejections() const { return failures(HttpResultKind::busy); }
  // Calls ended with that kind (response: complete answers, any status).
  uint64_t failures(HttpResultKind kind) const { return get(ended_[static_cast<size_t>(kind)]); }
  uint64_t resolutions() const { return get(resolutions_); }  // successful name resolutions
  uint64_t resolution_failures() const { return get(resolution_failures_); }

  // Writer side: the client's reactor thread only.
  void set_connections(uint64_t open, uint64_t busy) {
    set(connections_open_, open);
    set(connections_busy_, busy);
  }
  void set_queue_depth(uint64_t n) { set(queue_depth_, n); }
  void add_connect() { bump(connects_); }
  void add_call() { bump(calls_); }
  void add_retry() { bump(retries_); }
  void add_ended(HttpResultKind kind) { bump(ended_[static_cast<size_t>(kind)]); }
  void add_resolution() { bump(resolutions_); }
  void add_resolution_failure() { bump(resolution_failures_); }

 private:
  static uint64_t get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }
  static void set(std::atomic<uint64_t>& c, uint64_t v) { c.store(v, std::memory_order_relaxed); }
  static void bump(std::atomic<uint64_t>& c) { set(c, get(c) + 1); }

  std::atomic<uint64_t> connections_open_{0};
  std::atomic<uint64_t> connections_busy_{0};
  std::atomic<uint64_t> queue_depth_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> retries_{0};
  std::array<std::atomic<uint64_t>, kHttpResultKinds> ended_{};
  std::atomic<uint64_t> resolutions_{0};
  std::atomic<uint64_t> resolution_failures_{0};
};

}  // namespace paystream::net
