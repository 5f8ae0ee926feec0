#pragma once
// A throwaway Redis for tests: Debian's /usr/bin/redis-server on a free 127.0.0.1 port,
// no persistence (--save '' --appendonly no), DEBUG allowed from loopback (DEBUG SLEEP
// freezes it), its files and log in a fresh temporary directory, optionally with a
// password (requirepass). The server is killed if the thread that started it dies.
//
//   RedisServer redis;              // or RedisServer redis("secret");
//   ASSERT_TRUE(redis.start());     // answers PING when this returns true
//   ... connect to 127.0.0.1:redis.port() ...
//   redis.command({"CLIENT", "KILL", "TYPE", "normal"});   // raw RESP reply, e.g. ":1\r\n"
//   redis.stop();  redis.restart();  // same port, empty data set
//   // the destructor stops it and removes its directory

#include <sys/types.h>

#include <string>
#include <vector>

namespace paystream::net::testing {

class RedisServer {
 public:
  explicit RedisServer(std::string password = "");
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer();

  // Starts it on a free port and waits (up to 5 s) until it answers PING. False: it did not
  // come up (its log is in log_text()).
  bool start();
  // SIGTERM, then waits for the exit (SIGKILL after 5 s). True when it had been running.
  bool stop();
  // Starts it again on the same port.
  bool restart();

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }
  const std::string& password() const { return password_; }

  // Sends one command on a new connection (after AUTH when there is a password) and returns
  // the raw RESP reply ("+OK\r\n", "$3\r\nabc\r\n", ":1\r\n", "-ERR …\r\n"), or "" when no
  // complete reply came within `timeout_ms`.
  std::string command(const std::vector<std::string>& args, int timeout_ms = 5000) const;

  // The server's own log (its stdout and stderr).
  std::string log_text() const;

 private:
  bool launch();         // on port_
  bool wait_until_up();  // PING answered (PONG, or NOAUTH with a password)
  std::string password_;
  std::string dir_;  // temporary directory: dump files (none), the log
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace paystream::net::testing
