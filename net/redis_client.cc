#include "net/redis_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>

#include "base/clock.h"
#include "net/log.h"
#include "net/name_lookup.h"
#include "net/reactor_timer.h"
#include "net/redis_uv_events.h"

namespace paystream::net {
namespace {

// What an entry in flight is waiting for: a caller's command, or a step of the setup that
// every new connection goes through before it is ready (AUTH, SCRIPT LOAD i, PING).
constexpr int kUser = -1;
constexpr int kAuth = -2;
constexpr int kPing = -3;  // the last setup step: its PONG makes the connection ready

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Commands after which Redis does not answer one reply per command: they would desynchronise
// the callbacks from the replies (hiredis 0.14 asserts on some of them).
bool refused(std::span<const std::string_view> args) {
  if (args.empty() || args.size() > 1'000'000) return true;
  static constexpr std::string_view kStreamChanging[] = {
      "subscribe",    "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
      "sunsubscribe", "monitor",    "sync",       "psync"};
  for (std::string_view name : kStreamChanging) {
    if (equals_nocase(args[0], name)) return true;
  }
  return args.size() >= 2 && equals_nocase(args[0], "client") && equals_nocase(args[1], "reply");
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return uv_inet_pton(AF_INET, host.c_str(), buf) == 0 ||
         uv_inet_pton(AF_INET6, host.c_str(), buf) == 0;
}

}  // namespace

struct RedisClient::Impl {
  enum class State : uint8_t {
    idle,        // the loop has not run yet
    resolving,   // uv_getaddrinfo in flight (the connect deadline is armed)
    connecting,  // context open, setup steps queued (the connect deadline is armed)
    dropping,    // a setup step failed inside a hiredis callback: the timer frees the context
    ready,       // commands accepted (the timer watches the oldest command)
    closing,     // the context is being freed: its callbacks run with a NULL reply
    backoff,     // no context: the timer starts the next attempt
    shut,        // shutdown() or destroyed: nothing more
  };

  struct Entry {
    RedisCallback callback;
    void* context;
    uint64_t tag;
    uint64_t sent_ms;
    int step;  // kUser, kAuth, kPing, or the index of a script being loaded
  };

  Impl(Reactor& r, uv_loop_t* l, RedisOptions o)
      : reactor(r),
        loop(l),
        options(std::move(o)),
        timer(r, [this] { on_timer(); }),
        rng(static_cast<uint32_t>(base::monotonic_ns() ^
                                  (uint64_t(r.index()) * 0x9E3779B97F4A7C15u))),
        shas(options.scripts.size()) {
    options.max_pending = std::max<size_t>(options.max_pending, 1);
    options.backoff_min_ms = std::max<uint32_t>(options.backoff_min_ms, 1);
    options.backoff_max_ms = std::max(options.backoff_max_ms, options.backoff_min_ms);
    timer.set_background();  // never what keeps a drained loop running
    timer.start(0);          // the first attempt, once the loop runs
  }

  ~Impl() { shutdown(); }

  // ---- commands ----

  void command(std::span<const std::string_view> args, RedisCallback callback, void* context,
               uint64_t tag) {
    if (state != State::ready || stats.pending >= options.max_pending || refused(args)) {
      fail(callback, context, tag);
      return;
    }
    if (!send(args)) {
      fail(callback, context, tag);
      return;
    }
    entries.push_back({callback, context, tag, base::monotonic_ms(), kUser});
    ++stats.pending;
    if (!timer_armed) {
      timer.start(options.command_timeout_ms);
      timer_armed = true;
    }
  }

  void fail(RedisCallback callback, void* context, uint64_t tag) {
    ++stats.failed_commands;
    const RedisReply reply;  // Kind::failed
    callback(context, tag, reply);
  }

  // Every hiredis callback answers the oldest entry: replies come in order, and a context
  // being freed calls the rest with a NULL reply, oldest first.
  static void on_reply(redisAsyncContext*, void* reply, void* privdata) {
    static_cast<Impl*>(privdata)->answer(static_cast<redisReply*>(reply));
  }

  void answer(redisReply* r) {
    if (entries.empty()) return;  // cannot happen: one entry per command sent
    const Entry e = entries.front();
    entries.pop_front();
    if (e.step == kUser) --stats.pending;
    if (r == nullptr) {
      // The context is going away: commands issued from the callbacks below fail at once.
      if (state == State::connecting || state == State::dropping || state == State::ready) {
        state = State::closing;
      }
      if (e.step == kUser) {
        ++lost_in_flight;
        fail(e.callback, e.context, e.tag);
      }
      return;
    }
    if (e.step != kUser) {
      setup_answered(e.step, *r);
      return;
    }
    RedisReply reply;
    switch (r->type) {
      case REDIS_REPLY_STRING:
        reply.kind = RedisReply::Kind::string;
        reply.text = {r->str, r->len};
        break;
      case REDIS_REPLY_STATUS:
        reply.kind = RedisReply::Kind::status;
        reply.text = {r->str, r->len};
        break;
      case REDIS_REPLY_ERROR:
        reply.kind = RedisReply::Kind::error;
        reply.text = {r->str, r->len};
        break;
      case REDIS_REPLY_INTEGER:
        reply.kind = RedisReply::Kind::integer;
        reply.integer = r->integer;
        break;
      case REDIS_REPLY_NIL:
        reply.kind = RedisReply::Kind::nil;
        break;
      case REDIS_REPLY_ARRAY:
        reply.kind = RedisReply::Kind::array;
        reply.integer = static_cast<int64_t>(r->elements);
        break;
      default:
        break;  // failed
    }
    if (reply.kind == RedisReply::Kind::failed) ++stats.failed_commands;
    e.callback(e.context, e.tag, reply);
  }

  // ---- connecting ----

  void start_attempt() {
    state = State::resolving;
    was_ready = false;
    lost_in_flight = 0;
    drop_reason.clear();
    address.clear();
    timer.start(options.connect_timeout_ms);  // the whole attempt: resolve to PONG
    if (is_ip_literal(options.host)) {
      connect_to(options.host);
      return;
    }
    if (const int rc = resolve.start(options.host); rc != 0) {
      attempt_failed(std::string("resolve failed: ") + uv_strerror(rc));
    }
  }

  static void on_resolved(void* self, int status, const addrinfo* res) {
    static_cast<Impl*>(self)->resolved(status, res);
  }

  void resolved(int status, const addrinfo* res) {
    if (status != 0) {
      attempt_failed(std::string("resolve failed: ") + uv_strerror(status));
      return;
    }
    // IPv4 first, like hiredis' own connect; a failed attempt moves on to the next address.
    std::vector<std::string> found;
    for (int family : {AF_INET, AF_INET6}) {
      for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
        if (a->ai_family != family) continue;
        char ip[INET6_ADDRSTRLEN] = {};
        if (family == AF_INET) {
          uv_ip4_name(reinterpret_cast<const sockaddr_in*>(a->ai_addr), ip, sizeof ip);
        } else {
          uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(a->ai_addr), ip, sizeof ip);
        }
        if (std::find(found.begin(), found.end(), ip) == found.end()) found.emplace_back(ip);
      }
    }
    if (found.empty()) {
      attempt_failed("resolve failed: no address");
      return;
    }
    connect_to(found[failures % found.size()]);
  }

  void connect_to(const std::string& ip) {
    state = State::connecting;
    address = ip;
    redisAsyncContext* c = redisAsyncConnect(ip.c_str(), options.port);
    if (c == nullptr) {
      attempt_failed("out of memory");
      return;
    }
    if (c->err != 0) {
      std::string error = c->errstr;
      redisAsyncFree(c);  // nothing attached, nothing queued
      attempt_failed(error);
      return;
    }
    if (!attach_redis_to_loop(c, loop, on_gone, this)) {
      redisAsyncFree(c);
      attempt_failed("cannot poll the socket");
      return;
    }
    c->data = this;
    ac = c;
    // Queued now, written by hiredis once the TCP connect completes.
    std::string password = options.password ? options.password() : std::string();
    bool queued = true;
    if (!password.empty()) {
      const std::string_view auth[] = {"AUTH", password};
      queued = queue_setup(auth, kAuth);
      explicit_bzero(password.data(), password.size());
    }
    for (size_t i = 0; queued && i < options.scripts.size(); ++i) {
      const std::string_view load[] = {"SCRIPT", "LOAD", options.scripts[i]};
      queued = queue_setup(load, static_cast<int>(i));
    }
    const std::string_view ping[] = {"PING"};
    if (queued) queued = queue_setup(ping, kPing);
    if (!queued) setup_failed("cannot queue the setup commands", {});
  }

  // Queues one command on the connection; its reply comes to on_reply in order.
  bool send(std::span<const std::string_view> args) {
    argv.clear();
    argvlen.clear();
    for (std::string_view a : args) {
      argv.push_back(a.data() != nullptr ? a.data() : "");  // an empty view may have none
      argvlen.push_back(a.size());
    }
    return redisAsyncCommandArgv(ac, on_reply, this, static_cast<int>(args.size()), argv.data(),
                                 argvlen.data()) == REDIS_OK;
  }

  bool queue_setup(std::span<const std::string_view> args, int step) {
    if (!send(args)) return false;
    entries.push_back({nullptr, nullptr, 0, base::monotonic_ms(), step});
    return true;
  }

  void setup_answered(int step, const redisReply& r) {
    if (state != State::connecting) return;  // an earlier step failed: being dropped
    const std::string_view text =
        r.str != nullptr ? std::string_view(r.str, r.len) : std::string_view();
    if (step == kAuth) {
      if (r.type != REDIS_REPLY_STATUS) setup_failed("AUTH failed", text);
    } else if (step == kPing) {
      if (r.type == REDIS_REPLY_STATUS) {
        become_ready();
      } else {
        setup_failed("PING failed", text);
      }
    } else if (r.type == REDIS_REPLY_STRING && r.len == 40) {
      shas[static_cast<size_t>(step)].assign(r.str, r.len);
    } else {
      setup_failed("SCRIPT LOAD failed", text);
    }
  }

  // Inside a hiredis callback: the context cannot be freed here; the timer does it.
  void setup_failed(std::string_view what, std::string_view redis_error) {
    state = State::dropping;
    drop_reason = what;
    if (!redis_error.empty()) {
      drop_reason += ": ";
      drop_reason += redis_error.substr(0, 160);  // Redis' own words, never our arguments
    }
    timer.start(0);
  }

  void become_ready() {
    state = State::ready;
    was_ready = true;
    failures = 0;
    ++stats.connects;
    timer.stop();
    timer_armed = false;
    if (log::admit(connected_log, "redis connected", base::monotonic_ms())) {
      log::info("redis connected")
          .num("reactor", reactor.index())
          .str("host", options.host)
          .str("address", address)
          .num("port", options.port);
    }
  }

  // ---- losing a connection ----

  // From the timer only (never inside a hiredis callback): frees the context, which runs
  // every pending callback with a NULL reply and then on_gone.
  void drop(std::string_view reason) {
    drop_reason = reason;
    state = State::closing;
    redisAsyncFree(ac);
  }

  static void on_gone(void* owner, const redisAsyncContext* c) {
    static_cast<Impl*>(owner)->gone(c);
  }

  void gone(const redisAsyncContext* c) {
    ac = nullptr;
    // Every callback of the context has run; anything left would be a bookkeeping error.
    while (!entries.empty()) answer(nullptr);
    if (state == State::shut) return;
    std::string error = drop_reason;
    if (error.empty()) error = c->err != 0 ? c->errstr : "connection closed";
    if (was_ready) {
      backoff("redis connection lost", error);
    } else {
      ++stats.connect_failures;
      backoff("redis connect failed", error);
    }
  }

  void attempt_failed(const std::string& error) {
    ++stats.connect_failures;
    backoff("redis connect failed", error);
  }

  void backoff(std::string_view what, std::string_view error) {
    const uint32_t exponent = std::min<uint32_t>(failures, 20);
    const uint64_t base =
        std::min<uint64_t>(options.backoff_max_ms, uint64_t(options.backoff_min_ms) << exponent);
    // Equal jitter: half the delay fixed, half random, so reactors and pods spread out.
    const uint64_t delay = std::max<uint64_t>(1, base / 2 + rng() % (base - base / 2 + 1));
    ++failures;
    state = State::backoff;
    timer_armed = false;
    timer.start(delay);
    if (log::admit(failure_log, "redis connection", base::monotonic_ms())) {
      log::warn(what)
          .num("reactor", reactor.index())
          .str("host", options.host)
          .str("address", address)
          .num("port", options.port)
          .str("error", error)
          .num("failed_in_flight", static_cast<int64_t>(lost_in_flight))
          .num("consecutive_failures", failures)
          .num("retry_ms", static_cast<int64_t>(delay));
    }
  }

  // ---- the one timer ----

  void on_timer() {
    timer_armed = false;
    switch (state) {
      case State::idle:
      case State::backoff:
        start_attempt();
        break;
      case State::resolving:
        ++stats.timeouts;
        resolve.cancel();
        attempt_failed("connect timed out (resolving)");
        break;
      case State::connecting:
        ++stats.timeouts;
        drop("connect timed out");
        break;
      case State::dropping:  // drop_reason is set
        state = State::closing;
        redisAsyncFree(ac);
        break;
      case State::ready: {
        if (entries.empty()) break;
        const uint64_t age = base::monotonic_ms() - entries.front().sent_ms;
        if (age >= options.command_timeout_ms) {
          ++stats.timeouts;
          drop("command timed out");
        } else {
          timer.start(options.command_timeout_ms - age);
          timer_armed = true;
        }
        break;
      }
      case State::closing:
      case State::shut:
        break;
    }
  }

  void shutdown() {
    if (state == State::shut) return;
    state = State::shut;
    timer.stop();
    resolve.cancel();
    if (ac != nullptr) redisAsyncFree(ac);  // fails what is in flight, then on_gone
  }

  Reactor& reactor;
  uv_loop_t* loop;
  RedisOptions options;
  ReactorTimer timer;
  bool timer_armed = false;  // ready: the timer watches the oldest command
  std::minstd_rand rng;
  State state = State::idle;
  redisAsyncContext* ac = nullptr;
  NameLookup resolve{loop, on_resolved, this};
  std::deque<Entry> entries;  // in the order sent, setup steps included
  std::vector<std::string> shas;
  std::string address;      // the numeric address of the current attempt
  std::string drop_reason;  // why we dropped the connection ourselves
  bool was_ready = false;
  uint32_t failures = 0;  // attempts failed since the last ready connection
  size_t lost_in_flight = 0;
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  Stats stats;
  log::RateLimiter failure_log{2, 10'000};
  log::RateLimiter connected_log{2, 10'000};
};

RedisClient::RedisClient(Reactor& reactor, RedisOptions options)
    : impl_(std::make_unique<Impl>(reactor, reactor.loop(), std::move(options))) {}

RedisClient::~RedisClient() = default;

void RedisClient::command(std::span<const std::string_view> args, RedisCallback callback,
                          void* context, uint64_t tag) {
  impl_->command(args, callback, context, tag);
}

std::string_view RedisClient::script_sha(size_t index) const {
  return index < impl_->shas.size() ? std::string_view(impl_->shas[index]) : std::string_view();
}

bool RedisClient::ready() const {
  return impl_->state == Impl::State::ready;
}

void RedisClient::shutdown() {
  impl_->shutdown();
}

const RedisClient::Stats& RedisClient::stats() const {
  return impl_->stats;
}

}  // namespace paystream::net
