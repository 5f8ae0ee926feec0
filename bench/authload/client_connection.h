#pragma once
// One keep-alive client connection on a worker's loop: writes prepared requests (up to the
// pipeline depth its owner allows), reads responses through ResponseReader, and tells its owner
// how each request ended. Reconnecting is the owner's decision.

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/authload/idempotency_keys.h"
#include "bench/authload/response_reader.h"
#include "bench/authload/ring_queue.h"
#include "bench/authload/target_stats.h"

namespace paystream::bench {

struct InFlight {
  uint64_t scheduled_ns = 0;
  uint64_t sent_ns = 0;
  uint32_t pool_index = 0;  // which prepared request: kept so a returned request can be resent
  bool measured = false;    // false during warm-up
  bool resent = false;      // sent before, returned by a closing connection, sent again
  bool expired = false;     // already counted as a timeout: its late answer is only discarded
  KeyedRef keyed;           // its Idempotency-Key, if any
};

enum class CloseReason : uint8_t {
  connect_failed,  // refused, unreachable, or not connected within the timeout
  peer_closed,     // EOF, reset or a failed write
  server_request,  // the server answered with `Connection: close`
  timeout,         // a request in flight ran out of time
  protocol,        // the server sent something that is not an answer to our requests
  stopping,        // the run is over
};

class ClientConnection;

class ConnectionOwner {
 public:
  virtual void on_connected(ClientConnection& connection) = 0;
  virtual void on_response(ClientConnection& connection, const InFlight& request,
                           const HttpResponse& response, uint64_t now_ns) = 0;
  virtual void on_request_failed(ClientConnection& connection, const InFlight& request,
                                 ErrorKind kind) = 0;
  // Sent after the request whose answer said `Connection: close`: the server never processed
  // it, so it may be sent again. Called newest first. Expired requests are not returned.
  virtual void on_request_returned(ClientConnection& connection, const InFlight& request) = 0;
  // The socket is released; connect() may be called again.
  virtual void on_closed(ClientConnection& connection, CloseReason reason) = 0;

 protected:
  ~ConnectionOwner() = default;
};

class ClientConnection final : ResponseReader::Sink {
 public:
  ClientConnection(uv_loop_t* loop, ConnectionOwner& owner, const sockaddr* address,
                   bool head_requests, uint32_t id, bool track_idempotency = false);
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  void connect(uint64_t now_ns);
  // Writes `bytes` now (or right after the write in progress) and expects one answer.
  void send(std::string_view bytes, const InFlight& request);
  // The same for a request in three pieces, sent as one.
  void send(std::string_view head, std::string_view middle, std::string_view tail,
            const InFlight& request);
  // Ends the connection. Requests in flight fail with the reason's error kind, or are returned
  // (server_request); expired ones were counted already. The owner hears on_closed once libuv
  // has let go of the socket.
  void close(CloseReason reason);
  // Marks the requests in flight scheduled before `deadline_ns` as expired, reporting each as a
  // timeout once. The connection stays open so later answers keep their order.
  void expire_scheduled_before(uint64_t deadline_ns);

  uint32_t id() const { return id_; }
  bool idle() const { return state_ == State::idle; }
  bool connecting() const { return state_ == State::connecting; }
  bool ready() const { return state_ == State::connected; }
  size_t in_flight() const { return in_flight_.size(); }
  // In flight and not yet counted as a timeout.
  size_t unresolved() const;
  const InFlight* oldest() const { return in_flight_.empty() ? nullptr : &in_flight_.front(); }
  uint64_t connect_started_ns() const { return connect_started_ns_; }

 private:
  enum class State { idle, connecting, connected, draining, closing };

  bool on_response(const HttpResponse& response) override;
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_write_done(int status);
  void start_write();
  void fail_in_flight(CloseReason reason);

  static void connect_cb(uv_connect_t* req, int status);
  static void alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void close_cb(uv_handle_t* handle);

  uv_loop_t* loop_;
  ConnectionOwner& owner_;
  const sockaddr* address_;
  uint32_t id_;
  State state_ = State::idle;
  CloseReason close_reason_ = CloseReason::stopping;
  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  uv_write_t write_req_;
  ResponseReader reader_;
  RingQueue<InFlight> in_flight_;
  std::string writing_;  // handed to uv_write, not confirmed yet
  std::string pending_;  // queued behind writing_
  bool write_in_flight_ = false;
  bool unexpected_response_ = false;
  uint64_t connect_started_ns_ = 0;
  uint64_t read_ns_ = 0;  // arrival time of the bytes being parsed
};

}  // namespace paystream::bench
