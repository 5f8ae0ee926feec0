#pragma once
// One accepted TCP connection on its reactor's loop: libuv I/O and timers around
// an HttpSession. It lives and dies on the reactor that accepted it.

#include <uv.h>

#include <cstdint>
#include <string>

#include "net/http_session.h"

namespace paystream::net {

class Reactor;

class Connection final : public RequestSink {
 public:
  Connection(Reactor& reactor, uint32_t index, uint32_t generation);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Takes the accepted socket; false when libuv refused it (then it closes itself).
  bool start(uv_stream_t* listener);
  bool start_from_fd(int fd);

  void complete(uint32_t seq, const Response& response);
  void begin_drain();
  // Drain deadline: close now. True when a request was still in progress.
  bool force_close();
  // Abort the connection with a TCP RST (SO_LINGER 0): every request on it, answered or not,
  // is lost to the client. Fault injection only (reset_rate).
  void reset();
  // `bytes` straight to the socket (only when no other output is pending, so nothing is sent
  // out of order), then reset(). Fault injection only (a cut answer).
  void send_raw_then_reset(std::string_view bytes);
  uint32_t generation() const { return generation_; }

  // RequestSink
  void dispatch(const Request& request, uint32_t seq) override;
  void protocol_error(int status) override;

 private:
  ~Connection() = default;  // deleted by close_done() once libuv lets go

  bool begin_reading();
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void after_event();
  void flush();
  void update_reading();
  void update_timer();
  void on_timer();
  void start_lingering_close();
  void close();

  static void alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void linger_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void shutdown_cb(uv_shutdown_t* req, int status);
  static void timer_cb(uv_timer_t* timer);
  static void close_cb(uv_handle_t* handle);

  Reactor& reactor_;
  uint32_t index_;
  uint32_t generation_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_write_t write_req_;
  uv_shutdown_t shutdown_req_;
  HttpSession session_;

  std::string writing_;            // bytes handed to uv_write, not yet confirmed
  uint64_t last_progress_ms_ = 0;  // the write in flight last moved bytes to the kernel
  size_t last_queue_bytes_ = 0;    // libuv's write queue then
  uint64_t armed_deadline_ms_ = 0;
  bool timer_armed_ = false;
  bool write_in_flight_ = false;
  bool reading_ = false;
  bool in_read_ = false;    // inside session_.on_data(): writes wait for its end
  bool peer_done_ = false;  // EOF: answer what we have, then close
  bool lingering_ = false;
  bool closed_ = false;
  int open_handles_ = 0;
};

}  // namespace paystream::net
