// RedisClient against a real redis-server (net/testing/redis_server.h), on a real reactor
// running on its own thread.

#include "net/redis_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "net/log.h"
#include "net/router.h"
#include "net/testing/redis_server.h"

namespace paystream::net {
namespace {

using Kind = RedisReply::Kind;
using testing::RedisServer;

// One command's answer, filled on the reactor thread.
struct Answer {
  std::mutex mutex;
  std::condition_variable answered;
  const RedisClient* client = nullptr;
  bool returned = false;       // command() has returned
  bool before_return = false;  // the callback ran inside command()
  int calls = 0;
  Kind kind = Kind::failed;
  std::string text;
  int64_t integer = 0;
  uint64_t timeouts_then = 0;  // the client's timeout count when the callback ran
  bool ready_then = false;
};

void record(void* context, uint64_t, const RedisReply& reply) {
  auto* a = static_cast<Answer*>(context);
  std::lock_guard lock(a->mutex);
  ++a->calls;
  a->before_return = !a->returned;
  a->kind = reply.kind;
  a->text.assign(reply.text);
  a->integer = reply.integer;
  a->timeouts_then = a->client->stats().timeouts;
  a->ready_then = a->client->ready();
  a->answered.notify_all();
}

std::vector<std::string_view> views(const std::vector<std::string>& args) {
  return {args.begin(), args.end()};
}

// A reactor on its own thread with one RedisClient.
class Loop {
 public:
  explicit Loop(RedisOptions options)
      : reactor_(std::make_unique<Reactor>(0, "redis-test", ListenerOptions{}, router_)) {
    std::signal(SIGPIPE, SIG_IGN);  // as svc/main.cc: hiredis writes with write(2)
    client_ = &reactor_->add_service<RedisClient>(std::move(options));
    reactor_->run_in_thread();
  }
  ~Loop() { stop(); }

  // Force-stops the reactor and destroys it (and the client with it).
  void stop() {
    if (!reactor_) return;
    reactor_->force_stop([](size_t) {});
    reactor_.reset();
  }

  Reactor& reactor() { return *reactor_; }
  RedisClient& client() { return *client_; }

  // Runs `f` on the reactor thread and returns its result.
  template <typename F>
  auto on_loop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    reactor_->post([&task] { task(); });
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "the reactor did not run the task";
      std::abort();
    }
    return result.get();
  }

  // Sends a command from the reactor thread; the answer is filled later (or at once).
  Answer& send(const std::vector<std::string>& args) {
    Answer& a = answers_.emplace_back();
    a.client = client_;
    on_loop([&] {
      const auto v = views(args);
      client_->command(v, record, &a, answers_.size());
      std::lock_guard lock(a.mutex);
      a.returned = true;
      return 0;
    });
    return a;
  }

  static bool wait(Answer& a, int timeout_ms = 5000) {
    std::unique_lock lock(a.mutex);
    return a.answered.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                               [&] { return a.calls > 0; });
  }

  Answer& call(const std::vector<std::string>& args, int timeout_ms = 5000) {
    Answer& a = send(args);
    EXPECT_TRUE(wait(a, timeout_ms)) << "no answer to " << args[0];
    return a;
  }

  bool ready() {
    return on_loop([this] { return client_->ready(); });
  }
  RedisClient::Stats stats() {
    return on_loop([this] { return client_->stats(); });
  }

  // Polls `condition` on the reactor thread until it holds.
  template <typename F>
  bool wait_until(F condition, int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (on_loop(condition)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  bool wait_ready(int timeout_ms = 5000) {
    return wait_until([this] { return client_->ready(); }, timeout_ms);
  }

 private:
  Router router_;
  std::deque<Answer> answers_;  // outlives the reactor: callbacks run until it is destroyed
  std::unique_ptr<Reactor> reactor_;
  RedisClient* client_ = nullptr;
};

RedisOptions local(int port) {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(port);
  return o;
}

TEST(RedisClient, RoundTripsBinaryValuesAndEveryReplyKind) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log_text();
  Loop loop(local(redis.port()));
  ASSERT_TRUE(loop.wait_ready());

  const std::string binary("a\0b\r\n\xff\x80 end", 11);
  Answer& set = loop.call({"SET", "k", binary});
  EXPECT_EQ(set.kind, Kind::status);
  EXPECT_EQ(set.text, "OK");
  EXPECT_FALSE(set.before_return);
  Answer& get = loop.call({"GET", "k"});
  EXPECT_EQ(get.kind, Kind::string);
  EXPECT_EQ(get.text, binary);

  Answer empty_value;  // a default string_view: no data pointer at all
  empty_value.client = &loop.client();
  loop.on_loop([&] {
    const std::string_view args[] = {"SET", "empty", std::string_view()};
    loop.client().command(args, record, &empty_value, 0);
    return 0;
  });
  ASSERT_TRUE(Loop::wait(empty_value));
  EXPECT_EQ(empty_value.text, "OK");
  EXPECT_EQ(loop.call({"STRLEN", "empty"}).integer, 0);

  // SET NX GET (Redis >= 7): nil when it stored, the existing value when it did not.
  Answer& claimed = loop.call({"SET", "fresh", "v1", "NX", "PX", "60000", "GET"});
  EXPECT_EQ(claimed.kind, Kind::nil);
  Answer& taken = loop.call({"SET", "fresh", "v2", "NX", "PX", "60000", "GET"});
  EXPECT_EQ(taken.kind, Kind::string);
  EXPECT_EQ(taken.text, "v1");

  Answer& incr = loop.call({"INCRBY", "n", "41"});
  EXPECT_EQ(incr.kind, Kind::integer);
  EXPECT_EQ(incr.integer, 41);
  Answer& error = loop.call({"NOSUCHCOMMAND", "x"});
  EXPECT_EQ(error.kind, Kind::error);
  EXPECT_NE(error.text.find("unknown command"), std::string::npos) << error.text;
  Answer& array = loop.call({"MGET", "k", "missing", "fresh"});
  EXPECT_EQ(array.kind, Kind::array);
  EXPECT_EQ(array.integer, 3);

  const auto stats = loop.stats();
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_EQ(stats.failed_commands, 0u);
  EXPECT_EQ(stats.pending, 0u);
}

TEST(RedisClient, RefusesCommandsThatBreakTheReplyStream) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Loop loop(local(redis.port()));
  ASSERT_TRUE(loop.wait_ready());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"SUBSCRIBE", "c"}, {"monitor"}, {"CLIENT", "REPLY", "OFF"}}) {
    Answer& a = loop.call(args);
    EXPECT_EQ(a.kind, Kind::failed) << args[0];
    EXPECT_TRUE(a.before_return) << args[0];
  }
  Answer empty;  // no arguments at all
  empty.client = &loop.client();
  loop.on_loop([&] {
    loop.client().command({}, record, &empty, 0);
    return 0;
  });
  EXPECT_EQ(empty.calls, 1);
  EXPECT_EQ(empty.kind, Kind::failed);
  EXPECT_EQ(loop.call({"PING"}).text, "PONG");  // still in step
  EXPECT_TRUE(loop.ready());
}

// The client's log lines, captured from stderr while the test runs.
class StderrCapture {
 public:
  StderrCapture() : path_(::testing::TempDir() + "redis_client_stderr.txt") {
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    FILE* f = fopen(path_.c_str(), "w");
    dup2(fileno(f), STDERR_FILENO);
    fclose(f);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    restore();
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    log::flush(std::chrono::milliseconds(2000));
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

TEST(RedisClient, AuthenticatesWithThePasswordOfTheMoment) {
  const std::string right = "right-horse-battery";
  const std::string wrong = "wrong-staple-secret";
  RedisServer redis(right);
  ASSERT_TRUE(redis.start()) << redis.log_text();
  StderrCapture captured;

  std::atomic<bool> rotated{false};
  std::atomic<int> asked{0};
  RedisOptions o = local(redis.port());
  o.backoff_min_ms = 5;
  o.backoff_max_ms = 20;
  o.password = [&] {
    ++asked;
    return rotated ? right : wrong;
  };
  Loop loop(std::move(o));
  // A wrong password: never ready, attempts keep failing, the password is read each time.
  ASSERT_TRUE(loop.wait_until([&] { return loop.client().stats().connect_failures >= 3; }));
  EXPECT_FALSE(loop.ready());
  EXPECT_GE(asked.load(), 3);
  EXPECT_EQ(loop.stats().connects, 0u);
  EXPECT_EQ(loop.call({"PING"}).kind, Kind::failed);

  rotated = true;  // the secret file changed: the next attempt uses it
  ASSERT_TRUE(loop.wait_ready());
  EXPECT_EQ(loop.call({"SET", "a", "b"}).text, "OK");
  loop.stop();

  const std::string logs = captured.text();
  EXPECT_NE(logs.find("redis connect failed"), std::string::npos) << logs;
  EXPECT_NE(logs.find("AUTH failed"), std::string::npos) << logs;
  EXPECT_NE(logs.find("redis connected"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(right), std::string::npos) << logs;
  EXPECT_EQ(logs.find(wrong), std::string::npos) << logs;
  // Rate-limited: attempts every few ms, at most a few lines.
  size_t lines = 0;
  for (size_t at = 0; (at = logs.find("redis connect failed", at)) != std::string::npos; ++at) {
    ++lines;
  }
  EXPECT_LE(lines, 2u) << logs;
}

TEST(RedisClient, WithoutAPasswordAgainstAProtectedServerNeverGetsReady) {
  RedisServer redis("only-the-server-knows");
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.backoff_min_ms = 5;
  o.backoff_max_ms = 20;
  Loop loop(std::move(o));  // PING answers NOAUTH
  ASSERT_TRUE(loop.wait_until([&] { return loop.client().stats().connect_failures >= 2; }));
  EXPECT_FALSE(loop.ready());
  EXPECT_EQ(loop.stats().timeouts, 0u);
}

TEST(RedisClient, ResolvesAHostName) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.host = "localhost";  // /etc/hosts; the server listens on 127.0.0.1 only
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_ready());
  EXPECT_EQ(loop.call({"SET", "name", "resolved"}).text, "OK");
  EXPECT_EQ(loop.call({"GET", "name"}).text, "resolved");
}

TEST(RedisClient, UnknownHostNameFailsAndRetries) {
  RedisOptions o;
  o.host = "no-such-host.invalid";  // RFC 6761: never resolves
  o.backoff_min_ms = 5;
  o.backoff_max_ms = 20;
  o.connect_timeout_ms = 2000;
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_until([&] { return loop.client().stats().connect_failures >= 2; }));
  EXPECT_FALSE(loop.ready());
}

const std::string kEcho = "return ARGV[1]";
const std::string kComplete =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', "
    "ARGV[3]) return 1 end return 0";

TEST(RedisClient, LoadsScriptsAtEveryConnectAndSurvivesARestart) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.scripts = {kEcho, kComplete};
  o.command_timeout_ms = 5000;
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_ready());
  const std::string echo_sha(loop.on_loop([&] { return loop.client().script_sha(0); }));
  const std::string complete_sha(loop.on_loop([&] { return loop.client().script_sha(1); }));
  EXPECT_EQ(echo_sha, "098e0f0d1448c0a81dafe820f66d460eb09263da");  // sha1sum of the source
  EXPECT_EQ(complete_sha.size(), 40u);
  EXPECT_EQ(loop.on_loop([&] { return loop.client().script_sha(2); }), "");

  Answer& echo = loop.call({"EVALSHA", echo_sha, "0", std::string("hel\0lo", 6)});
  EXPECT_EQ(echo.kind, Kind::string);
  EXPECT_EQ(echo.text, std::string("hel\0lo", 6));
  EXPECT_EQ(loop.call({"SET", "key", "claim-1"}).text, "OK");
  EXPECT_EQ(loop.call({"EVALSHA", complete_sha, "1", "key", "claim-2", "rec", "60000"}).integer, 0);
  EXPECT_EQ(loop.call({"EVALSHA", complete_sha, "1", "key", "claim-1", "rec", "60000"}).integer, 1);
  EXPECT_EQ(loop.call({"GET", "key"}).text, "rec");

  // Stopped: in-flight commands fail (the connection is lost, not timed out), new ones fail
  // at once. Restarted on the same port: ready again, scripts loaded again.
  Answer& blocked = loop.send({"BLPOP", "nothing", "0"});
  redis.stop();
  ASSERT_TRUE(Loop::wait(blocked));
  EXPECT_EQ(blocked.kind, Kind::failed);
  EXPECT_EQ(blocked.timeouts_then, 0u);
  ASSERT_TRUE(loop.wait_until([&] { return !loop.client().ready(); }));
  Answer& refused = loop.call({"PING"});
  EXPECT_EQ(refused.kind, Kind::failed);
  EXPECT_TRUE(refused.before_return);
  ASSERT_TRUE(redis.restart()) << redis.log_text();
  ASSERT_TRUE(loop.wait_ready());
  EXPECT_EQ(loop.call({"EVALSHA", echo_sha, "0", "again"}).text, "again");
  const auto stats = loop.stats();
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.timeouts, 0u);
}

TEST(RedisClient, ACommandTimeoutDropsTheConnectionAndItRecovers) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.command_timeout_ms = 100;
  o.connect_timeout_ms = 3000;  // the reconnect waits for the sleeping server
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_ready());

  Answer& sleep = loop.send({"DEBUG", "SLEEP", "1"});
  Answer& behind = loop.send({"PING"});
  ASSERT_TRUE(Loop::wait(sleep));
  ASSERT_TRUE(Loop::wait(behind));
  EXPECT_EQ(sleep.kind, Kind::failed);
  EXPECT_EQ(sleep.timeouts_then, 1u);  // failed by the deadline, not by the server's answer
  EXPECT_EQ(behind.kind, Kind::failed);
  EXPECT_FALSE(sleep.ready_then);

  ASSERT_TRUE(loop.wait_ready(10000));
  EXPECT_EQ(loop.call({"SET", "after", "sleep"}).text, "OK");
  const auto stats = loop.stats();
  EXPECT_EQ(stats.connects, 2u);
  EXPECT_EQ(stats.failed_commands, 2u);
}

TEST(RedisClient, AConnectionKilledByRedisFailsItsCommandsAndReconnects) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.command_timeout_ms = 5000;
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_ready());
  Answer& blocked = loop.send({"BLPOP", "nothing", "0"});
  // The BLPOP has reached the server once it lists a blocked client.
  for (int i = 0; i < 500; ++i) {
    if (redis.command({"INFO", "clients"}).find("blocked_clients:1") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(redis.command({"CLIENT", "KILL", "TYPE", "normal"}), ":1\r\n");
  ASSERT_TRUE(Loop::wait(blocked));
  EXPECT_EQ(blocked.kind, Kind::failed);
  EXPECT_EQ(blocked.timeouts_then, 0u);
  ASSERT_TRUE(loop.wait_until(
      [&] { return loop.client().ready() && loop.client().stats().connects == 2; }));
  EXPECT_EQ(loop.call({"PING"}).text, "PONG");
}

TEST(RedisClient, BoundsThePendingCommands) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.max_pending = 3;
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_ready());
  std::deque<Answer> answers(5);
  const size_t pending = loop.on_loop([&] {
    const std::string_view ping[] = {"PING"};
    for (auto& a : answers) {
      a.client = &loop.client();
      loop.client().command(ping, record, &a, 0);
      a.returned = true;
    }
    return loop.client().stats().pending;
  });
  EXPECT_EQ(pending, 3u);
  for (auto& a : answers) ASSERT_TRUE(Loop::wait(a));
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(answers[i].text, "PONG") << i;
  for (size_t i = 3; i < 5; ++i) {
    EXPECT_EQ(answers[i].kind, Kind::failed) << i;
    EXPECT_TRUE(answers[i].before_return) << i;
  }
  EXPECT_EQ(loop.stats().pending, 0u);
  EXPECT_EQ(loop.call({"PING"}).text, "PONG");
  EXPECT_TRUE(loop.ready());  // the bound does not drop the connection
}

// A loopback listener that never accepts.
struct Listener {
  explicit Listener(int backlog) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd, backlog);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() {
    if (filler >= 0) close(filler);
    close(fd);
  }
  // Fills a backlog of 0: the next SYN is dropped, so connect() never completes.
  void fill() {
    filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  int fd = -1;
  int filler = -1;
  int port = 0;
};

void expect_connect_timeouts(int port) {
  RedisOptions o = local(port);
  o.connect_timeout_ms = 60;
  o.backoff_min_ms = 5;
  o.backoff_max_ms = 20;
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_until([&] { return loop.client().stats().timeouts >= 2; }));
  const auto stats = loop.stats();
  EXPECT_EQ(stats.connects, 0u);
  EXPECT_GE(stats.connect_failures, 2u);
  Answer& a = loop.call({"PING"});
  EXPECT_EQ(a.kind, Kind::failed);
  EXPECT_TRUE(a.before_return);
}

TEST(RedisClient, ConnectTimesOutWhenTheServerNeverAnswers) {
  Listener silent(16);  // the kernel completes the handshake; nobody reads
  expect_connect_timeouts(silent.port);
}

TEST(RedisClient, ConnectTimesOutWhenTheHandshakeNeverCompletes) {
  Listener full(0);
  full.fill();
  expect_connect_timeouts(full.port);
}

TEST(RedisClient, ARefusedConnectFailsWithoutWaitingForTheDeadline) {
  int port;
  {
    Listener closed(1);
    port = closed.port;
  }  // nothing listens there now
  RedisOptions o = local(port);
  o.connect_timeout_ms = 30000;
  o.backoff_min_ms = 1;
  o.backoff_max_ms = 5;
  Loop loop(std::move(o));
  // Each refusal is seen when it happens (the socket's error), not at the 30 s deadline.
  ASSERT_TRUE(loop.wait_until([&] { return loop.client().stats().connect_failures >= 3; }, 5000));
  EXPECT_EQ(loop.stats().timeouts, 0u);
}

// A callback that sends another command when its own fails: the reactor's end must cope.
struct Resender {
  RedisClient* client;
  Answer* first;
  Answer* second;
};

void resend(void* context, uint64_t tag, const RedisReply& reply) {
  auto* r = static_cast<Resender*>(context);
  record(r->first, tag, reply);
  const std::string_view ping[] = {"PING"};
  r->client->command(ping, record, r->second, 0);
}

TEST(RedisClient, CommandsInFlightFailOnceWhenTheReactorEnds) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.command_timeout_ms = 30000;
  auto loop = std::make_unique<Loop>(std::move(o));
  ASSERT_TRUE(loop->wait_ready());
  std::deque<Answer> answers(4);
  Resender resender{&loop->client(), &answers[2], &answers[3]};
  for (auto& a : answers) a.client = &loop->client();
  loop->on_loop([&] {
    const std::string_view blpop[] = {"BLPOP", "nothing", "0"};
    loop->client().command(blpop, record, &answers[0], 0);
    loop->client().command(blpop, record, &answers[1], 1);
    loop->client().command(blpop, resend, &resender, 2);
    return 0;
  });
  loop->stop();  // the client is destroyed with three commands in flight
  for (auto& a : answers) {
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(a.kind, Kind::failed);
  }
}

TEST(RedisClient, ShutdownFailsWhatIsInFlightAndStops) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisOptions o = local(redis.port());
  o.command_timeout_ms = 30000;
  Loop loop(std::move(o));
  ASSERT_TRUE(loop.wait_ready());
  Answer& blocked = loop.send({"BLPOP", "nothing", "0"});
  const int calls_when_returned = loop.on_loop([&] {
    loop.client().shutdown();
    std::lock_guard lock(blocked.mutex);
    return blocked.calls;
  });
  EXPECT_EQ(calls_when_returned, 1);
  EXPECT_EQ(blocked.kind, Kind::failed);
  EXPECT_FALSE(loop.ready());
  EXPECT_TRUE(loop.call({"PING"}).before_return);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(loop.ready());  // no reconnect
}

TEST(RedisClient, AnIdleConnectionDoesNotKeepADrainedReactorRunning) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Loop loop(local(redis.port()));
  ASSERT_TRUE(loop.wait_ready());
  std::promise<void> drained;
  loop.reactor().begin_drain([&] { drained.set_value(); });
  ASSERT_EQ(drained.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto joined = std::async(std::launch::async, [&] { loop.reactor().join(); });
  EXPECT_EQ(joined.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace paystream::net
