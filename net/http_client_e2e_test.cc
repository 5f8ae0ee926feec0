// HttpClient against a real upstream on loopback (net/testing/http_upstream.h), on a real
// reactor running on its own thread.

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "net/router.h"
#include "net/testing/http_upstream.h"

// This file replaces operator new and delete with malloc and free: GCC, seeing both inlined,
// would take them for a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Allocations counted on one thread while a flag is up: operator new and libuv's allocator.
namespace {
thread_local bool counting_allocations = false;
std::atomic<uint64_t> allocations{0};
void count() {
  if (counting_allocations) allocations.fetch_add(1, std::memory_order_relaxed);
}
void* counted_malloc(size_t n) {
  count();
  return std::malloc(n);
}
void* counted_realloc(void* p, size_t n) {
  count();
  return std::realloc(p, n);
}
void* counted_calloc(size_t n, size_t size) {
  count();
  return std::calloc(n, size);
}
// Before main: libuv must get its allocator before its first use.
const int uv_allocator_installed =
    uv_replace_allocator(counted_malloc, counted_realloc, counted_calloc, std::free);
}  // namespace

void* operator new(size_t n) {
  count();
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace paystream::net {
namespace {

using Kind = HttpResult::Kind;
using Clock = std::chrono::steady_clock;
using testing::HttpUpstream;

struct Outcome {
  bool done = false;
  bool before_return = false;  // the callback ran inside call()
  int callbacks = 0;
  Kind kind = Kind::shutdown;
  int status = 0;
  std::string body;
  int attempts = 0;
  bool maybe_sent = false;
  uint64_t upstream_us = 0;
  Clock::time_point at;
};

struct Spec {
  std::string target = "/ok";
  std::string body;
  uint32_t timeout_ms = 2000;
  bool may_retry = false;
};

class Loop {
 public:
  explicit Loop(HttpClientOptions options)
      : reactor_(std::make_unique<Reactor>(0, "http-client-test", ListenerOptions{}, router_)) {
    std::signal(SIGPIPE, SIG_IGN);
    client_ = &reactor_->add_service<HttpClient>(std::move(options));
    reactor_->run_in_thread();
  }
  ~Loop() { stop(); }

  // Force-stops the reactor and destroys it, and the client with it; outcomes stay readable.
  void stop() {
    if (!reactor_) return;
    reactor_->force_stop([](size_t) {});
    reactor_.reset();
  }

  HttpClient& client() { return *client_; }

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

  // Starts a call from the reactor thread; returns its index.
  size_t start(const Spec& spec) {
    return on_loop([&] {
      size_t index;
      {
        std::lock_guard lock(mutex_);
        index = outcomes_.size();
        outcomes_.emplace_back();
        returned_.push_back(false);
      }
      const std::string key = "k-" + std::to_string(index);
      const HttpHeaderField headers[] = {{"Idempotency-Key", key}};
      HttpCall call;
      call.target = spec.target;
      call.body = spec.body;
      call.headers = headers;
      call.timeout_ms = spec.timeout_ms;
      call.may_retry = spec.may_retry;
      client_->call(call, record, this, index);
      std::lock_guard lock(mutex_);
      returned_[index] = true;
      return index;
    });
  }

  Outcome wait(size_t index, int timeout_ms = 5000) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return outcomes_[index].done; })) {
      ADD_FAILURE() << "call " << index << " did not end";
    }
    return outcomes_[index];
  }

  Outcome call(const Spec& spec) { return wait(start(spec)); }

  // Polls `f` (on this thread) until it holds or 3 s pass.
  template <typename F>
  static bool eventually(F f) {
    const auto end = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < end) {
      if (f()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return f();
  }

 private:
  static void record(void* context, uint64_t tag, const HttpResult& r) {
    auto* self = static_cast<Loop*>(context);
    std::lock_guard lock(self->mutex_);
    Outcome& o = self->outcomes_[tag];
    ++o.callbacks;
    o.done = true;
    o.before_return = !self->returned_[tag];
    o.kind = r.kind;
    o.status = r.status;
    o.body.assign(r.body);
    o.attempts = r.attempts;
    o.maybe_sent = r.maybe_sent;
    o.upstream_us = r.upstream_us;
    o.at = Clock::now();
    self->cv_.notify_all();
  }

  Router router_;
  std::unique_ptr<Reactor> reactor_;
  HttpClient* client_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Outcome> outcomes_;
  std::deque<bool> returned_;
};

HttpClientOptions options_for(const HttpUpstream& up) {
  HttpClientOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(up.port());
  o.host_header = "upstream.test:" + std::to_string(up.port());
  return o;
}

class HttpClientE2e : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(up.start()); }
  HttpUpstream up;
};

TEST_F(HttpClientE2e, SequentialCallsReuseOneKeptAliveConnection) {
  Loop loop(options_for(up));
  for (int i = 0; i < 5; ++i) {
    const Outcome o = loop.call({.body = "body-" + std::to_string(i)});
    ASSERT_EQ(o.kind, Kind::response);
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(o.body, "body-" + std::to_string(i));
    EXPECT_EQ(o.attempts, 1);
    EXPECT_TRUE(o.maybe_sent);
    EXPECT_GT(o.upstream_us, 0u);
    EXPECT_FALSE(o.before_return);
  }
  EXPECT_EQ(up.accepted(), 1u);
  EXPECT_EQ(up.requests("/ok"), 5u);
  const std::string request = up.last_request();
  EXPECT_EQ(request.rfind("POST /ok HTTP/1.1\r\nHost: upstream.test:", 0), 0u) << request;
  EXPECT_NE(request.find("\r\nIdempotency-Key: k-4\r\nContent-Length: 6\r\n\r\nbody-4"),
            std::string::npos)
      << request;
  const HttpClientStats& s = loop.client().stats();
  EXPECT_EQ(s.connects(), 1u);
  EXPECT_EQ(s.connections_open(), 1u);
  EXPECT_EQ(s.connections_busy(), 0u);
  EXPECT_EQ(s.calls(), 5u);
  EXPECT_EQ(s.failures(Kind::response), 5u);
}

TEST_F(HttpClientE2e, ChunkedKeepsTheConnectionCloseAndHttp10DoNot) {
  Loop loop(options_for(up));
  Outcome o = loop.call({.target = "/chunked"});
  ASSERT_EQ(o.kind, Kind::response);
  EXPECT_EQ(o.body, "hello, world");
  ASSERT_EQ(loop.call({}).kind, Kind::response);
  EXPECT_EQ(up.accepted(), 1u);
  o = loop.call({.target = "/close"});
  ASSERT_EQ(o.kind, Kind::response);
  EXPECT_EQ(o.body, "ok");
  ASSERT_EQ(loop.call({.target = "/http10"}).kind, Kind::response);
  EXPECT_EQ(up.accepted(), 2u);
  ASSERT_EQ(loop.call({}).kind, Kind::response);
  EXPECT_EQ(up.accepted(), 3u);
}

TEST_F(HttpClientE2e, ConcurrencyIsBoundedByThePoolAndTheRestQueues) {
  HttpClientOptions options = options_for(up);
  options.max_connections = 2;
  Loop loop(options);
  std::vector<size_t> calls;
  for (int i = 0; i < 6; ++i) calls.push_back(loop.start({.target = "/ok?ms=60"}));
  EXPECT_EQ(loop.on_loop([&] { return loop.client().stats().queue_depth(); }), 4u);
  EXPECT_EQ(loop.client().stats().connections_busy(), 2u);
  for (size_t c : calls) EXPECT_EQ(loop.wait(c).kind, Kind::response);
  EXPECT_EQ(up.accepted(), 2u);
  EXPECT_EQ(up.max_open(), 2u);
  EXPECT_EQ(up.requests("/ok"), 6u);
  EXPECT_EQ(loop.client().stats().queue_depth(), 0u);
}

TEST_F(HttpClientE2e, FullQueueAnswersBusyBeforeCallReturns) {
  HttpClientOptions options = options_for(up);
  options.max_connections = 1;
  options.max_queue = 1;
  Loop loop(options);
  const size_t a = loop.start({.target = "/ok?ms=100"});
  const size_t b = loop.start({});
  const Outcome c = loop.wait(loop.start({}), 0);
  EXPECT_TRUE(c.done);
  EXPECT_TRUE(c.before_return);
  EXPECT_EQ(c.kind, Kind::busy);
  EXPECT_EQ(c.attempts, 0);
  EXPECT_FALSE(c.maybe_sent);
  EXPECT_EQ(loop.wait(a).kind, Kind::response);
  EXPECT_EQ(loop.wait(b).kind, Kind::response);
  EXPECT_EQ(loop.client().stats().busy_rejections(), 1u);
  EXPECT_EQ(up.requests("/ok"), 2u);
}

TEST_F(HttpClientE2e, DeadlineCountsTheTimeQueued) {
  HttpClientOptions options = options_for(up);
  options.max_connections = 1;
  Loop loop(options);
  const size_t a = loop.start({.target = "/ok?ms=400"});
  const auto queued_at = Clock::now();  // before call(): the deadline starts a little later
  const Outcome b = loop.wait(loop.start({.timeout_ms = 100}));
  EXPECT_EQ(b.kind, Kind::timeout);
  EXPECT_EQ(b.attempts, 0);
  EXPECT_FALSE(b.maybe_sent);
  // Deadlines are whole milliseconds of the monotonic clock: up to 1 ms early.
  EXPECT_GE(b.at - queued_at, std::chrono::milliseconds(99));
  const Outcome first = loop.wait(a);
  EXPECT_EQ(first.kind, Kind::response);
  EXPECT_LT(b.at, first.at);  // it did not wait for the connection to come free
  EXPECT_EQ(up.requests("/ok"), 1u);
}

TEST_F(HttpClientE2e, SlowAnswerTimesOutAndItsConnectionCloses) {
  Loop loop(options_for(up));
  const Outcome o = loop.call({.target = "/ok?ms=1000", .timeout_ms = 100, .may_retry = true});
  EXPECT_EQ(o.kind, Kind::timeout);
  EXPECT_EQ(o.attempts, 1);  // never resent after a timeout
  EXPECT_TRUE(o.maybe_sent);
  EXPECT_TRUE(Loop::eventually([&] { return loop.client().stats().connections_open() == 0; }));
  EXPECT_EQ(loop.client().stats().failures(Kind::timeout), 1u);
}

TEST_F(HttpClientE2e, ConnectFailureIsResentOnceWhenAllowed) {
  HttpClientOptions options = options_for(up);
  options.port = static_cast<uint16_t>(testing::closed_port());
  Loop loop(options);
  Outcome o = loop.call({.may_retry = true});
  EXPECT_EQ(o.kind, Kind::connect_failed);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_FALSE(o.maybe_sent);
  EXPECT_EQ(loop.client().stats().retries(), 1u);
  o = loop.call({});
  EXPECT_EQ(o.kind, Kind::connect_failed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(loop.client().stats().retries(), 1u);
}

TEST_F(HttpClientE2e, ReusedConnectionClosedBetweenCallsIsResentOnce) {
  up.reset_reused = true;
  Loop loop(options_for(up));
  ASSERT_EQ(loop.call({.body = "first"}).kind, Kind::response);
  const Outcome o = loop.call({.body = "second", .may_retry = true});
  ASSERT_EQ(o.kind, Kind::response);
  EXPECT_EQ(o.body, "second");
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(up.reset_unread(), 1u);
  EXPECT_EQ(up.requests("/ok"), 2u);  // the upstream saw each call once
  EXPECT_EQ(up.accepted(), 2u);
  EXPECT_EQ(loop.client().stats().retries(), 1u);
  // Without may_retry the same close ends the call.
  const Outcome no_retry = loop.call({.body = "third"});
  EXPECT_EQ(no_retry.kind, Kind::closed);
  EXPECT_EQ(no_retry.attempts, 1);
  EXPECT_TRUE(no_retry.maybe_sent);
  EXPECT_EQ(up.requests("/ok"), 2u);
}

TEST_F(HttpClientE2e, ResendGoesOnANewConnectionWhenThePoolHasRoom) {
  HttpClientOptions options = options_for(up);
  options.max_connections = 3;
  Loop loop(options);
  const size_t a = loop.start({.target = "/ok?ms=50"});
  const size_t b = loop.start({.target = "/ok?ms=50"});
  ASSERT_EQ(loop.wait(a).kind, Kind::response);
  ASSERT_EQ(loop.wait(b).kind, Kind::response);
  ASSERT_EQ(up.accepted(), 2u);  // two idle connections in the pool
  up.reset_reused = true;        // both are dead for the next request they carry
  const Outcome o = loop.call({.may_retry = true});
  EXPECT_EQ(o.kind, Kind::response);
  EXPECT_EQ(o.attempts, 2);
  EXPECT_EQ(up.reset_unread(), 1u);  // the second idle one was not tried
  EXPECT_EQ(up.accepted(), 3u);
}

TEST_F(HttpClientE2e, IdleConnectionClosedByTheUpstreamIsNotUsed) {
  up.idle_close_ms = 30;
  Loop loop(options_for(up));
  ASSERT_EQ(loop.call({}).kind, Kind::response);
  EXPECT_TRUE(Loop::eventually([&] { return loop.client().stats().connections_open() == 0; }));
  const Outcome o = loop.call({});
  EXPECT_EQ(o.kind, Kind::response);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(up.accepted(), 2u);
}

TEST_F(HttpClientE2e, IdleTimeoutClosesKeptAliveConnections) {
  HttpClientOptions options = options_for(up);
  options.idle_timeout_ms = 30;
  Loop loop(options);
  ASSERT_EQ(loop.call({}).kind, Kind::response);
  EXPECT_TRUE(Loop::eventually([&] { return up.open_now() == 0; }));
  EXPECT_EQ(loop.client().stats().connections_open(), 0u);
}

TEST_F(HttpClientE2e, NoResendAfterAByteOfTheAnswer) {
  Loop loop(options_for(up));
  ASSERT_EQ(loop.call({}).kind, Kind::response);  // the next call goes on a reused connection
  const Outcome o = loop.call({.target = "/reset", .may_retry = true});
  EXPECT_EQ(o.kind, Kind::closed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(up.requests("/reset"), 1u);
  ASSERT_EQ(loop.call({}).kind, Kind::response);
  const Outcome cut = loop.call({.target = "/truncate", .may_retry = true});
  EXPECT_EQ(cut.kind, Kind::closed);  // cut short by a close: not a complete answer
  EXPECT_EQ(cut.attempts, 1);
  EXPECT_EQ(up.requests("/truncate"), 1u);
  // A reset before any byte on a reused connection is resent once; the resend, on a new
  // connection, is not resent again.
  ASSERT_EQ(loop.call({}).kind, Kind::response);
  const Outcome dropped = loop.call({.target = "/drop", .may_retry = true});
  EXPECT_EQ(dropped.kind, Kind::closed);
  EXPECT_EQ(dropped.attempts, 2);
  EXPECT_EQ(up.requests("/drop"), 2u);
}

TEST_F(HttpClientE2e, OversizedAndMalformedAnswers) {
  HttpClientOptions options = options_for(up);
  options.max_response_bytes = 1000;
  Loop loop(options);
  Outcome o = loop.call({.target = "/big", .may_retry = true});
  EXPECT_EQ(o.kind, Kind::too_large);
  EXPECT_EQ(o.attempts, 1);
  o = loop.call({.target = "/garbage", .may_retry = true});
  EXPECT_EQ(o.kind, Kind::malformed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_EQ(loop.call({}).kind, Kind::response);
  EXPECT_EQ(up.accepted(), 3u);  // each bad answer closed its connection
  EXPECT_EQ(loop.client().stats().failures(Kind::too_large), 1u);
  EXPECT_EQ(loop.client().stats().failures(Kind::malformed), 1u);
}

TEST_F(HttpClientE2e, ShutdownEndsPendingCalls) {
  HttpClientOptions options = options_for(up);
  options.max_connections = 1;
  Loop loop(options);
  const size_t in_flight = loop.start({.target = "/ok?ms=2000"});
  const size_t queued = loop.start({});
  ASSERT_TRUE(Loop::eventually([&] { return up.requests("/ok") == 1; }));
  loop.on_loop([&] {
    loop.client().shutdown();
    return 0;
  });
  const Outcome a = loop.wait(in_flight, 0);
  const Outcome b = loop.wait(queued, 0);
  EXPECT_EQ(a.kind, Kind::shutdown);
  EXPECT_TRUE(a.maybe_sent);
  EXPECT_EQ(b.kind, Kind::shutdown);
  EXPECT_FALSE(b.maybe_sent);
  const Outcome later = loop.wait(loop.start({}), 0);
  EXPECT_EQ(later.kind, Kind::shutdown);
  EXPECT_TRUE(later.before_return);
  EXPECT_TRUE(Loop::eventually([&] { return up.open_now() == 0; }));
  EXPECT_EQ(a.callbacks + b.callbacks + later.callbacks, 3);
}

TEST_F(HttpClientE2e, DestroyingTheReactorEndsPendingCallsOnce) {
  HttpClientOptions options = options_for(up);
  options.max_connections = 1;
  Loop loop(options);
  const size_t in_flight = loop.start({.target = "/ok?ms=2000"});
  const size_t queued = loop.start({});
  const size_t idle_pool = loop.start({});  // queued too
  ASSERT_TRUE(Loop::eventually([&] { return up.requests("/ok") == 1; }));
  loop.stop();  // the client's destructor ends them; its handles close with the loop
  for (size_t c : {in_flight, queued, idle_pool}) {
    const Outcome o = loop.wait(c, 0);
    EXPECT_EQ(o.kind, Kind::shutdown);
    EXPECT_EQ(o.callbacks, 1);
  }
  EXPECT_TRUE(Loop::eventually([&] { return up.open_now() == 0; }));
}

TEST_F(HttpClientE2e, NamesAreResolvedAgainPeriodically) {
  HttpClientOptions options = options_for(up);
  options.host = "localhost";
  options.resolve_interval_ms = 20;
  Loop loop(options);
  const Outcome o = loop.call({});
  ASSERT_EQ(o.kind, Kind::response);  // IPv4 first: 127.0.0.1, where the upstream listens
  EXPECT_TRUE(Loop::eventually([&] { return loop.client().stats().resolutions() >= 4; }));
  EXPECT_EQ(loop.call({}).kind, Kind::response);
  EXPECT_EQ(up.accepted(), 1u);  // re-resolving does not drop the pool
  EXPECT_EQ(loop.client().stats().resolution_failures(), 0u);
}

// Sequential calls, each started from the previous one's callback (all on the reactor thread).
struct Chain {
  HttpClient* client = nullptr;
  int left = 0;
  int count_below = 0;  // allocations are counted once `left` drops below this
  int responses = 0;
  std::promise<void> done;
  std::string key = "txn_0123456789abcdef";
  std::string body = R"({"amount":"12.34","currency":"USD"})";

  void next() {
    const HttpHeaderField headers[] = {{"Idempotency-Key", key}, {"Authorization", "Bearer k"}};
    HttpCall call;
    call.target = "/ok";
    call.headers = headers;
    call.body = body;
    call.may_retry = true;
    client->call(call, on_result, this, 0);
  }
  static void on_result(void* context, uint64_t, const HttpResult& r) {
    auto* c = static_cast<Chain*>(context);
    if (r.kind == Kind::response && r.body == c->body) ++c->responses;
    if (--c->left < c->count_below) counting_allocations = true;
    if (c->left == 0) {
      counting_allocations = false;
      c->done.set_value();
      return;
    }
    c->next();
  }
};

TEST_F(HttpClientE2e, WarmCallsDoNotAllocate) {
  ASSERT_EQ(uv_allocator_installed, 0);
  // The counter sees an allocation on this thread.
  allocations = 0;
  counting_allocations = true;
  void* volatile probe = ::operator new(8);
  ::operator delete(probe);
  counting_allocations = false;
  ASSERT_EQ(allocations.load(), 1u);

  Loop loop(options_for(up));
  Chain chain;
  chain.client = &loop.client();
  chain.left = 60;
  chain.count_below = 50;  // the first 10 calls warm up
  auto done = chain.done.get_future();
  allocations = 0;
  loop.on_loop([&] {
    chain.next();
    return 0;
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(chain.responses, 60);
  EXPECT_EQ(allocations.load(), 0u);
  EXPECT_EQ(up.accepted(), 1u);
}

}  // namespace
}  // namespace paystream::net
