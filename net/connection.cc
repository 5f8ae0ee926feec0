#include "net/connection.h"

#include <sys/socket.h>

#include "net/log.h"
#include "net/memory_bound.h"
#include "net/reactor.h"

namespace paystream::net {
namespace {

// After our last response: how long to read and discard before the final close,
// so unread request bytes do not turn our FIN into a reset that eats the response.
constexpr uint64_t kLingerMs = 1000;

Connection* of(uv_handle_t* h) {
  return static_cast<Connection*>(h->data);
}

}  // namespace

static_assert(sizeof(Connection) <= kConnectionObjectBytes, "update the documented bound");

Connection::Connection(Reactor& reactor, uint32_t index, uint32_t generation)
    : reactor_(reactor),
      index_(index),
      generation_(generation),
      session_(reactor.limits(), *this, reactor.date(), uv_now(reactor.loop())) {
  uv_tcp_init(reactor.loop(), &tcp_);
  uv_timer_init(reactor.loop(), &timer_);
  tcp_.data = this;
  timer_.data = this;
  write_req_.data = this;
  shutdown_req_.data = this;
  open_handles_ = 2;
  reactor_.stats().connection_opened();
}

bool Connection::start(uv_stream_t* listener) {
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    close();
    return false;
  }
  return begin_reading();
}

bool Connection::start_from_fd(int fd) {
  if (uv_tcp_open(&tcp_, fd) != 0) {
    ::close(fd);
    close();
    return false;
  }
  return begin_reading();
}

bool Connection::begin_reading() {
  uv_tcp_nodelay(&tcp_, 1);
  // Kernel buffers count against the pod's memory: each is capped (the kernel doubles
  // the value set), instead of autotuning up to the tcp_wmem / tcp_rmem maximum.
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0) {
    const int send = kSocketSendBufferBytes;
    const int receive = kSocketReceiveBufferBytes;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send, sizeof send);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive, sizeof receive);
  }
  after_event();
  return !closed_;
}

void Connection::alloc_cb(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  // One buffer per reactor: every read is consumed (or copied) before the next.
  Reactor& reactor = of(handle)->reactor_;
  *buf = uv_buf_init(reactor.read_buffer(), static_cast<unsigned>(reactor.read_buffer_size()));
}

void Connection::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  of(reinterpret_cast<uv_handle_t*>(stream))->on_read(nread, buf);
}

void Connection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    // Handlers that answer at once do so inside on_data(): their responses are
    // collected and leave together in the one write after_event() makes below.
    in_read_ = true;
    session_.on_data(buf->base, static_cast<size_t>(nread), uv_now(reactor_.loop()));
    in_read_ = false;
  } else if (nread == UV_EOF) {
    // The client will send nothing more; answer what is in progress, then close.
    peer_done_ = true;
  } else if (nread < 0) {
    close();
    return;
  }
  after_event();
}

void Connection::dispatch(const Request& request, uint32_t seq) {
  reactor_.stats().add_request();
  reactor_.router().route(request, Responder(&reactor_, index_, generation_, seq));
}

void Connection::protocol_error(int status) {
  reactor_.stats().http_error(status);
}

void Connection::complete(uint32_t seq, const Response& response) {
  if (closed_ || lingering_) return;
  if (response.status >= 400) reactor_.stats().http_error(response.status);
  session_.complete(seq, response, uv_now(reactor_.loop()));
  if (!in_read_) after_event();
}

void Connection::begin_drain() {
  if (closed_ || lingering_) return;
  session_.begin_drain(uv_now(reactor_.loop()));
  after_event();
}

bool Connection::force_close() {
  const bool cut = session_.in_flight() > 0;
  close();
  return cut;
}

void Connection::after_event() {
  if (closed_ || lingering_) return;
  flush();
  if (closed_) return;
  // Output drained below the threshold: parse the requests set aside meanwhile. Their
  // immediate answers are collected like a read's, then flushed.
  while (session_.resumable() && !in_read_) {
    in_read_ = true;
    session_.resume(uv_now(reactor_.loop()));
    in_read_ = false;
    flush();
    if (closed_) return;
  }
  const bool nothing_to_send = !write_in_flight_ && session_.output().empty();
  if (nothing_to_send && (session_.should_close() || (peer_done_ && session_.in_flight() == 0))) {
    start_lingering_close();
    return;
  }
  update_reading();
  update_timer();
}

void Connection::flush() {
  std::string& out = session_.output();
  if (write_in_flight_ || out.empty()) return;
  uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  if (n == static_cast<int>(out.size())) {
    out.clear();
    release_if_large(out);
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    close();
    return;
  }
  const size_t sent = n > 0 ? static_cast<size_t>(n) : 0;
  if (sent == 0) {
    writing_.swap(out);  // no copy: the session keeps the (empty) previous buffer
  } else {
    writing_.assign(out, sent);
  }
  out.clear();
  release_if_large(out);
  buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  if (uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, write_cb) != 0) {
    close();
    return;
  }
  write_in_flight_ = true;
  session_.set_writing(writing_.size(), uv_now(reactor_.loop()));
  last_progress_ms_ = uv_now(reactor_.loop());
  last_queue_bytes_ = tcp_.write_queue_size;
}

void Connection::write_cb(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  c->write_in_flight_ = false;
  c->writing_.clear();
  release_if_large(c->writing_);
  c->session_.set_writing(0, uv_now(c->reactor_.loop()));
  if (c->closed_) return;
  if (status < 0) {
    c->close();
    return;
  }
  c->after_event();
}

void Connection::update_reading() {
  // wants_read() is false while unsent output is above the session's threshold.
  const bool want = !peer_done_ && session_.wants_read();
  if (want == reading_) return;
  if (want) {
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), alloc_cb, read_cb) == 0;
  } else {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
}

void Connection::update_timer() {
  TimerRequest t = session_.timer();
  uint64_t deadline = t.deadline_ms;
  bool armed = t.kind != TimerKind::none;
  if (write_in_flight_) {
    // A client that stops reading our answer is closed once the write makes no progress
    // for the write timeout.
    armed = true;
    deadline = last_progress_ms_ + reactor_.limits().write_timeout_ms;
  }
  // Timers are re-armed lazily: most requests only push the deadline later, so a
  // timer that is due earlier stays as it is; when it fires, on_timer() looks at
  // the real deadline and arms again. That keeps libuv's timer heap out of the
  // per-request path.
  if (!armed || (timer_armed_ && armed_deadline_ms_ <= deadline)) return;
  const uint64_t now = uv_now(reactor_.loop());
  uv_timer_start(&timer_, timer_cb, deadline > now ? deadline - now : 0, 0);
  timer_armed_ = true;
  armed_deadline_ms_ = deadline;
}

void Connection::timer_cb(uv_timer_t* timer) {
  of(reinterpret_cast<uv_handle_t*>(timer))->on_timer();
}

void Connection::on_timer() {
  timer_armed_ = false;
  if (lingering_) {
    close();
    return;
  }
  const uint64_t now = uv_now(reactor_.loop());
  if (write_in_flight_) {
    // libuv's write queue shrinks as the kernel takes bytes: that is progress.
    if (tcp_.write_queue_size < last_queue_bytes_) {
      last_queue_bytes_ = tcp_.write_queue_size;
      last_progress_ms_ = now;
    } else if (now >= last_progress_ms_ + reactor_.limits().write_timeout_ms) {
      log::debug("write timeout: connection closed")
          .num("queued_bytes", static_cast<int64_t>(tcp_.write_queue_size))
          .num("writing_bytes", static_cast<int64_t>(writing_.size()))
          .num("output_bytes", static_cast<int64_t>(session_.output().size()))
          .num("unparsed_bytes", static_cast<int64_t>(session_.unparsed_bytes()))
          .num("in_flight", static_cast<int64_t>(session_.in_flight()))
          .boolean("reading", reading_)
          .boolean("wants_read", session_.wants_read());
      close();
      return;
    }
  }
  session_.on_timer(now);
  after_event();
}

void Connection::start_lingering_close() {
  lingering_ = true;
  if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  reading_ = false;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), shutdown_cb) != 0) {
    close();
    return;
  }
  uv_timer_start(&timer_, timer_cb, kLingerMs, 0);
}

void Connection::shutdown_cb(uv_shutdown_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  if (c->closed_) return;
  if (status < 0 || c->peer_done_ ||
      uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), alloc_cb, linger_read_cb) != 0) {
    c->close();
  }
}

void Connection::linger_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  if (nread < 0) of(reinterpret_cast<uv_handle_t*>(stream))->close();  // EOF or error
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  reactor_.release_connection(index_);  // later answers for it are dropped
  reactor_.stats().connection_closed();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), close_cb);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), close_cb);
}

void Connection::reset() {
  if (closed_) return;
  if (lingering_) {  // SO_LINGER 0 may not be mixed with a pending shutdown
    close();
    return;
  }
  closed_ = true;
  reactor_.release_connection(index_);
  reactor_.stats().connection_closed();
  if (uv_tcp_close_reset(&tcp_, close_cb) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), close_cb);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), close_cb);
}

void Connection::send_raw_then_reset(std::string_view bytes) {
  if (closed_) return;
  if (!lingering_ && !write_in_flight_ && session_.output().empty() && !bytes.empty()) {
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
    (void)uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  }
  reset();
}

void Connection::close_cb(uv_handle_t* handle) {
  Connection* c = of(handle);
  if (--c->open_handles_ == 0) delete c;
}

}  // namespace paystream::net
