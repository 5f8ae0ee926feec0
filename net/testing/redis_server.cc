#include "net/testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace paystream::net::testing {
namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string resp_command(const std::vector<std::string>& args) {
  std::string out = "*";  // appended: GCC 12 at -O3 warns falsely on "*" + std::to_string(n)
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

// The end of the RESP value starting at `pos` in `buf`, or npos while it is incomplete.
size_t resp_end(const std::string& buf, size_t pos) {
  if (pos >= buf.size()) return std::string::npos;
  const size_t line_end = buf.find("\r\n", pos);
  if (line_end == std::string::npos) return std::string::npos;
  const char type = buf[pos];
  if (type == '+' || type == '-' || type == ':') return line_end + 2;
  const long n = std::strtol(buf.c_str() + pos + 1, nullptr, 10);
  if (type == '$') {
    if (n < 0) return line_end + 2;
    const size_t end = line_end + 2 + static_cast<size_t>(n) + 2;
    return end <= buf.size() ? end : std::string::npos;
  }
  if (type == '*') {
    size_t at = line_end + 2;
    for (long i = 0; i < n; ++i) {
      at = resp_end(buf, at);
      if (at == std::string::npos) return at;
    }
    return at;
  }
  return line_end + 2;  // not RESP2: take the line
}

// Connects to 127.0.0.1:port and exchanges `request` for one reply per command in it.
std::string exchange(int port, const std::string& request, int replies, int timeout_ms) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string buf;
  const int64_t deadline = now_ms() + timeout_ms;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    for (;;) {
      size_t at = 0;
      int complete = 0;
      while (complete < replies && (at = resp_end(buf, at)) != std::string::npos) ++complete;
      if (complete == replies) break;
      const int64_t left = deadline - now_ms();
      pollfd p{fd, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
        buf.clear();
        break;
      }
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        buf.clear();
        break;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
  }
  close(fd);
  return buf;
}

}  // namespace

RedisServer::RedisServer(std::string password) : password_(std::move(password)) {}

RedisServer::~RedisServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

bool RedisServer::start() {
  if (running()) return true;
  if (dir_.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "redis-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return false;
    dir_ = pattern;
  }
  // Another process can take the free port before redis binds it: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    if (port_ != 0 && launch()) return true;
  }
  return false;
}

bool RedisServer::restart() {
  if (port_ == 0) return start();
  stop();
  // The port was ours a moment ago; redis binds with SO_REUSEADDR.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (launch()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool RedisServer::launch() {
  std::vector<std::string> args = {kRedisServer,
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--enable-debug-command",
                                   "local",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   "",
                                   "--daemonize",
                                   "no"};
  if (!password_.empty()) {
    args.push_back("--requirepass");
    args.push_back(password_);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path = dir_ + "/redis.log";
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return false;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(kRedisServer, argv.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) return false;
  pid_ = pid;
  if (wait_until_up()) return true;
  stop();
  return false;
}

bool RedisServer::wait_until_up() {
  const int64_t deadline = now_ms() + 5000;
  const std::string ping = resp_command({"PING"});
  while (now_ms() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken, or worse
      pid_ = -1;
      return false;
    }
    const std::string reply = exchange(port_, ping, 1, 500);
    if (reply.rfind("+PONG", 0) == 0 || reply.rfind("-NOAUTH", 0) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool RedisServer::stop() {
  if (pid_ <= 0) return false;
  kill(pid_, SIGTERM);
  const int64_t deadline = now_ms() + 5000;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (now_ms() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return true;
}

std::string RedisServer::command(const std::vector<std::string>& args, int timeout_ms) const {
  if (port_ == 0) return {};
  std::string request;
  int replies = 1;
  if (!password_.empty()) {
    request = resp_command({"AUTH", password_});
    replies = 2;
  }
  request += resp_command(args);
  std::string reply = exchange(port_, request, replies, timeout_ms);
  if (replies == 2 && !reply.empty()) reply.erase(0, resp_end(reply, 0));  // AUTH's +OK
  return reply;
}

std::string RedisServer::log_text() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace paystream::net::testing
