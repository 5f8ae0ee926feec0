#include "net/testing/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace paystream::net::testing {
namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string binary_from_env(const char* variable) {
  const char* v = std::getenv(variable);
  return v == nullptr ? std::string() : std::string(v);
}

ListeningPorts start_on_ephemeral_ports(ChildProcess& server, const char* binary_variable,
                                        EnvVars env) {
  env.emplace_back("PORT", "0");
  env.emplace_back("ADMIN_PORT", "0");
  const std::string binary = binary_from_env(binary_variable);
  if (binary.empty() || !server.start(binary, env)) return {};
  return {server.wait_for_number("\"msg\":\"listening\"", "port"),
          server.wait_for_number("\"msg\":\"listening\"", "admin_port")};
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && exit_code_ < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pause_stderr_reading(false);
  if (reader_.joinable()) reader_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

bool ChildProcess::start(const std::string& path, const EnvVars& env,
                         const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& [k, v] : env) {
      if (entry.size() > k.size() && entry.compare(0, k.size(), k) == 0 && entry[k.size()] == '=') {
        overridden = true;
      }
    }
    if (!overridden) env_text.push_back(entry);
  }
  for (const auto& [k, v] : env) {
    std::string entry = k;
    entry += '=';
    entry += v;
    env_text.push_back(std::move(entry));
  }
  std::vector<char*> envp;
  envp.reserve(env_text.size() + 1);
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_text = {path};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_text.size() + 1);
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Blocked in this thread across fork(), so the child is born with them blocked: a
  // signal sent the moment fork() returns is already pending, never fatal.
  sigset_t both;
  sigset_t before;
  sigemptyset(&both);
  sigaddset(&both, SIGTERM);
  sigaddset(&both, SIGINT);
  if (block_termination_signals_) pthread_sigmask(SIG_BLOCK, &both, &before);
  pid_ = fork();
  if (pid_ != 0 && block_termination_signals_) pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    dup2(fds[1], STDERR_FILENO);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  stderr_fd_ = fds[0];
  reader_ = std::thread([this] { read_stderr(); });
  return true;
}

void ChildProcess::read_stderr() {
  char buf[4096];
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      stderr_resumed_.wait(lock, [this] { return !stderr_paused_; });
    }
    ssize_t n = read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) return;
    std::lock_guard lock(mutex_);
    stderr_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  do {
    // A child that has exited writes nothing more: look once more, then give up.
    const bool exited = exited_now();
    {
      std::lock_guard lock(mutex_);
      size_t at = stderr_.find(needle);
      if (at != std::string::npos) {
        size_t start = stderr_.rfind('\n', at);
        start = start == std::string::npos ? 0 : start + 1;
        size_t end = stderr_.find('\n', at);
        if (end != std::string::npos) return stderr_.substr(start, end - start);
      }
    }
    if (exited) return std::nullopt;
    usleep(5000);
  } while (now_ms() < deadline);
  return std::nullopt;
}

int ChildProcess::wait_for_number(const std::string& needle, const std::string& key,
                                  int timeout_ms) {
  auto line = wait_for_line(needle, timeout_ms);
  if (!line) return -1;
  const std::string pattern = "\"" + key + "\":";
  size_t at = line->find(pattern);
  if (at == std::string::npos) return -1;
  return std::atoi(line->c_str() + at + pattern.size());
}

void ChildProcess::pause_stderr_reading(bool paused) {
  {
    std::lock_guard lock(mutex_);
    stderr_paused_ = paused;
  }
  stderr_resumed_.notify_all();
}

bool ChildProcess::exited_now() {
  if (exit_code_ >= 0) return true;
  int status = 0;
  if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pause_stderr_reading(false);
  if (reader_.joinable()) reader_.join();  // all of its stderr is in
  return true;
}

void ChildProcess::send_signal(int signum) {
  if (pid_ > 0 && exit_code_ < 0) kill(pid_, signum);
}

int ChildProcess::wait_exit(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    if (exited_now()) return exit_code_;
    if (now_ms() >= deadline) return -1;
    usleep(5000);
  }
}

std::string ChildProcess::stderr_text() {
  std::lock_guard lock(mutex_);
  return stderr_;
}

std::string ChildProcess::sanitizer_report() {
  const std::string text = stderr_text();
  for (const char* marker : {"runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                             "WARNING: ThreadSanitizer"}) {
    size_t at = text.find(marker);
    if (at != std::string::npos) return text.substr(at, 4000);
  }
  return {};
}

}  // namespace paystream::net::testing
