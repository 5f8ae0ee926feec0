#pragma once
// Incremental HTTP/1.x response parser on llhttp (HTTP_RESPONSE mode): responses may arrive
// many per read or split across reads; Content-Length, chunked and close-delimited bodies,
// interim 1xx answers skipped. Keeps only what the load generator counts: with idempotency
// tracking on, also the replay and Retry-After headers and the body up to kKeptBodyBytes.

#include <llhttp.h>

#include <cstddef>
#include <string_view>
#include <vector>

namespace paystream::bench {

enum class Verdict { none, approved, declined };

struct HttpResponse {
  int status = 0;
  bool keep_alive = true;  // false: the server closes after this response
  Verdict verdict = Verdict::none;
  // Only with idempotency tracking on:
  bool replayed = false;     // `Idempotent-Replayed: true`
  bool retry_after = false;  // a Retry-After header
  // The body's first bytes: all of it when body_complete. Valid during Sink::on_response only.
  std::string_view body;
  bool body_complete = true;
};

// `"status":"approved"` or `"status":"declined"` in a body prefix, whitespace allowed.
Verdict find_verdict(std::string_view body);
// The string value of the first `"error"` member, e.g. `idempotency_key_in_use`; empty if none.
std::string_view find_error_code(std::string_view body);

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

  // Bodies kept whole up to this size for comparing replays; the service's stored responses
  // are far smaller.
  static constexpr size_t kKeptBodyBytes = 4096;

  // `head_requests`: responses carry no body whatever their headers say. `track_idempotency`:
  // look at the headers and keep up to kKeptBodyBytes of the body (else 256 bytes, headers
  // unread).
  explicit ResponseReader(bool head_requests, bool track_idempotency = false);
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

  static const llhttp_settings_t& settings(bool track_idempotency);
  static int on_message_begin(llhttp_t* p);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_field_complete(llhttp_t* p);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);
  Status status_of(llhttp_errno_t err) const;

  enum class Header : uint8_t { other, replayed, retry_after };
  static constexpr size_t kHeaderBytes = 24;  // longer names and values are not ours

  llhttp_t parser_;
  const llhttp_settings_t* settings_;
  bool head_requests_;
  bool in_message_ = false;
  Sink* sink_ = nullptr;
  std::vector<char> body_;  // sized once: kBodyPrefixBytes or kKeptBodyBytes
  size_t body_len_ = 0;
  bool body_truncated_ = false;
  // The header being read, possibly split across reads.
  char header_[kHeaderBytes];
  size_t header_len_ = 0;
  Header header_kind_ = Header::other;
  bool replayed_ = false;
  bool retry_after_ = false;
};

}  // namespace paystream::bench
