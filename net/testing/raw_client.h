#pragma once
// Blocking loopback client for end-to-end tests: raw bytes out, HTTP/1.1
// responses parsed back, with timeouts so a broken server fails a test, not CI.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paystream::net::testing {

struct ParsedResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header of that name (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

// Parses the complete responses at the start of `bytes` (Content-Length framing;
// 1xx interim responses included). `consumed` tells how many bytes they took.
std::vector<ParsedResponse> parse_responses(std::string_view bytes, size_t* consumed = nullptr);

class RawClient {
 public:
  RawClient() = default;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&& other) noexcept;
  ~RawClient();

  bool connect(int port);  // 127.0.0.1 only
  bool send(std::string_view bytes);
  // Reads until `count` responses arrived, the peer closed or the timeout passed.
  std::vector<ParsedResponse> read_responses(size_t count, int timeout_ms = 5000);
  // True once the peer closed (EOF or reset) within the timeout; data is discarded.
  bool wait_closed(int timeout_ms = 5000);
  void close();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// One request, one response on a fresh connection.
std::optional<ParsedResponse> http_request(int port, std::string_view raw_request,
                                           int timeout_ms = 5000);

}  // namespace paystream::net::testing
