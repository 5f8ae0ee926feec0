#pragma once
// A Redis client that lives on one reactor (one connection per reactor), over hiredis'
// asynchronous API on the reactor's loop. Payment-agnostic: it sends commands and hands
// back replies. What hiredis 0.14 lacks is done here:
//   - names are resolved with uv_getaddrinfo at every (re)connect (hiredis' own connect
//     would call a blocking getaddrinfo on the loop) and hiredis gets the numeric address;
//   - one deadline covers resolve + TCP connect + AUTH + SCRIPT LOADs + PING, and a
//     command unanswered after command_timeout_ms drops the connection, failing every
//     command in flight on it;
//   - a lost or failed connection is retried with jittered exponential backoff, and each
//     new connection authenticates again and loads the scripts again before it is ready;
//   - at most max_pending commands are in flight; beyond, a command fails at once.
// Everything runs on the reactor's thread: command(), ready(), stats(), shutdown(). hiredis
// writes with write(2): the process must ignore SIGPIPE (svc/main.cc does).
//
// Lifetime: the reactor destroys its services newest first, then closes its loop. The
// destructor (or shutdown(), earlier) fails every command still in flight: their callbacks
// run then, on the destroying thread once the loop has ended. So a callback's `context`
// must outlive the client, or its owner must call shutdown() before it goes away.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/reactor.h"

namespace paystream::net {

struct RedisOptions {
  std::string host;  // a DNS name or an IP literal (IPv6 without brackets)
  uint16_t port = 6379;
  std::function<std::string()>
      password;  // called before each AUTH (at every (re)connect); null or "" : no AUTH
  std::vector<std::string> scripts;   // Lua sources, SCRIPT LOADed after each connect, before ready
  uint32_t connect_timeout_ms = 250;  // resolve + connect + AUTH + script loads
  uint32_t command_timeout_ms = 250;
  size_t max_pending = 1024;  // commands sent and not answered; beyond: failed at once
  uint32_t backoff_min_ms = 50, backoff_max_ms = 2000;  // reconnect: jittered exponential
};

struct RedisReply {
  enum class Kind : uint8_t { nil, string, integer, status, error, array, failed };
  Kind kind = Kind::failed;
  std::string_view text;  // string, status, error: valid only during the callback
  int64_t integer = 0;    // integer; array: its number of elements (the elements are not passed)
  // failed: no answer from Redis: not ready (connecting, backing off), over max_pending,
  // timed out, or the connection was lost with the command in flight; also a command this
  // client refuses (no arguments, or one that changes the reply stream: the SUBSCRIBE
  // family, MONITOR, SYNC, PSYNC, CLIENT REPLY).
};

using RedisCallback = void (*)(void* context, uint64_t tag, const RedisReply& reply);

class RedisClient final : public ReactorService {
 public:
  // Via reactor.add_service<RedisClient>(options) before the reactors run; starts
  // connecting once the loop runs.
  RedisClient(Reactor& reactor, RedisOptions options);
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;
  ~RedisClient() override;

  // Sends one command (binary-safe arguments, copied before it returns). `callback` runs
  // exactly once, on this reactor's thread: later with the reply, or before command()
  // returns when it fails at once (not ready, over max_pending, refused).
  void command(std::span<const std::string_view> args, RedisCallback callback, void* context,
               uint64_t tag);
  // SHA1 (hex) of scripts[index], as SCRIPT LOAD answered ("" before the first load).
  std::string_view script_sha(size_t index) const;
  bool ready() const;  // connected, authenticated, scripts loaded

  // Fails every command in flight (their callbacks run before it returns), closes the
  // connection and stops reconnecting; later commands fail at once. For an owner of
  // callback contexts that is destroyed before the client. Not from inside a callback.
  void shutdown();

  struct Stats {
    uint64_t connects = 0;          // connections that became ready
    uint64_t connect_failures = 0;  // attempts that ended before ready (timeouts included)
    uint64_t timeouts = 0;          // connect deadlines and command deadlines missed
    uint64_t failed_commands = 0;   // callbacks with Kind::failed
    size_t pending = 0;             // commands sent and not answered
  };
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paystream::net
