#pragma once
// Incremental HTTP/1.x response parser on llhttp 8.1 (response mode, strict): one response
// at a time, split across any number of reads, framed by Content-Length, chunked encoding or
// the peer's close. Interim 1xx answers are skipped; 101 is refused (we never ask to
// upgrade). The whole answer (status line, headers, body) is bounded. The body is kept in a
// buffer reused from one response to the next (no allocation once warm).

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace paystream::net {

class ResponseParser {
 public:
  enum class Event : uint8_t {
    need_more,  // every byte given was consumed, the answer is not complete
    complete,   // the answer is complete: `consumed` bytes were its end
    malformed,  // not valid HTTP/1.x (or a 101)
    too_large,  // over max_bytes before it was complete
  };
  struct Result {
    Event event;
    size_t consumed;
  };

  explicit ResponseParser(size_t max_bytes);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Expects a new answer (to a HEAD request when `head`: it has no body). The previous
  // answer's body stays readable until the first byte of the new one is fed.
  void reset(bool head = false);
  // Feeds bytes of the answer. After complete, malformed or too_large, reset() first.
  Result feed(const char* data, size_t len);
  // The peer closed: completes an answer whose body runs to the close; anything else that
  // was started is malformed; nothing started stays need_more.
  Result finish();

  bool started() const { return bytes_ > 0; }  // a byte of this answer has been fed
  int status() const { return status_; }
  std::string_view body() const { return body_; }
  // After complete: the connection may carry another request (HTTP/1.1 without
  // `Connection: close`, or HTTP/1.0 with keep-alive, and a body not delimited by the close).
  bool keep_alive() const { return keep_alive_; }
  size_t bytes() const { return bytes_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);
  static const llhttp_settings_t& settings();

  llhttp_t parser_;
  size_t max_bytes_;
  size_t bytes_ = 0;  // fed since reset(), interim answers included
  bool head_ = false;
  bool complete_ = false;
  bool done_ = false;  // complete, malformed or too_large: reset() before feeding more
  bool keep_alive_ = false;
  int status_ = 0;
  std::string body_;
};

}  // namespace paystream::net
