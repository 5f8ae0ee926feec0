#include "bench/authload/client_connection.h"

#include <algorithm>

#include "base/clock.h"

namespace paystream::bench {
namespace {

ClientConnection* of(uv_handle_t* handle) {
  return static_cast<ClientConnection*>(handle->data);
}

ErrorKind error_for(CloseReason reason) {
  switch (reason) {
    case CloseReason::timeout:
      return ErrorKind::timeout;
    case CloseReason::protocol:
      return ErrorKind::protocol;
    case CloseReason::connect_failed:
      return ErrorKind::connect;
    default:
      return ErrorKind::closed;
  }
}

}  // namespace

ClientConnection::ClientConnection(uv_loop_t* loop, ConnectionOwner& owner, const sockaddr* address,
                                   bool head_requests, uint32_t id, bool track_idempotency)
    : loop_(loop),
      owner_(owner),
      address_(address),
      id_(id),
      reader_(head_requests, track_idempotency) {
  connect_req_.data = this;
  write_req_.data = this;
}

void ClientConnection::connect(uint64_t now_ns) {
  if (state_ != State::idle) return;
  uv_tcp_init(loop_, &tcp_);
  tcp_.data = this;
  reader_.reset();
  unexpected_response_ = false;
  connect_started_ns_ = now_ns;
  state_ = State::connecting;
  if (uv_tcp_connect(&connect_req_, &tcp_, address_, &ClientConnection::connect_cb) != 0) {
    close(CloseReason::connect_failed);
  }
}

void ClientConnection::connect_cb(uv_connect_t* req, int status) {
  auto* c = static_cast<ClientConnection*>(req->data);
  if (c->state_ != State::connecting) return;  // closed meanwhile (UV_ECANCELED)
  if (status < 0) {
    c->close(CloseReason::connect_failed);
    return;
  }
  c->state_ = State::connected;
  uv_tcp_nodelay(&c->tcp_, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), &ClientConnection::alloc_cb,
                &ClientConnection::read_cb);
  c->owner_.on_connected(*c);
}

void ClientConnection::send(std::string_view bytes, const InFlight& request) {
  send(bytes, {}, {}, request);
}

void ClientConnection::send(std::string_view head, std::string_view middle, std::string_view tail,
                            const InFlight& request) {
  in_flight_.push_back(request);
  const std::string_view parts[] = {head, middle, tail};
  if (write_in_flight_) {
    for (std::string_view part : parts) pending_.append(part);
    return;
  }
  uv_buf_t bufs[3];
  unsigned count = 0;
  size_t total = 0;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    bufs[count++] = uv_buf_init(const_cast<char*>(part.data()), static_cast<unsigned>(part.size()));
    total += part.size();
  }
  const int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), bufs, count);
  size_t done = written > 0 ? static_cast<size_t>(written) : 0;
  if (done == total) return;
  // The rest goes through uv_write, which also reports a broken socket (asynchronously).
  writing_.clear();
  for (std::string_view part : parts) {
    const size_t skip = std::min(done, part.size());
    writing_.append(part.substr(skip));
    done -= skip;
  }
  start_write();
}

void ClientConnection::start_write() {
  uv_buf_t buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  write_in_flight_ = true;
  if (uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
               &ClientConnection::write_cb) != 0) {
    write_in_flight_ = false;
    close(CloseReason::peer_closed);
  }
}

void ClientConnection::write_cb(uv_write_t* req, int status) {
  static_cast<ClientConnection*>(req->data)->on_write_done(status);
}

void ClientConnection::on_write_done(int status) {
  write_in_flight_ = false;
  writing_.clear();
  if (state_ != State::connected && state_ != State::draining) return;
  if (status < 0) {
    close(CloseReason::peer_closed);
    return;
  }
  if (!pending_.empty()) {
    writing_.swap(pending_);
    start_write();
  }
}

void ClientConnection::alloc_cb(uv_handle_t*, size_t, uv_buf_t* buf) {
  // Each read is parsed before the next one on this thread: one buffer per thread is enough.
  thread_local char buffer[64 * 1024];
  *buf = uv_buf_init(buffer, sizeof buffer);
}

void ClientConnection::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  of(reinterpret_cast<uv_handle_t*>(stream))->on_read(nread, buf);
}

void ClientConnection::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (state_ != State::connected && state_ != State::draining) return;
  if (nread == 0) return;
  read_ns_ = base::monotonic_ns();
  if (nread > 0) {
    const auto status = reader_.feed(buf->base, static_cast<size_t>(nread), *this);
    if (unexpected_response_ || status == ResponseReader::Status::error) {
      close(CloseReason::protocol);
    } else if (status == ResponseReader::Status::stopped) {
      close(CloseReason::server_request);
    }
    return;
  }
  if (nread == UV_EOF) {
    const auto status = reader_.finish(*this);
    if (unexpected_response_) {
      close(CloseReason::protocol);
      return;
    }
    if (status == ResponseReader::Status::stopped && state_ == State::draining) {
      close(CloseReason::server_request);
      return;
    }
  }
  close(CloseReason::peer_closed);
}

bool ClientConnection::on_response(const HttpResponse& response) {
  if (in_flight_.empty()) {
    unexpected_response_ = true;
    return false;
  }
  const InFlight request = in_flight_.front();
  in_flight_.pop_front();
  if (!response.keep_alive) state_ = State::draining;  // no new request goes out on it
  owner_.on_response(*this, request, response, read_ns_);
  return state_ == State::connected;
}

void ClientConnection::fail_in_flight(CloseReason reason) {
  while (!in_flight_.empty()) {
    if (reason == CloseReason::server_request) {
      const InFlight request = in_flight_.back();
      in_flight_.pop_back();
      if (!request.expired) owner_.on_request_returned(*this, request);
    } else {
      const InFlight request = in_flight_.front();
      in_flight_.pop_front();
      if (!request.expired) owner_.on_request_failed(*this, request, error_for(reason));
    }
  }
}

size_t ClientConnection::unresolved() const {
  size_t n = 0;
  for (size_t i = 0; i < in_flight_.size(); ++i) n += in_flight_[i].expired ? 0 : 1;
  return n;
}

void ClientConnection::expire_scheduled_before(uint64_t deadline_ns) {
  for (size_t i = 0; i < in_flight_.size(); ++i) {
    InFlight& request = in_flight_[i];
    if (request.scheduled_ns >= deadline_ns) break;  // later ones were scheduled later still
    if (request.expired) continue;
    request.expired = true;
    owner_.on_request_failed(*this, request, ErrorKind::timeout);
  }
}

void ClientConnection::close(CloseReason reason) {
  if (state_ == State::idle || state_ == State::closing) return;
  state_ = State::closing;
  close_reason_ = reason;
  pending_.clear();
  fail_in_flight(reason);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &ClientConnection::close_cb);
}

void ClientConnection::close_cb(uv_handle_t* handle) {
  ClientConnection* c = of(handle);
  c->state_ = State::idle;
  c->owner_.on_closed(*c, c->close_reason_);
}

}  // namespace paystream::bench
