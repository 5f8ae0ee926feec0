#pragma once
// Serializes one outbound HTTP/1.1 request into a reused buffer: request line, Host, the
// caller's headers, Content-Length, body. Refuses what would let a value break the framing
// (CR, LF or NUL anywhere, a space in the target, an empty or non-token method or name).

#include <span>
#include <string>
#include <string_view>

namespace paystream::net {

struct HttpHeaderField {
  std::string_view name, value;
};

// Replaces `out` with the request's bytes (its capacity is kept). False, with `out`
// unspecified, when a part is not valid in a request.
bool write_http_request(std::string& out, std::string_view method, std::string_view target,
                        std::string_view host_header, std::span<const HttpHeaderField> headers,
                        std::string_view body);

}  // namespace paystream::net
