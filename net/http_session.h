#pragma once
// One HTTP/1.1 connection's protocol state, without sockets: bytes in, requests
// dispatched, responses released strictly in order, bytes out. The libuv
// connection wraps it; unit tests drive it directly with byte streams.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/buffer_release.h"
#include "net/http_parser.h"
#include "net/http_types.h"

namespace paystream::net {

struct SessionLimits {
  ParseLimits parse;
  size_t max_in_flight = 16;  // pipelined requests in progress at once
  // Unsent output (output() plus the bytes the owner is writing) above which no further
  // pipelined request is parsed; parsing resumes once the client has drained it.
  size_t max_unsent_bytes = 64 * 1024;
  uint64_t header_timeout_ms = 5000;
  uint64_t body_timeout_ms = 10000;
  uint64_t idle_timeout_ms = 60000;
  uint64_t write_timeout_ms = 10000;  // a write making no progress this long closes
};

// Receives each complete request; answers through HttpSession::complete(seq, ...),
// at once or later.
class RequestSink {
 public:
  virtual void dispatch(const Request& request, uint32_t seq) = 0;
  // A request the session answered itself with an error (stats, logs).
  virtual void protocol_error(int status) = 0;

 protected:
  ~RequestSink() = default;
};

enum class TimerKind { none, head, body, idle };

// Draining: how long a connection that has sent nothing may still send its request.
inline constexpr uint64_t kDrainGraceMs = 1000;

struct TimerRequest {
  TimerKind kind = TimerKind::none;
  uint64_t deadline_ms = 0;
};

class HttpSession {
 public:
  HttpSession(const SessionLimits& limits, RequestSink& sink, const std::string& date,
              uint64_t now_ms);

  void on_data(const char* data, size_t len, uint64_t now_ms);
  // The handler's answer to request `seq`. Unknown or repeated seq: ignored.
  void complete(uint32_t seq, const Response& response, uint64_t now_ms);
  // The timer asked for by timer() expired.
  void on_timer(uint64_t now_ms);
  // Graceful shutdown: finish what is in progress, then close.
  void begin_drain(uint64_t now_ms);

  // Bytes ready to send; the owner moves them out and clears.
  std::string& output() { return out_; }
  // Bytes the owner took from output() and has not sent yet (they count as unsent).
  // Head and body clocks stand still while output is full (we are not reading then):
  // once it drains, a request's head or body gets its whole time again.
  void set_writing(size_t bytes, uint64_t now_ms);
  // Output drained below the threshold while received bytes wait unparsed: resume()
  // parses them (and may answer, through the sink, before it returns).
  bool resumable() const;
  void resume(uint64_t now_ms);
  // Unsent output is above the threshold: parsing waits.
  bool output_full() const { return out_.size() + writing_ > limits_.max_unsent_bytes; }
  // Received bytes kept unparsed (bounded by one read, plus the tail of the previous one).
  size_t unparsed_bytes() const { return stash_.size(); }
  bool wants_read() const;
  // Nothing more will be written after output(): close once it is sent.
  bool should_close() const;
  TimerRequest timer() const;
  size_t in_flight() const { return count_; }
  bool draining() const { return draining_; }

 private:
  struct Slot {
    uint32_t seq = 0;
    bool ready = false;
    bool close = false;  // the request asked for it, or an error ends the stream
    bool http10_keep_alive = false;
    bool head_request = false;  // HEAD: Content-Length without the body
    int status = 0;
    std::string head_fields;  // Content-Type, Content-Length, extra headers
    std::string body;
  };

  void pump(uint64_t now_ms);
  void feed(const char* data, size_t len, uint64_t now_ms);
  Slot& push_slot();
  Slot* find_slot(uint32_t seq);
  void fill(Slot& slot, const Response& response);
  void fail(const HttpError& error);
  void release(uint64_t now_ms);
  void write_slot(const Slot& slot, bool close);
  void maybe_send_continue(uint64_t now_ms);
  bool stream_finished() const { return closing_ || stop_parsing_; }

  SessionLimits limits_;
  RequestSink& sink_;
  const std::string& date_;
  RequestParser parser_;

  std::vector<Slot> ring_;  // grows up to max_in_flight on demand
  size_t front_ = 0;
  size_t count_ = 0;
  uint32_t next_seq_ = 0;

  std::string stash_;    // received bytes not parsed yet (pipeline or output full)
  std::string pending_;  // the stash being parsed
  std::string out_;
  std::string error_body_;
  size_t writing_ = 0;  // see set_writing()
  bool pumping_ = false;
  bool stop_parsing_ = false;  // a request asked to close, or the stream broke
  bool closing_ = false;       // the last response is in out_ (or none will come)
  bool draining_ = false;
  bool received_any_ = false;
  bool awaiting_first_request_ = true;  // its head clock started at accept

  uint64_t head_start_ms_;
  uint64_t body_start_ms_ = 0;
  uint64_t idle_start_ms_ = 0;
  uint64_t drain_grace_deadline_ms_ = 0;
};

}  // namespace paystream::net
