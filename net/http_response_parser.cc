#include "net/http_response_parser.h"

#include <algorithm>

namespace paystream::net {
namespace {

ResponseParser* self(llhttp_t* p) {
  return static_cast<ResponseParser*>(p->data);
}

bool interim(int status) {
  return status >= 100 && status < 200 && status != 101;
}

}  // namespace

const llhttp_settings_t& ResponseParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t init;
    llhttp_settings_init(&init);
    init.on_message_begin = &ResponseParser::on_message_begin;
    init.on_headers_complete = &ResponseParser::on_headers_complete;
    init.on_body = &ResponseParser::on_body;
    init.on_message_complete = &ResponseParser::on_message_complete;
    return init;
  }();
  return s;
}

ResponseParser::ResponseParser(size_t max_bytes) : max_bytes_(max_bytes) {
  reset();
}

void ResponseParser::reset(bool head) {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
  bytes_ = 0;
  head_ = head;
  complete_ = false;
  done_ = false;
  keep_alive_ = false;
  status_ = 0;
}

int ResponseParser::on_message_begin(llhttp_t* p) {
  self(p)->body_.clear();  // the first byte of this answer: the previous body is not needed
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  ResponseParser* r = self(p);
  r->status_ = p->status_code;
  if (p->status_code == 101) return -1;   // an upgrade we never asked for
  if (interim(p->status_code)) return 0;  // llhttp knows it has no body
  return r->head_ ? 1 : 0;                // 1: no body follows
}

int ResponseParser::on_body(llhttp_t* p, const char* at, size_t len) {
  ResponseParser* r = self(p);
  if (!interim(r->status_)) r->body_.append(at, len);
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  ResponseParser* r = self(p);
  if (interim(p->status_code)) return 0;  // the final answer follows
  r->complete_ = true;
  r->keep_alive_ = llhttp_should_keep_alive(p) != 0;
  return HPE_PAUSED;  // one answer: bytes after it are not ours to parse
}

ResponseParser::Result ResponseParser::feed(const char* data, size_t len) {
  if (done_) return {Event::malformed, 0};
  if (len == 0) return {Event::need_more, 0};
  // Never more than the bound allows: what is left over means the answer is too large.
  const size_t room = max_bytes_ - std::min(bytes_, max_bytes_);
  const size_t n = std::min(len, room);
  const llhttp_errno_t err = n > 0 ? llhttp_execute(&parser_, data, n) : HPE_OK;
  size_t consumed = n;
  if (err == HPE_PAUSED) {
    consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
  }
  bytes_ += consumed;
  if (err != HPE_OK && err != HPE_PAUSED) {
    done_ = true;
    return {Event::malformed, consumed};
  }
  if (complete_) {
    done_ = true;
    return {Event::complete, consumed};
  }
  if (n < len) {
    done_ = true;
    return {Event::too_large, consumed};
  }
  return {Event::need_more, consumed};
}

ResponseParser::Result ResponseParser::finish() {
  if (done_) return {complete_ ? Event::complete : Event::malformed, 0};
  if (bytes_ == 0) return {Event::need_more, 0};
  llhttp_finish(&parser_);  // calls on_message_complete for a body delimited by the close
  done_ = true;
  if (complete_) {
    keep_alive_ = false;
    return {Event::complete, 0};
  }
  return {Event::malformed, 0};
}

}  // namespace paystream::net
