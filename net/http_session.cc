#include "net/http_session.h"

#include <algorithm>
#include <charconv>

namespace paystream::net {
namespace {

void append_number(std::string& out, uint64_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

HttpSession::HttpSession(const SessionLimits& limits, RequestSink& sink, const std::string& date,
                         uint64_t now_ms)
    : limits_(limits),
      sink_(sink),
      date_(date),
      parser_(limits.parse),
      head_start_ms_(now_ms),
      idle_start_ms_(now_ms) {}

void HttpSession::on_data(const char* data, size_t len, uint64_t now_ms) {
  if (len == 0) return;
  received_any_ = true;
  if (stream_finished()) return;  // bytes after the last request we will answer
  if (!stash_.empty()) {
    stash_.append(data, len);
    pump(now_ms);
    return;
  }
  feed(data, len, now_ms);
}

void HttpSession::feed(const char* data, size_t len, uint64_t now_ms) {
  pumping_ = true;
  while (len > 0 && !stream_finished()) {
    if (count_ >= limits_.max_in_flight || output_full()) {
      stash_.append(data, len);
      break;
    }
    const bool was_in_message = parser_.in_head() || parser_.in_body();
    const bool was_in_body = parser_.in_body();
    if (draining_ && !was_in_message && next_seq_ > 0) {
      // Draining takes no new request after one it has taken: the last answer says close.
      stop_parsing_ = true;
      stash_.clear();
      break;
    }
    // The first request's head clock runs from accept; a later one's from its first byte.
    if (!was_in_message && !awaiting_first_request_) head_start_ms_ = now_ms;
    awaiting_first_request_ = false;
    auto [event, consumed] = parser_.feed(data, len);
    data += consumed;
    len -= consumed;
    if (event == RequestParser::Event::error) {
      fail(parser_.error());
      break;
    }
    if (event == RequestParser::Event::need_more) {
      if (parser_.in_body() && !was_in_body) body_start_ms_ = now_ms;
      break;
    }
    const Request& request = parser_.request();
    Slot& slot = push_slot();
    slot.close = !request.keep_alive;
    slot.http10_keep_alive = request.keep_alive && request.version_minor == 0;
    slot.head_request = request.method == "HEAD";
    if (slot.close) stop_parsing_ = true;
    sink_.dispatch(request, slot.seq);  // may answer at once, through complete()
  }
  pumping_ = false;
  release(now_ms);
}

void HttpSession::set_writing(size_t bytes, uint64_t now_ms) {
  const bool was_full = output_full();
  writing_ = bytes;
  if (!was_full || output_full()) return;
  if (parser_.in_body()) {
    body_start_ms_ = now_ms;
  } else if (parser_.in_head()) {
    head_start_ms_ = now_ms;
  }
}

bool HttpSession::resumable() const {
  return !pumping_ && !stash_.empty() && count_ < limits_.max_in_flight && !output_full() &&
         !stream_finished();
}

void HttpSession::resume(uint64_t now_ms) {
  pump(now_ms);
}

void HttpSession::pump(uint64_t now_ms) {
  if (!resumable()) return;
  pending_.swap(stash_);  // feed() may stash what still does not fit
  feed(pending_.data(), pending_.size(), now_ms);
  pending_.clear();
  release_if_large(pending_);
  release_if_large(stash_);
}

HttpSession::Slot& HttpSession::push_slot() {
  if (count_ == ring_.size()) {
    // Grow in order: the ring holds only as many slots as this connection ever used.
    std::vector<Slot> grown(ring_.empty() ? 1 : ring_.size() * 2);
    for (size_t i = 0; i < count_; ++i) grown[i] = std::move(ring_[(front_ + i) % ring_.size()]);
    ring_ = std::move(grown);
    front_ = 0;
  }
  Slot& slot = ring_[(front_ + count_) % ring_.size()];
  ++count_;
  slot.seq = next_seq_++;
  slot.ready = false;
  slot.close = false;
  slot.http10_keep_alive = false;
  slot.head_request = false;
  slot.status = 0;
  return slot;
}

HttpSession::Slot* HttpSession::find_slot(uint32_t seq) {
  for (size_t i = 0; i < count_; ++i) {
    Slot& slot = ring_[(front_ + i) % ring_.size()];
    if (slot.seq == seq) return &slot;
  }
  return nullptr;
}

void HttpSession::complete(uint32_t seq, const Response& response, uint64_t now_ms) {
  Slot* slot = find_slot(seq);
  if (slot == nullptr || slot->ready) return;
  fill(*slot, response);
  release(now_ms);
}

void HttpSession::fill(Slot& slot, const Response& response) {
  slot.ready = true;
  slot.status = response.status;
  slot.head_fields.clear();
  if (!response.content_type.empty()) {
    slot.head_fields += "Content-Type: ";
    slot.head_fields += response.content_type;
    slot.head_fields += "\r\n";
  }
  slot.head_fields += "Content-Length: ";
  append_number(slot.head_fields, response.body.size());
  slot.head_fields += "\r\n";
  for (const ResponseHeader& h : response.headers) {
    if (has_line_break(h.name) || has_line_break(h.value)) continue;  // never split the head
    slot.head_fields += h.name;
    slot.head_fields += ": ";
    slot.head_fields += h.value;
    slot.head_fields += "\r\n";
  }
  slot.body.assign(response.body);
}

void HttpSession::fail(const HttpError& error) {
  stop_parsing_ = true;
  stash_.clear();
  sink_.protocol_error(error.status);
  Slot& slot = push_slot();
  slot.close = true;
  error_body_.clear();
  error_body_ += "{\"error\":\"";
  error_body_ += error.code;
  error_body_ += "\",\"message\":\"";
  error_body_ += error.message;  // static text without quotes or backslashes
  error_body_ += "\"}";
  fill(slot, Response{.status = error.status, .body = error_body_});
}

void HttpSession::release(uint64_t now_ms) {
  while (count_ > 0 && !closing_) {
    Slot& slot = ring_[front_];
    if (!slot.ready) break;
    // Draining: only the last answer says close; a client stops reading after it, so an answer
    // behind it would be lost although its request was processed.
    const bool close =
        slot.close || (draining_ && count_ == 1 && !parser_.in_head() && !parser_.in_body());
    write_slot(slot, close);
    slot.body.clear();
    release_if_large(slot.body);
    front_ = (front_ + 1) % ring_.size();
    --count_;
    if (close) closing_ = true;
  }
  if (count_ == 0 && !parser_.in_head() && !parser_.in_body()) idle_start_ms_ = now_ms;
  if (count_ == 0 && parser_.awaiting_continue() && !stream_finished()) {
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
    parser_.continue_sent();
    body_start_ms_ = now_ms;
  }
  pump(now_ms);
}

void HttpSession::write_slot(const Slot& slot, bool close) {
  out_ += "HTTP/1.1 ";
  append_number(out_, static_cast<uint64_t>(slot.status));
  out_ += ' ';
  out_ += reason_phrase(slot.status);
  out_ += "\r\nDate: ";
  out_ += date_;
  out_ += "\r\n";
  out_ += slot.head_fields;
  if (close) {
    out_ += "Connection: close\r\n";
  } else if (slot.http10_keep_alive) {
    out_ += "Connection: keep-alive\r\n";
  }
  out_ += "\r\n";
  if (!slot.head_request) out_ += slot.body;
}

void HttpSession::on_timer(uint64_t now_ms) {
  const TimerRequest t = timer();
  if (t.kind == TimerKind::none || now_ms < t.deadline_ms) return;
  if (t.kind == TimerKind::idle || (draining_ && !received_any_)) {
    closing_ = true;  // nothing to answer: close quietly
    return;
  }
  fail(HttpError{408, "request_timeout",
                 t.kind == TimerKind::head ? "request head not received in time"
                                           : "request body not received in time"});
  release(now_ms);
}

void HttpSession::begin_drain(uint64_t now_ms) {
  draining_ = true;
  // A connection that has sent nothing yet gets a short grace for a request already on
  // its way (sent just before the signal), then closes without an answer.
  drain_grace_deadline_ms_ = now_ms + kDrainGraceMs;
}

bool HttpSession::wants_read() const {
  if (stream_finished() || count_ >= limits_.max_in_flight || !stash_.empty() || output_full())
    return false;
  // Draining: finish a request that has started (or a first one), take no new ones.
  if (draining_ && received_any_ && !parser_.in_head() && !parser_.in_body()) return false;
  return true;
}

bool HttpSession::should_close() const {
  if (closing_) return true;
  return draining_ && received_any_ && count_ == 0 && stash_.empty() && !parser_.in_head() &&
         !parser_.in_body();
}

TimerRequest HttpSession::timer() const {
  // No timer while a request waits for its handler, or received requests wait for
  // output to drain (the owner's write timeout covers that).
  if (closing_ || count_ > 0 || !stash_.empty() || output_full()) return {};
  if (parser_.in_body()) return {TimerKind::body, body_start_ms_ + limits_.body_timeout_ms};
  if (parser_.in_head() || !received_any_) {
    uint64_t deadline = head_start_ms_ + limits_.header_timeout_ms;
    if (draining_ && !received_any_) deadline = std::min(deadline, drain_grace_deadline_ms_);
    return {TimerKind::head, deadline};
  }
  if (stop_parsing_) return {};
  return {TimerKind::idle, idle_start_ms_ + limits_.idle_timeout_ms};
}

}  // namespace paystream::net
