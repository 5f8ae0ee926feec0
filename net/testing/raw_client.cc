#include "net/testing/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "base/ascii.h"

namespace paystream::net::testing {
namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string ParsedResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (base::equals_ignore_case(k, name)) return v;
  }
  return {};
}

std::vector<ParsedResponse> parse_responses(std::string_view bytes, size_t* consumed) {
  std::vector<ParsedResponse> out;
  size_t pos = 0;
  for (;;) {
    const size_t head_end = bytes.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) break;
    std::string_view head = bytes.substr(pos, head_end - pos);
    ParsedResponse r;
    const size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12) break;
    r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    size_t line_start = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (line_start < head.size()) {
      size_t next = head.find("\r\n", line_start);
      if (next == std::string_view::npos) next = head.size();
      std::string_view line = head.substr(line_start, next - line_start);
      const size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        const std::string_view value = base::trim_left(line.substr(colon + 1), " ");
        r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      }
      line_start = next + 2;
    }
    const size_t body_start = head_end + 4;
    size_t length = 0;
    if (std::string cl = r.header("content-length"); !cl.empty()) length = std::stoul(cl);
    if (bytes.size() < body_start + length) break;
    r.body = std::string(bytes.substr(body_start, length));
    pos = body_start + length;
    out.push_back(std::move(r));
  }
  if (consumed != nullptr) *consumed = pos;
  return out;
}

RawClient::RawClient(RawClient&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RawClient::~RawClient() {
  close();
}

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::connect(int port) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int on = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close();
    return false;
  }
  return true;
}

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::vector<ParsedResponse> RawClient::read_responses(size_t count, int timeout_ms) {
  std::vector<ParsedResponse> got;
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    size_t consumed = 0;
    for (auto& r : parse_responses(buffer_, &consumed)) got.push_back(std::move(r));
    buffer_.erase(0, consumed);
    if (got.size() >= count) return got;
    const int64_t left = deadline - now_ms();
    if (left <= 0) return got;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return got;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      for (auto& r : parse_responses(buffer_, &consumed)) got.push_back(std::move(r));
      return got;
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool RawClient::wait_closed(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    const int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<ParsedResponse> http_request(int port, std::string_view raw_request, int timeout_ms) {
  RawClient c;
  if (!c.connect(port) || !c.send(raw_request)) return std::nullopt;
  auto got = c.read_responses(1, timeout_ms);
  if (got.empty()) return std::nullopt;
  return got.front();
}

}  // namespace paystream::net::testing
