#pragma once
// Incremental HTTP/1.x response parser on llhttp (HTTP_RESPONSE mode): responses may arrive
// many per read or split across reads; Content-Length, chunked and close-delimited bodies,
// interim 1xx answers skipped. Keeps only what the load generator counts.

#include <llhttp.h>

#include <cstddef>
#include <string_view>

namespace paystream::bench {

enum class Verdict { none, approved, declined };

struct HttpResponse {
  int status = 0;
  bool keep_alive = true;  // false: the server closes after this response
  Verdict verdict = Verdict::none;
};

// `"status":"approved"` or `"status":"declined"` in a body prefix, whitespace allowed.
Verdict find_verdict(std::string_view body);

class ResponseReader {
 public:
  class Sink {
   public:
    // False stops parsing: the connection is going away.
    virtual bool on_response(const HttpResponse& response) = 0;

   protected:
    ~Sink() = default;
  };

  enum class Status {
    ok,       // every byte consumed
    stopped,  // a response said Connection: close, or the sink asked to stop
    error,    // not HTTP: the connection cannot continue
  };

  // `head_requests`: responses carry no body whatever their headers say.
  explicit ResponseReader(bool head_requests);
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  Status feed(const char* data, size_t len, Sink& sink);
  // The peer closed: completes a close-delimited body; error when a response was cut short.
  Status finish(Sink& sink);
  // Starts over for a new connection.
  void reset();
  // Some bytes of a response have arrived and it is not complete.
  bool in_response() const { return in_message_; }
  const char* error_reason() const;

 private:
  static constexpr size_t kBodyPrefixBytes = 256;  // the verdict sits near the start

  static const llhttp_settings_t& settings();
  static int on_message_begin(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);
  Status status_of(llhttp_errno_t err) const;

  llhttp_t parser_;
  bool head_requests_;
  bool in_message_ = false;
  Sink* sink_ = nullptr;
  char body_prefix_[kBodyPrefixBytes];
  size_t body_prefix_len_ = 0;
};

}  // namespace paystream::bench
