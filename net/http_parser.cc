#include "net/http_parser.h"

#include "base/ascii.h"
#include "net/buffer_release.h"

namespace paystream::net {
namespace {

RequestParser* self(llhttp_t* p) {
  return static_cast<RequestParser*>(p->data);
}

bool is_space(char c) {
  return base::is_one_of(c, base::kSpaceTab);
}

}  // namespace

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t init;
    llhttp_settings_init(&init);
    init.on_message_begin = &RequestParser::on_message_begin;
    init.on_url = &RequestParser::on_url;
    init.on_header_field = &RequestParser::on_header_field;
    init.on_header_field_complete = &RequestParser::on_header_field_complete;
    init.on_header_value = &RequestParser::on_header_value;
    init.on_header_value_complete = &RequestParser::on_header_value_complete;
    init.on_headers_complete = &RequestParser::on_headers_complete;
    init.on_body = &RequestParser::on_body;
    init.on_chunk_header = &RequestParser::on_chunk_header;
    init.on_message_complete = &RequestParser::on_message_complete;
    return init;
  }();
  return s;
}

RequestParser::RequestParser(const ParseLimits& limits) : limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
}

RequestParser::Result RequestParser::feed(const char* data, size_t len) {
  if (failed_) return {Event::error, 0};
  if (len == 0) return {Event::need_more, 0};
  if (paused_) {
    llhttp_resume(&parser_);
    paused_ = false;
  }
  chunk_start_ = data;
  body_spans_.clear();
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  const char* pos = err == HPE_OK ? nullptr : llhttp_get_error_pos(&parser_);
  const size_t consumed = pos != nullptr ? static_cast<size_t>(pos - data) : len;
  // Execution pauses after each request, so these bytes belong to one request at most.
  if (!failed_) check_framing(data, consumed);
  if (failed_) return {Event::error, consumed};
  if (err == HPE_OK) return {Event::need_more, len};
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    if (err == HPE_PAUSED_UPGRADE || parser_.upgrade != 0) {
      // We speak no other protocol: answer this request, then close.
      request_.keep_alive = false;
      failed_ = true;
    } else {
      paused_ = true;
    }
    return {Event::request, consumed};
  }
  // llhttp's own rejection (CL with TE, duplicate CL, control bytes, bad chunk size...).
  // Its reasons are static strings that never quote the request.
  const char* reason = llhttp_get_error_reason(&parser_);
  fail(400, "bad_request", reason != nullptr ? reason : "malformed HTTP request");
  return {Event::error, consumed};
}

void RequestParser::check_framing(const char* data, size_t len) {
  const char* const end = data + len;
  const char* at = data;
  FramingCheck::Verdict verdict = FramingCheck::Verdict::ok;
  for (std::string_view body : body_spans_) {
    if (body.data() < at || body.data() + body.size() > end) continue;  // beyond consumed
    framing_bytes_ += static_cast<size_t>(body.data() - at);
    verdict = framing_.scan(at, static_cast<size_t>(body.data() - at));
    if (verdict == FramingCheck::Verdict::ok) verdict = framing_.body_between();
    if (verdict != FramingCheck::Verdict::ok) break;
    at = body.data() + body.size();
  }
  if (verdict == FramingCheck::Verdict::ok) {
    framing_bytes_ += static_cast<size_t>(end - at);
    verdict = framing_.scan(at, static_cast<size_t>(end - at));
  }
  if (verdict != FramingCheck::Verdict::ok) {
    fail(400, "bad_request", FramingCheck::message(verdict));
  } else if (framing_bytes_ > limits_.max_header_bytes) {
    fail(431, "header_too_large",
         body_chunked_ ? "request head and chunk framing exceed the header size limit"
                       : "request head exceeds the header size limit");
  }
}

int RequestParser::fail(int status, std::string_view code, std::string_view message) {
  if (!failed_) error_ = HttpError{status, code, message};
  failed_ = true;
  return -1;
}

bool RequestParser::head_too_large(const char* end) const {
  return framing_bytes_ + static_cast<size_t>(end - chunk_start_) > limits_.max_header_bytes;
}

int RequestParser::on_message_begin(llhttp_t* p) {
  RequestParser* r = self(p);
  r->in_message_ = true;
  r->headers_done_ = false;
  r->expect_continue_ = false;
  r->in_field_ = false;
  r->framing_bytes_ = 0;
  r->body_chunked_ = false;
  r->body_bytes_ = 0;
  r->text_.clear();
  r->url_ = {0, 0};
  r->header_spans_.clear();
  r->body_.clear();
  release_if_large(r->body_);
  return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  RequestParser* r = self(p);
  if (r->head_too_large(at + len)) {
    return r->fail(431, "header_too_large", "request head exceeds the header size limit");
  }
  if (r->url_.length == 0) r->url_.offset = static_cast<uint32_t>(r->text_.size());
  r->text_.append(at, len);
  r->url_.length += static_cast<uint32_t>(len);
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  RequestParser* r = self(p);
  if (r->headers_done_) return 0;  // chunked trailers: counted as framing, not kept
  if (r->head_too_large(at + len)) {
    return r->fail(431, "header_too_large", "request head exceeds the header size limit");
  }
  if (!r->in_field_) {
    if (r->header_spans_.size() >= r->limits_.max_headers) {
      return r->fail(431, "too_many_headers", "request has more headers than allowed");
    }
    const auto offset = static_cast<uint32_t>(r->text_.size());
    r->header_spans_.push_back({{offset, 0}, {offset, 0}});
    r->in_field_ = true;
  }
  r->text_.append(at, len);
  r->header_spans_.back().name.length += static_cast<uint32_t>(len);
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  if (r->headers_done_) return 0;
  r->in_field_ = false;
  const Span name = r->header_spans_.back().name;
  if (name.length == 0 || is_space(r->text_[name.offset + name.length - 1])) {
    return r->fail(400, "bad_request", "whitespace between header name and colon");
  }
  r->header_spans_.back().value = {static_cast<uint32_t>(r->text_.size()), 0};
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  RequestParser* r = self(p);
  if (r->headers_done_) return 0;
  if (r->head_too_large(at + len)) {
    return r->fail(431, "header_too_large", "request head exceeds the header size limit");
  }
  r->text_.append(at, len);
  r->header_spans_.back().value.length += static_cast<uint32_t>(len);
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  if (r->headers_done_) return 0;
  Span& value = r->header_spans_.back().value;
  while (value.length > 0 && is_space(r->text_[value.offset + value.length - 1])) --value.length;
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  r->headers_done_ = true;
  r->body_chunked_ = (p->flags & F_CHUNKED) != 0;
  return r->check_head();
}

int RequestParser::check_head() {
  if (parser_.http_major != 1 || parser_.http_minor > 1) {
    return fail(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
  }
  build_request();
  int hosts = 0;
  bool transfer_encoding = false;
  for (const Header& h : headers_) {
    if (base::equals_ignore_case(h.name, "host")) ++hosts;
    if (base::equals_ignore_case(h.name, "transfer-encoding")) transfer_encoding = true;
  }
  // RFC 9112 §6.1: a 1.0 recipient cannot be trusted with chunked framing (smuggling).
  if (parser_.http_minor == 0 && transfer_encoding) {
    return fail(400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0");
  }
  if (hosts > 1 || (parser_.http_minor == 1 && hosts != 1)) {
    return fail(400, "bad_request", "HTTP/1.1 requests need exactly one Host header");
  }
  if (request_.path.empty() || request_.path.front() != '/') {
    return fail(400, "bad_request", "request target must be an absolute path");
  }
  if ((parser_.flags & F_CONTENT_LENGTH) != 0 && parser_.content_length > limits_.max_body_bytes) {
    return fail(413, "payload_too_large", "request body exceeds the body size limit");
  }
  std::string_view expect = request_.header("expect");
  if (!expect.empty()) {
    if (!base::equals_ignore_case(expect, "100-continue")) {
      return fail(417, "expectation_failed", "only Expect: 100-continue is supported");
    }
    const bool has_body = (parser_.flags & F_CHUNKED) != 0 ||
                          ((parser_.flags & F_CONTENT_LENGTH) != 0 && parser_.content_length > 0);
    expect_continue_ = has_body && parser_.http_minor == 1;
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t len) {
  RequestParser* r = self(p);
  r->body_spans_.emplace_back(at, len);
  r->body_bytes_ += len;
  if (r->body_bytes_ > r->limits_.max_body_bytes) {
    return r->fail(413, "payload_too_large", "request body exceeds the body size limit");
  }
  r->body_.append(at, len);
  return 0;
}

int RequestParser::on_chunk_header(llhttp_t* p) {
  RequestParser* r = self(p);
  // The chunk's size is known before its data: refuse it before reading it.
  if (p->content_length > r->limits_.max_body_bytes - r->body_bytes_) {
    return r->fail(413, "payload_too_large", "request body exceeds the body size limit");
  }
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser* r = self(p);
  r->request_.body = r->body_;
  r->request_.keep_alive = llhttp_should_keep_alive(p) != 0;
  r->in_message_ = false;
  r->headers_done_ = false;
  r->expect_continue_ = false;
  return HPE_PAUSED;  // hand the request over before parsing the next one
}

void RequestParser::build_request() {
  headers_.clear();
  for (const HeaderSpan& h : header_spans_) {
    headers_.push_back(
        {std::string_view(text_).substr(h.name.offset, h.name.length),
         base::trim_right(std::string_view(text_).substr(h.value.offset, h.value.length),
                          base::kSpaceTab)});
  }
  request_.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  request_.target = std::string_view(text_).substr(url_.offset, url_.length);
  std::string_view path = request_.target;
  if (path.starts_with("http://") || path.starts_with("https://")) {
    // absolute-form: the path starts after the authority
    size_t authority = path.find("//") + 2;
    size_t slash = path.find('/', authority);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  size_t question = path.find('?');
  request_.path = path.substr(0, question);
  request_.query =
      question == std::string_view::npos ? std::string_view() : path.substr(question + 1);
  request_.headers = headers_;
  request_.body = {};
  request_.version_minor = parser_.http_minor;
  request_.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
}

}  // namespace paystream::net
