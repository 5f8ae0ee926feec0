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

std::string_view find_error_code(std::string_view body) {
  constexpr std::string_view kKey = "\"error\"";
  for (size_t at = body.find(kKey); at != std::string_view::npos; at = body.find(kKey, at + 1)) {
    size_t pos = skip_spaces(body, at + kKey.size());
    if (pos >= body.size() || body[pos] != ':') continue;
    pos = skip_spaces(body, pos + 1);
    if (pos >= body.size() || body[pos] != '"') continue;
    const size_t end = body.find('"', pos + 1);
    if (end == std::string_view::npos) return {};
    return body.substr(pos + 1, end - pos - 1);
  }
  return {};
}

const llhttp_settings_t& ResponseReader::settings(bool track_idempotency) {
  static const llhttp_settings_t plain = [] {
    llhttp_settings_t init;
    llhttp_settings_init(&init);
    init.on_message_begin = &ResponseReader::on_message_begin;
    init.on_headers_complete = &ResponseReader::on_headers_complete;
    init.on_body = &ResponseReader::on_body;
    init.on_message_complete = &ResponseReader::on_message_complete;
    return init;
  }();
  static const llhttp_settings_t tracking = [] {
    llhttp_settings_t init = plain;
    init.on_header_field = &ResponseReader::on_header_field;
    init.on_header_field_complete = &ResponseReader::on_header_field_complete;
    init.on_header_value = &ResponseReader::on_header_value;
    init.on_header_value_complete = &ResponseReader::on_header_value_complete;
    return init;
  }();
  return track_idempotency ? tracking : plain;
}

ResponseReader::ResponseReader(bool head_requests, bool track_idempotency)
    : settings_(&settings(track_idempotency)),
      head_requests_(head_requests),
      body_(track_idempotency ? kKeptBodyBytes : kBodyPrefixBytes) {
  reset();
}

void ResponseReader::reset() {
  llhttp_init(&parser_, HTTP_RESPONSE, settings_);
  parser_.data = this;
  in_message_ = false;
  body_len_ = 0;
  body_truncated_ = false;
  header_len_ = 0;
}

int ResponseReader::on_message_begin(llhttp_t* p) {
  ResponseReader* r = self(p);
  r->in_message_ = true;
  r->body_len_ = 0;
  r->body_truncated_ = false;
  r->header_len_ = 0;
  r->replayed_ = false;
  r->retry_after_ = false;
  return 0;
}

// Header names and values arrive in pieces when a read ends inside them: collected in header_,
// which keeps at most kHeaderBytes (longer ones are none of ours and compare unequal).
int ResponseReader::on_header_field(llhttp_t* p, const char* at, size_t len) {
  ResponseReader* r = self(p);
  const size_t used = std::min(r->header_len_, kHeaderBytes);
  const size_t take = std::min(len, kHeaderBytes - used);
  if (take > 0) std::memcpy(r->header_ + used, at, take);
  r->header_len_ += len;
  return 0;
}

int ResponseReader::on_header_field_complete(llhttp_t* p) {
  ResponseReader* r = self(p);
  const std::string_view name(r->header_, std::min(r->header_len_, kHeaderBytes));
  const bool fits = r->header_len_ <= kHeaderBytes;
  r->header_kind_ = !fits                                                   ? Header::other
                    : base::equals_ignore_case(name, "idempotent-replayed") ? Header::replayed
                    : base::equals_ignore_case(name, "retry-after")         ? Header::retry_after
                                                                            : Header::other;
  r->header_len_ = 0;
  return 0;
}

int ResponseReader::on_header_value(llhttp_t* p, const char* at, size_t len) {
  return on_header_field(p, at, len);  // the same collection, for the value
}

int ResponseReader::on_header_value_complete(llhttp_t* p) {
  ResponseReader* r = self(p);
  const std::string_view value = base::trim(
      std::string_view(r->header_, std::min(r->header_len_, kHeaderBytes)), base::kSpaceTab);
  if (r->header_kind_ == Header::replayed) {
    r->replayed_ = r->header_len_ <= kHeaderBytes && value == "true";
  } else if (r->header_kind_ == Header::retry_after) {
    r->retry_after_ = true;
  }
  r->header_kind_ = Header::other;
  r->header_len_ = 0;
  return 0;
}

int ResponseReader::on_headers_complete(llhttp_t* p) {
  // 1: no body follows (the answer to HEAD); interim 1xx answers never have one.
  return self(p)->head_requests_ && p->status_code >= 200 ? 1 : 0;
}

int ResponseReader::on_body(llhttp_t* p, const char* at, size_t len) {
  ResponseReader* r = self(p);
  const size_t room = r->body_.size() - r->body_len_;
  const size_t take = std::min(room, len);
  std::memcpy(r->body_.data() + r->body_len_, at, take);
  r->body_len_ += take;
  if (take < len) r->body_truncated_ = true;
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
  const std::string_view body(r->body_.data(), r->body_len_);
  response.verdict = find_verdict(body.substr(0, kBodyPrefixBytes));
  response.body = body;
  response.body_complete = !r->body_truncated_;
  response.replayed = r->replayed_;
  response.retry_after = r->retry_after_;
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
