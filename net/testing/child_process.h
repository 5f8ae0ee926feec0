#pragma once
// A server under test as a real child process: environment in, stderr captured
// (JSON log lines), signals, exit status. The destructor kills what is left.

#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace paystream::net::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // The next start() execs the child with SIGTERM and SIGINT blocked, so that a
  // signal sent at any instant is pending until the child's own code unblocks it.
  void block_termination_signals_at_start() { block_termination_signals_ = true; }
  // Starts `path args…` with the current environment plus `env`.
  bool start(const std::string& path, const EnvVars& env,
             const std::vector<std::string>& args = {});
  // Waits until a stderr line contains `needle`; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle, int timeout_ms = 10000);
  // The integer after "\"key\":" in the first line containing `needle`, or -1.
  int wait_for_number(const std::string& needle, const std::string& key, int timeout_ms = 10000);
  void send_signal(int signum);
  // Exit code, 128+signal when killed, or -1 when still running after the timeout.
  int wait_exit(int timeout_ms = 15000);
  std::string stderr_text();
  // While paused, nobody reads the child's stderr: once the pipe is full, the child's
  // writes to it block (a log collector that stalls).
  void pause_stderr_reading(bool paused);
  // Sanitizer reports in stderr (empty when clean).
  std::string sanitizer_report();
  pid_t pid() const { return pid_; }

 private:
  void read_stderr();
  bool exited_now();  // reaps the child if it has exited

  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  int exit_code_ = -1;
  bool block_termination_signals_ = false;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable stderr_resumed_;
  bool stderr_paused_ = false;
  std::string stderr_;
};

// Path of a binary from an environment variable meson sets for the test.
std::string binary_from_env(const char* variable);

struct ListeningPorts {
  int port = -1;  // -1: the server did not come up
  int admin_port = -1;
};

// Starts the server named by `binary_variable` (see binary_from_env) with PORT=0,
// ADMIN_PORT=0 and `env`, and returns the ports its "listening" log line reports.
ListeningPorts start_on_ephemeral_ports(ChildProcess& server, const char* binary_variable,
                                        EnvVars env);

}  // namespace paystream::net::testing
