#pragma once
// Incremental HTTP/1.x request parser on llhttp 8.1 (strict mode): accepts requests
// split across any number of reads and many requests per read, and enforces our
// limits and the syntax rules llhttp lets through (CRLF-only framing, obs-fold,
// whitespace before a colon, HTTP/1.0 with Transfer-Encoding, Host).

#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_framing.h"
#include "net/http_types.h"

namespace paystream::net {

struct ParseLimits {
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 16384;
  size_t max_headers = 64;
};

// A request the stream cannot continue after: answered with `status`, then closed.
struct HttpError {
  int status = 400;
  std::string_view code;     // e.g. "bad_request"
  std::string_view message;  // static text, never request data
};

class RequestParser {
 public:
  enum class Event {
    need_more,  // every byte given was consumed
    request,    // a complete request: see request(); feed the rest again
    error,      // see error(); the stream is finished
  };
  struct Result {
    Event event;
    size_t consumed;
  };

  explicit RequestParser(const ParseLimits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  Result feed(const char* data, size_t len);

  const Request& request() const { return request_; }
  const HttpError& error() const { return error_; }

  // Some bytes of a request have arrived, and its head is not complete yet.
  bool in_head() const { return in_message_ && !headers_done_; }
  // The head is complete and the body is still arriving.
  bool in_body() const { return in_message_ && headers_done_; }
  // The client sent `Expect: 100-continue` and waits for it: no body byte yet.
  bool awaiting_continue() const { return expect_continue_ && in_body() && body_bytes_ == 0; }
  void continue_sent() { expect_continue_ = false; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_field_complete(llhttp_t* p);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_chunk_header(llhttp_t* p);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t& settings();

  void check_framing(const char* data, size_t len);
  int fail(int status, std::string_view code, std::string_view message);
  bool head_too_large(const char* end) const;
  int check_head();
  void build_request();

  struct Span {
    uint32_t offset;
    uint32_t length;
  };
  struct HeaderSpan {
    Span name;
    Span value;
  };

  llhttp_t parser_;
  ParseLimits limits_;
  HttpError error_;
  bool failed_ = false;
  bool paused_ = false;
  FramingCheck framing_;
  // Body data llhttp reported during one feed(): the rest of the bytes is framing.
  std::vector<std::string_view> body_spans_;

  // Per message.
  bool in_message_ = false;
  bool headers_done_ = false;
  bool expect_continue_ = false;
  bool in_field_ = false;
  // Framing bytes (head, chunk-size lines, extensions, trailers) of this request
  // before the chunk llhttp is parsing: limited to max_header_bytes.
  size_t framing_bytes_ = 0;
  bool body_chunked_ = false;
  size_t body_bytes_ = 0;
  std::string text_;  // url, then header names and values, accumulated across reads
  Span url_{0, 0};
  std::vector<HeaderSpan> header_spans_;
  std::string body_;
  std::vector<Header> headers_;
  Request request_;

  // The chunk llhttp is parsing, to measure the head.
  const char* chunk_start_ = nullptr;
};

}  // namespace paystream::net
