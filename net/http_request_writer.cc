#include "net/http_request_writer.h"

#include <charconv>

namespace paystream::net {
namespace {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Field values and the target: visible characters, and spaces/tabs inside values only.
bool is_clean(std::string_view s, bool allow_space) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '\r' || u == '\n' || u == 0 || u == 0x7f) return false;
    if (u < 0x20 && u != '\t') return false;
    if (!allow_space && (u == ' ' || u == '\t')) return false;
  }
  return true;
}

}  // namespace

bool write_http_request(std::string& out, std::string_view method, std::string_view target,
                        std::string_view host_header, std::span<const HttpHeaderField> headers,
                        std::string_view body) {
  if (!is_token(method) || target.empty() || !is_clean(target, false) ||
      !is_clean(host_header, false)) {
    return false;
  }
  out.clear();
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  out.append(host_header).append("\r\n");
  for (const HttpHeaderField& h : headers) {
    if (!is_token(h.name) || !is_clean(h.value, true)) return false;
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  char length[24];
  const auto [end, ec] = std::to_chars(length, length + sizeof length, body.size());
  out.append("Content-Length: ").append(length, static_cast<size_t>(end - length));
  out.append("\r\n\r\n").append(body);
  return true;
}

}  // namespace paystream::net
