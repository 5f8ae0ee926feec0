// Test-only (never installed): runs RequestParser over byte streams for the h11
// differential test. Input on stdin, repeated: a line "<length> <piece>\n", then
// <length> bytes of one connection's stream, fed in pieces of <piece> bytes (0: all
// at once). Output: one JSON line per request, error or unfinished stream:
//   {"stream":S,"request":{"method":"POST","target_hex":"2f61","body_len":N,
//    "body_fnv":"<fnv-1a 64 hex>","end":E,"keep_alive":true}}
//   {"stream":S,"error":400,"at":E}          the stream is refused
//   {"stream":S,"incomplete":true}           the stream ends inside a request
// A request that does not keep the connection alive ends its stream, as in HttpSession.

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "net/http_parser.h"

namespace net = paystream::net;

namespace {

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void run(size_t stream, std::string_view bytes, size_t piece) {
  net::RequestParser parser(net::ParseLimits{});
  size_t fed_until = 0;  // bytes handed to the parser so far (a read's worth at a time)
  size_t at = 0;         // bytes it consumed
  while (true) {
    if (at == fed_until) {
      if (fed_until == bytes.size()) break;
      fed_until = piece == 0 ? bytes.size() : std::min(bytes.size(), fed_until + piece);
    }
    const auto [event, consumed] = parser.feed(bytes.data() + at, fed_until - at);
    at += consumed;
    if (event == net::RequestParser::Event::error) {
      std::printf("{\"stream\":%zu,\"error\":%d,\"at\":%zu}\n", stream, parser.error().status, at);
      return;
    }
    if (event == net::RequestParser::Event::request) {
      const net::Request& r = parser.request();
      std::printf(
          "{\"stream\":%zu,\"request\":{\"method\":\"%.*s\",\"target_hex\":\"%s\",\"body_len\":%zu,"
          "\"body_fnv\":\"%016" PRIx64 "\",\"end\":%zu,\"keep_alive\":%s}}\n",
          stream, static_cast<int>(r.method.size()), r.method.data(), hex(r.target).c_str(),
          r.body.size(), fnv1a(r.body), at, r.keep_alive ? "true" : "false");
      if (!r.keep_alive) return;
    }
  }
  if (parser.in_head() || parser.in_body()) {
    std::printf("{\"stream\":%zu,\"incomplete\":true}\n", stream);
  }
}

}  // namespace

int main() {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), {});
  std::string_view rest(input);
  for (size_t stream = 0; !rest.empty(); ++stream) {
    const size_t newline = rest.find('\n');
    size_t length = 0;
    size_t piece = 0;
    if (newline == std::string_view::npos ||
        std::sscanf(std::string(rest.substr(0, newline)).c_str(), "%zu %zu", &length, &piece) !=
            2 ||
        rest.size() - newline - 1 < length) {
      std::fprintf(stderr, "parse-stream: malformed input at stream %zu\n", stream);
      return 2;
    }
    run(stream, rest.substr(newline + 1, length), piece);
    rest.remove_prefix(newline + 1 + length);
  }
  return 0;
}
