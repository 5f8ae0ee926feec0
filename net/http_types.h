#pragma once
// Plain HTTP/1.1 values shared by the parser, the session and handlers.

#include <cstdint>
#include <span>
#include <string_view>

namespace paystream::net {

struct Header {
  std::string_view name;
  std::string_view value;  // surrounding whitespace trimmed
};

// A complete request. Its views stay valid only while the route's Handler runs:
// a handler copies what it needs before answering later.
struct Request {
  std::string_view method;
  std::string_view target;  // as sent
  std::string_view path;    // target without query
  std::string_view query;
  std::span<const Header> headers;
  std::string_view body;
  uint8_t version_minor = 1;  // HTTP/1.<minor>
  bool keep_alive = true;     // after this request, per HTTP/1.0 and 1.1 rules

  // First header of that name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

struct ResponseHeader {
  std::string_view name;
  std::string_view value;
};

// A response as a handler gives it; the session adds Content-Length, Date and Connection.
struct Response {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string_view body;
  std::span<const ResponseHeader> headers;  // extra headers, e.g. Allow, Retry-After
};

std::string_view reason_phrase(int status);

}  // namespace paystream::net
