#pragma once
// A small HTTP/1.1 upstream for the outbound client's end-to-end tests, in the test process
// on its own thread: raw sockets on a 127.0.0.1 ephemeral port, one request at a time per
// connection. What it does depends on the request's path:
//   /ok?ms=N   200 after N ms (default 0), the request body echoed back
//   /chunked   200, chunked body "hello, world"
//   /close     200 with `Connection: close`, then closes
//   /http10    an HTTP/1.0 200 without keep-alive (it keeps the connection open)
//   /reset     part of a status line, then a reset
//   /truncate  the head and 3 of 10 body bytes, then a close
//   /drop      a reset, no byte of an answer
//   /garbage   bytes that are not HTTP
//   /big       200 with a 100000-byte body
// Connection-wide behaviours: close a connection idle for idle_close_ms after an answer, and
// reset_reused (a connection that has answered once is reset, unread, when the next request
// arrives: an upstream that closed it "between calls", as seen by a client already sending).

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace paystream::net::testing {

class HttpUpstream {
 public:
  HttpUpstream();
  HttpUpstream(const HttpUpstream&) = delete;
  HttpUpstream& operator=(const HttpUpstream&) = delete;
  ~HttpUpstream();  // stops the thread, closes everything

  bool start();  // binds 127.0.0.1:0 and runs; false if it cannot
  int port() const { return port_; }

  std::atomic<uint32_t> idle_close_ms{0};  // 0: never
  std::atomic<bool> reset_reused{false};

  uint64_t accepted() const { return accepted_.load(); }  // connections accepted
  uint64_t max_open() const { return max_open_.load(); }  // most connections open at once
  uint64_t open_now() const { return open_now_.load(); }
  uint64_t reset_unread() const { return reset_unread_.load(); }  // reset_reused resets
  uint64_t requests(const std::string& path) const;               // complete requests read
  std::string last_request() const;                               // raw bytes, head and body

 private:
  void run();
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> accepted_{0}, max_open_{0}, open_now_{0}, reset_unread_{0};
  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> requests_;
  std::string last_request_;
};

// A 127.0.0.1 port where nothing listens (bound, then closed).
int closed_port();

}  // namespace paystream::net::testing
