#include "bench/authload/response_reader.h"

#include <algorithm>
#include <cstring>

#include "base/ascii.h"

namespace paystream::bench {
namespace {

ResponseReader* self(llhttp_t* p) {
  return static_cast<ResponseReader*>(p->data);
}

size_t skip_spaces(std::string_view text, size_t at) {
  return text.size() - base::trim_left(text.substr(at), base::kWhitespace).size();
}

}  // namespace

Verdict find_verdict(std::string_view body) {
  constexpr std::string_view kKey = "\"status\"";
  for (size_t at = body.find(kKey); at != std::string_view::npos; at = body.find(kKey, at + 1)) {
    size_t pos = skip_spaces(body, at + kKey.size());
    if (pos >= body.size() || body[pos] != ':') continue;
    const std::string_view value = body.substr(skip_spaces(body, pos + 1));
    if (value.starts_with("\"approved\"")) return Verdict::approved;
    if (value.starts_with("\"declined\"")) return Verdict::declined;
  }
  return Verdict::none;
}

const llhttp_settings_t& ResponseReader::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t init;
    llhttp_settings_init(&init);
    init.on_message_begin = &ResponseReader::on_message_begin;
    init.on_headers_complete = &ResponseReader::on_headers_complete;
    init.on_body = &ResponseReader::on_body;
    init.on_message_complete = &ResponseReader::on_message_complete;
    return init;
  }();
  return s;
}

ResponseReader::ResponseReader(bool head_requests) : head_requests_(head_requests) {
  reset();
}

void ResponseReader::reset() {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
  in_message_ = false;
  body_prefix_len_ = 0;
}

int ResponseReader::on_message_begin(llhttp_t* p) {
  ResponseReader* r = self(p);
  r->in_message_ = true;
  r->body_prefix_len_ = 0;
  return 0;
}

int ResponseReader::on_headers_complete(llhttp_t* p) {
  // 1: no body follows (the answer to HEAD); interim 1xx answers never have one.
  return self(p)->head_requests_ && p->status_code >= 200 ? 1 : 0;
}

int ResponseReader::on_body(llhttp_t* p, const char* at, size_t len) {
  ResponseReader* r = self(p);
  const size_t room = kBodyPrefixBytes - r->body_prefix_len_;
  const size_t take = std::min(room, len);
  std::memcpy(r->body_prefix_ + r->body_prefix_len_, at, take);
  r->body_prefix_len_ += take;
  return 0;
}

int ResponseReader::on_message_complete(llhttp_t* p) {
  ResponseReader* r = self(p);
  r->in_message_ = false;
  const int status = p->status_code;
  if (status >= 100 && status < 200 && status != 101) return 0;  // interim: the answer follows
  HttpResponse response;
  response.status = status;
  response.keep_alive = llhttp_should_keep_alive(p) != 0 && status != 101;
  response.verdict = find_verdict(std::string_view(r->body_prefix_, r->body_prefix_len_));
  const bool go_on = r->sink_->on_response(response);
  return go_on && response.keep_alive ? 0 : HPE_PAUSED;
}

ResponseReader::Status ResponseReader::status_of(llhttp_errno_t err) const {
  if (err == HPE_OK) return Status::ok;
  if (err == HPE_PAUSED) return Status::stopped;
  return Status::error;
}

ResponseReader::Status ResponseReader::feed(const char* data, size_t len, Sink& sink) {
  sink_ = &sink;
  const Status status = status_of(llhttp_execute(&parser_, data, len));
  sink_ = nullptr;
  return status;
}

ResponseReader::Status ResponseReader::finish(Sink& sink) {
  sink_ = &sink;
  const llhttp_errno_t err = llhttp_finish(&parser_);
  sink_ = nullptr;
  if (err == HPE_OK && in_message_) return Status::error;
  return status_of(err);
}

const char* ResponseReader::error_reason() const {
  const char* reason = llhttp_get_error_reason(&parser_);
  return reason == nullptr ? "" : reason;
}

}  // namespace paystream::bench
