#include "net/testing/http_upstream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace paystream::net::testing {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void reset_and_close(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

size_t content_length(std::string_view head) {
  size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    constexpr std::string_view kName = "content-length:";
    if (head.size() - at < kName.size()) break;
    bool match = true;
    for (size_t i = 0; i < kName.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(head[at + i])) != kName[i]) match = false;
    }
    if (!match) continue;
    size_t p = at + kName.size();
    while (p < head.size() && head[p] == ' ') ++p;
    size_t n = 0;
    std::from_chars(head.data() + p, head.data() + head.size(), n);
    return n;
  }
  return 0;
}

struct Conn {
  int fd;
  std::string in;
  uint64_t answered = 0;
  uint64_t answer_at = 0;  // a delayed answer is due then (0: none)
  std::string answer;
  uint64_t idle_since = 0;  // after an answer, no request yet
};

}  // namespace

HttpUpstream::HttpUpstream() = default;

HttpUpstream::~HttpUpstream() {
  if (thread_.joinable()) {
    const char c = 'x';
    (void)!write(wake_[1], &c, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

bool HttpUpstream::start() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(wake_, O_CLOEXEC) != 0) {
    return false;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
  return true;
}

uint64_t HttpUpstream::requests(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = requests_.find(path);
  return it == requests_.end() ? 0 : it->second;
}

std::string HttpUpstream::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

void HttpUpstream::run() {
  std::vector<std::unique_ptr<Conn>> conns;
  auto drop = [&](size_t i, bool reset) {
    if (reset) {
      reset_and_close(conns[i]->fd);
    } else {
      close(conns[i]->fd);
    }
    conns.erase(conns.begin() + static_cast<ptrdiff_t>(i));
    open_now_.store(conns.size());
  };
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    uint64_t now = now_ms();
    int timeout = 100;
    for (auto& c : conns) {
      fds.push_back({c->fd, POLLIN, 0});
      uint64_t due = 0;
      if (c->answer_at != 0) due = c->answer_at;
      if (c->idle_since != 0 && idle_close_ms.load() != 0) due = c->idle_since + idle_close_ms;
      if (due != 0) timeout = std::min<int>(timeout, due > now ? int(due - now) : 0);
    }
    poll(fds.data(), fds.size(), timeout);
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        conns.push_back(std::make_unique<Conn>(Conn{fd, {}}));
        ++accepted_;
        open_now_.store(conns.size());
        max_open_.store(std::max<uint64_t>(max_open_.load(), conns.size()));
      }
    }
    now = now_ms();
    // Walk backwards: drop() erases.
    for (size_t i = conns.size(); i-- > 0;) {
      Conn& c = *conns[i];
      const short revents = i + 2 < fds.size() && fds[i + 2].fd == c.fd ? fds[i + 2].revents : 0;
      if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char peek;
        if (reset_reused.load() && c.answered > 0 && c.answer_at == 0 &&
            recv(c.fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
          ++reset_unread_;
          drop(i, true);
          continue;
        }
        char buf[16384];
        const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0) {
          drop(i, false);
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        c.idle_since = 0;
      }
      if (c.answer_at != 0) {
        if (now < c.answer_at) continue;
        c.answer_at = 0;
        send_all(c.fd, c.answer);
        ++c.answered;
        c.idle_since = now_ms();
        continue;
      }
      if (c.idle_since != 0 && idle_close_ms.load() != 0 && now >= c.idle_since + idle_close_ms) {
        drop(i, false);
        continue;
      }
      const size_t head_end = c.in.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const std::string_view head(c.in.data(), head_end + 2);
      const size_t total = head_end + 4 + content_length(head);
      if (c.in.size() < total) continue;
      const std::string request = c.in.substr(0, total);
      const std::string body = c.in.substr(head_end + 4, total - head_end - 4);
      c.in.erase(0, total);
      const size_t sp1 = request.find(' ');
      const size_t sp2 = request.find(' ', sp1 + 1);
      const std::string target = request.substr(sp1 + 1, sp2 - sp1 - 1);
      const std::string path = target.substr(0, target.find('?'));
      {
        std::lock_guard lock(mutex_);
        ++requests_[path];
        last_request_ = request;
      }
      if (path == "/ok") {
        uint64_t ms = 0;
        const size_t q = target.find("ms=");
        if (q != std::string::npos) {
          std::from_chars(target.data() + q + 3, target.data() + target.size(), ms);
        }
        c.answer =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        c.answer_at = now_ms() + ms;
        if (ms == 0) {
          c.answer_at = 0;
          send_all(c.fd, c.answer);
          ++c.answered;
          c.idle_since = now_ms();
        }
      } else if (path == "/chunked") {
        send_all(c.fd,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
        ++c.answered;
        c.idle_since = now_ms();
      } else if (path == "/close") {
        send_all(c.fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        drop(i, false);
      } else if (path == "/http10") {
        send_all(c.fd, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
        ++c.answered;
        c.idle_since = now_ms();
      } else if (path == "/reset") {
        send_all(c.fd, "HTTP/1.1 200 O");
        usleep(20'000);  // let the partial answer reach the client before the reset
        drop(i, true);
      } else if (path == "/truncate") {
        send_all(c.fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        drop(i, false);
      } else if (path == "/drop") {
        drop(i, true);
      } else if (path == "/garbage") {
        send_all(c.fd, "garbage\r\n\r\n");
        ++c.answered;
        c.idle_since = now_ms();
      } else if (path == "/big") {
        send_all(c.fd,
                 "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'b'));
        ++c.answered;
        c.idle_since = now_ms();
      } else {
        send_all(c.fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        ++c.answered;
        c.idle_since = now_ms();
      }
    }
  }
  for (auto& c : conns) close(c->fd);
}

int closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace paystream::net::testing
