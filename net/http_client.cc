#include "net/http_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "base/clock.h"
#include "net/http_response_parser.h"
#include "net/log.h"
#include "net/name_lookup.h"
#include "net/reactor_timer.h"
#include "net/upstream_addresses.h"
#include "net/wait_queue.h"

namespace paystream::net {
namespace {

using Kind = HttpResult::Kind;

bool retryable(Kind kind, bool reused, bool answer_started) {
  return kind == Kind::connect_failed || (kind == Kind::closed && reused && !answer_started);
}

}  // namespace

struct HttpClient::Impl {
  struct Conn;

  // One call from call() to its callback (its deadline in WaitNode); reused through a free
  // list.
  struct Pending : WaitNode {
    HttpCallback callback = nullptr;
    void* context = nullptr;
    uint64_t tag = 0;
    std::string bytes;  // the request, resent as is
    bool may_retry = false;
    bool head = false;
    uint8_t attempts = 0;
    bool maybe_sent = false;
  };

  enum class ConnState : uint8_t { free, connecting, busy, idle, closing };

  struct Conn {
    explicit Conn(size_t max_bytes) : parser(max_bytes) {}
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_timer_t timer;       // the call's deadline, or the idle timeout
    Impl* owner = nullptr;  // null once the client is gone: close callbacks only free
    int open_handles = 0;
    ConnState state = ConnState::free;
    Pending* call = nullptr;
    bool reused = false;     // answered a call before the current one
    bool writing = false;    // a uv_write is in flight
    int deferred_error = 0;  // a synchronous libuv error, handled on the timer (never in call())
    uint64_t write_start_ns = 0;
    ResponseParser parser;
  };

  Impl(Reactor& r, uv_loop_t* l, HttpClientOptions o)
      : reactor(r),
        loop(l),
        options(std::move(o)),
        queue_timer(r, [this] { on_queue_timer(); }),
        resolve_timer(r, [this] { start_resolve(); }),
        addresses(options.port) {
    options.max_connections = std::max<size_t>(options.max_connections, 1);
    options.resolve_interval_ms = std::max<uint32_t>(options.resolve_interval_ms, 1);
    if (options.host_header.empty()) options.host_header = options.host;
    idle.reserve(options.max_connections);
    queue_timer.set_background();
    resolve_timer.set_background();
    if (!addresses.set_literal(options.host)) {
      resolve_timer.start(0, options.resolve_interval_ms);
    }
  }

  ~Impl() {
    shutdown();
    // After shutdown() every connection is free or closing; each is freed by its last
    // handle's close callback (the reactor runs them once it has destroyed its services).
    for (Conn* c : conns) {
      c->owner = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), on_handle_closed);
    }
    conns.clear();
  }

  // ---- calls ----

  void call(const HttpCall& call, HttpCallback callback, void* context, uint64_t tag) {
    stats.add_call();
    if (shut) {
      end_at_once(Kind::shutdown, callback, context, tag);
      return;
    }
    const bool can_start = queue.empty() && (!idle.empty() || can_open());
    if (!can_start && queue.size() >= options.max_queue) {
      end_at_once(Kind::busy, callback, context, tag);
      return;
    }
    Pending* p = take_pending();
    if (!write_http_request(p->bytes, call.method, call.target, options.host_header, call.headers,
                            call.body)) {
      free_pending.push_back(p);
      end_at_once(Kind::malformed, callback, context, tag);
      return;
    }
    p->callback = callback;
    p->context = context;
    p->tag = tag;
    p->deadline_ms = base::monotonic_ms() + call.timeout_ms;
    p->may_retry = call.may_retry;
    p->head = call.method == "HEAD";
    p->attempts = 0;
    p->maybe_sent = false;
    if (can_start) {
      start(p);
    } else {
      enqueue_back(p);
      if (addresses.empty() && !resolve.running()) start_resolve();
    }
    publish();
  }

  void end_at_once(Kind kind, HttpCallback callback, void* context, uint64_t tag) {
    stats.add_ended(kind);
    HttpResult result;
    result.kind = kind;
    callback(context, tag, result);
  }

  Pending* take_pending() {
    if (free_pending.empty()) {
      owned_pending.push_back(std::make_unique<Pending>());
      return owned_pending.back().get();
    }
    Pending* p = free_pending.back();
    free_pending.pop_back();
    return p;
  }

  // Ends a call: its slot goes back to the free list before the callback, which may call().
  void end(Pending* p, HttpResult& result) {
    result.attempts = p->attempts;
    result.maybe_sent = p->maybe_sent;
    const HttpCallback callback = p->callback;
    void* const context = p->context;
    const uint64_t tag = p->tag;
    free_pending.push_back(p);
    stats.add_ended(result.kind);
    publish();
    callback(context, tag, result);
  }

  void end(Pending* p, Kind kind) {
    HttpResult result;
    result.kind = kind;
    end(p, result);
  }

  // ---- the queue ----

  void enqueue_back(Pending* p) {
    queue.push_back(p);
    watch_deadline(p->deadline_ms);
  }

  void enqueue_front(Pending* p) {
    queue.push_front(p);
    watch_deadline(p->deadline_ms);
  }

  Pending* pop_front() { return static_cast<Pending*>(queue.pop_front()); }

  // One timer for the whole queue, armed for the earliest deadline in it (or earlier).
  void watch_deadline(uint64_t deadline_ms) {
    if (deadline_ms >= queue_timer_due) return;
    queue_timer_due = deadline_ms;
    const uint64_t now = base::monotonic_ms();
    queue_timer.start(deadline_ms > now ? deadline_ms - now : 0);
  }

  void on_queue_timer() {
    queue_timer_due = WaitQueue::kNever;  // calls queued by the callbacks below arm it again
    const uint64_t next_due = queue.expire(base::monotonic_ms(), [this](WaitNode* n) {
      end(static_cast<Pending*>(n), Kind::timeout);
    });
    if (next_due != WaitQueue::kNever) watch_deadline(next_due);
    publish();
  }

  // Gives queued calls the idle connections and the room left in the pool.
  void dispatch() {
    while (!queue.empty() && !shut) {
      if (!idle.empty() || can_open()) {
        Pending* p = pop_front();
        if (p->deadline_ms <= base::monotonic_ms()) {
          end(p, Kind::timeout);  // its caller has given up: not sent
        } else {
          start(p);
        }
        continue;
      }
      if (addresses.empty() && !resolve.running()) start_resolve();
      break;
    }
    publish();
  }

  bool can_open() const {
    return !addresses.empty() && conns.size() - free_conns.size() < options.max_connections;
  }

  // On an idle connection (the newest) or a new one. A resend goes on a new connection when
  // the pool has room: the idle ones may have been closed by the upstream like the last one.
  void start(Pending* p) {
    const bool resend = p->attempts > 0;
    ++p->attempts;
    if (!idle.empty() && !(resend && can_open())) {
      Conn* c = idle.back();
      idle.pop_back();
      assign(c, p);
      send(c);
      return;
    }
    Conn* c = take_conn();
    assign(c, p);
    open(c);
  }

  void assign(Conn* c, Pending* p) {
    c->call = p;
    c->parser.reset(p->head);
    uv_update_time(loop);
    const uint64_t now = base::monotonic_ms();
    uv_timer_start(&c->timer, on_conn_timer, p->deadline_ms > now ? p->deadline_ms - now : 0, 0);
  }

  // ---- connections ----

  Conn* take_conn() {
    if (!free_conns.empty()) {
      Conn* c = free_conns.back();
      free_conns.pop_back();
      return c;
    }
    auto* c = new Conn(options.max_response_bytes);
    c->owner = this;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_unref(reinterpret_cast<uv_handle_t*>(&c->timer));
    c->open_handles = 1;
    conns.push_back(c);
    return c;
  }

  void open(Conn* c) {
    c->reused = false;
    c->writing = false;
    c->deferred_error = 0;
    set_state(c, ConnState::connecting);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    ++c->open_handles;
    uv_unref(reinterpret_cast<uv_handle_t*>(&c->tcp));
    uv_tcp_nodelay(&c->tcp, 1);
    c->connect_req.data = c;
    const int rc = uv_tcp_connect(&c->connect_req, &c->tcp, addresses.next(), on_connect);
    if (rc != 0) defer_error(c, rc);
  }

  // A libuv error met synchronously (perhaps inside call()): ends the attempt on the timer.
  void defer_error(Conn* c, int error) {
    c->deferred_error = error;
    uv_timer_start(&c->timer, on_conn_timer, 0, 0);
  }

  static void on_connect(uv_connect_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    if (c->owner == nullptr || status == UV_ECANCELED || c->state != ConnState::connecting) return;
    c->owner->connected(c, status);
  }

  void connected(Conn* c, int status) {
    if (status != 0) {
      if (log::admit(connect_log, "http client connect", base::monotonic_ms())) {
        log::warn("upstream connect failed")
            .num("reactor", reactor.index())
            .str("host", options.host)
            .num("port", options.port)
            .str("error", uv_strerror(status));
      }
      end_attempt(c, Kind::connect_failed);
      return;
    }
    stats.add_connect();
    const int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
    if (rc != 0) {
      end_attempt(c, Kind::connect_failed);
      return;
    }
    send(c);
  }

  void send(Conn* c) {
    set_state(c, ConnState::busy);
    Pending* p = c->call;
    uv_buf_t buf = uv_buf_init(p->bytes.data(), static_cast<unsigned>(p->bytes.size()));
    c->write_req.data = c;
    c->write_start_ns = base::monotonic_ns();
    const int rc =
        uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, on_write);
    if (rc != 0) {
      defer_error(c, rc);
      return;
    }
    c->writing = true;
    p->maybe_sent = true;
  }

  static void on_write(uv_write_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    c->writing = false;
    if (c->owner == nullptr || status == 0 || c->state != ConnState::busy) return;
    c->owner->end_attempt(c, Kind::closed);
  }

  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(handle->data);
    Reactor& r = c->owner->reactor;
    *buf = uv_buf_init(r.read_buffer(), static_cast<unsigned>(r.read_buffer_size()));
  }

  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(stream->data);
    if (c->owner == nullptr || nread == 0) return;
    c->owner->read(c, nread, buf->base);
  }

  void read(Conn* c, ssize_t nread, const char* data) {
    if (c->state != ConnState::busy) {
      // Idle: the upstream closed it (or sent bytes nobody asked for). Connecting cannot read.
      if (c->state == ConnState::idle) close_conn(c);
      return;
    }
    if (nread < 0) {
      // Closed or reset: complete only when the body was delimited by the close; an answer
      // cut short is `closed`, whatever part of it came.
      if (nread == UV_EOF && c->parser.finish().event == ResponseParser::Event::complete) {
        answered(c, false);
      } else {
        end_attempt(c, Kind::closed);
      }
      return;
    }
    const size_t len = static_cast<size_t>(nread);
    const ResponseParser::Result r = c->parser.feed(data, len);
    switch (r.event) {
      case ResponseParser::Event::need_more:
        return;
      case ResponseParser::Event::complete:
        // Bytes after the answer (no pipelining: nothing else was asked) or a request still
        // being written: the connection's state is not known, so it is not kept.
        answered(c, c->parser.keep_alive() && r.consumed == len && !c->writing);
        return;
      case ResponseParser::Event::malformed:
        end_attempt(c, Kind::malformed);
        return;
      case ResponseParser::Event::too_large:
        end_attempt(c, Kind::too_large);
        return;
    }
  }

  // A complete answer. The connection is idle (or closing) before the callback, which may
  // call() again and reuse it: the body stays in its parser until the next answer's first byte.
  void answered(Conn* c, bool keep) {
    Pending* p = c->call;
    c->call = nullptr;
    uv_timer_stop(&c->timer);
    HttpResult result;
    result.kind = Kind::response;
    result.status = c->parser.status();
    result.body = c->parser.body();
    result.upstream_us = (base::monotonic_ns() - c->write_start_ns) / 1000;
    if (keep && !shut) {
      c->reused = true;
      set_state(c, ConnState::idle);
      idle.push_back(c);
      uv_timer_start(&c->timer, on_conn_timer, options.idle_timeout_ms, 0);
    } else {
      close_conn(c);
    }
    end(p, result);
    dispatch();
  }

  // The attempt on `c` failed: the connection closes, and the call is resent once when the
  // rule allows it, or ends.
  void end_attempt(Conn* c, Kind kind) {
    Pending* p = c->call;
    c->call = nullptr;
    const bool reused = c->reused;
    const bool answer_started = c->parser.started();
    close_conn(c);
    if (p == nullptr) return;
    if (p->may_retry && p->attempts == 1 && retryable(kind, reused, answer_started) &&
        base::monotonic_ms() < p->deadline_ms && !shut) {
      stats.add_retry();
      enqueue_front(p);  // admitted already: ahead of the queue, whatever its length
      dispatch();
      return;
    }
    end(p, kind);
    dispatch();
  }

  static void on_conn_timer(uv_timer_t* timer) {
    auto* c = static_cast<Conn*>(timer->data);
    if (c->owner != nullptr) c->owner->conn_timer(c);
  }

  void conn_timer(Conn* c) {
    if (c->deferred_error != 0) {
      c->deferred_error = 0;
      end_attempt(c, c->state == ConnState::connecting ? Kind::connect_failed : Kind::closed);
      return;
    }
    switch (c->state) {
      case ConnState::idle:
        close_conn(c);  // idle_timeout_ms passed
        break;
      case ConnState::connecting:
      case ConnState::busy: {
        const uint64_t now = base::monotonic_ms();
        if (c->call != nullptr && now < c->call->deadline_ms) {
          // The loop's clock was behind when it was armed: not yet.
          uv_timer_start(&c->timer, on_conn_timer, c->call->deadline_ms - now, 0);
          break;
        }
        end_attempt(c, Kind::timeout);
        break;
      }
      case ConnState::free:
      case ConnState::closing:
        break;
    }
  }

  void close_conn(Conn* c) {
    if (c->state == ConnState::free || c->state == ConnState::closing) return;
    if (c->state == ConnState::idle) {
      idle.erase(std::find(idle.begin(), idle.end(), c));
    }
    uv_timer_stop(&c->timer);
    c->deferred_error = 0;
    set_state(c, ConnState::closing);
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_tcp_closed);
  }

  static void on_tcp_closed(uv_handle_t* handle) {
    auto* c = static_cast<Conn*>(handle->data);
    if (c->owner == nullptr) {
      on_handle_closed(handle);  // the client is gone
      return;
    }
    --c->open_handles;
    Impl* owner = c->owner;
    owner->set_state(c, ConnState::free);
    owner->free_conns.push_back(c);
    owner->dispatch();
  }

  static void on_handle_closed(uv_handle_t* handle) {
    // Both the tcp and the timer handle carry the connection in `data`.
    auto* c = static_cast<Conn*>(handle->data);
    if (--c->open_handles == 0) delete c;
  }

  void set_state(Conn* c, ConnState next) {
    auto counted = [](ConnState s) {
      return s == ConnState::connecting || s == ConnState::busy || s == ConnState::idle;
    };
    auto carrying = [](ConnState s) { return s == ConnState::connecting || s == ConnState::busy; };
    open_count += int(counted(next)) - int(counted(c->state));
    busy_count += int(carrying(next)) - int(carrying(c->state));
    c->state = next;
  }

  void publish() {
    stats.set_connections(open_count, busy_count);
    stats.set_queue_depth(queue.size());
  }

  // ---- name resolution ----

  void start_resolve() {
    if (resolve.running() || shut) return;
    if (const int rc = resolve.start(options.host); rc != 0) resolved(rc, nullptr);
  }

  static void on_resolved(void* self, int status, const addrinfo* res) {
    static_cast<Impl*>(self)->resolved(status, res);
  }

  void resolved(int status, const addrinfo* res) {
    if (addresses.update(status, res)) {
      stats.add_resolution();
      dispatch();
      return;
    }
    stats.add_resolution_failure();
    if (log::admit(resolve_log, "http client resolve", base::monotonic_ms())) {
      log::warn("upstream name resolution failed")
          .num("reactor", reactor.index())
          .str("host", options.host)
          .str("error", status != 0 ? uv_strerror(status) : "no address")
          .num("addresses_kept", static_cast<int64_t>(addresses.size()));
    }
    if (!addresses.empty()) return;  // the old addresses stay
    // Nothing to connect to: each queued call has had its attempt. A second one (the resend
    // rule) waits for the next resolution, which dispatch() starts.
    const WaitNode* const last = queue.back();
    for (WaitNode* n = queue.front(); n != nullptr;) {
      WaitNode* const next = n == last ? nullptr : n->next;
      auto* p = static_cast<Pending*>(n);
      ++p->attempts;
      if (!(p->may_retry && p->attempts == 1 && base::monotonic_ms() < p->deadline_ms)) {
        queue.remove(p);
        end(p, Kind::connect_failed);
      } else {
        stats.add_retry();
      }
      n = next;
    }
    // Calls queued from the callbacks above have had no attempt yet: they wait too.
    if (!queue.empty() && !shut) start_resolve();
    publish();
  }

  // ---- shutdown ----

  void shutdown() {
    if (shut) return;
    shut = true;
    queue_timer.stop();
    resolve_timer.stop();
    resolve.cancel();
    while (!queue.empty()) end(pop_front(), Kind::shutdown);
    for (Conn* c : conns) {
      Pending* p = c->call;
      c->call = nullptr;
      close_conn(c);
      if (p != nullptr) end(p, Kind::shutdown);
    }
    publish();
  }

  Reactor& reactor;
  uv_loop_t* loop;
  HttpClientOptions options;
  ReactorTimer queue_timer;
  ReactorTimer resolve_timer;
  uint64_t queue_timer_due = WaitQueue::kNever;
  bool shut = false;

  UpstreamAddresses addresses;  // new connections take them in turn
  NameLookup resolve{loop, on_resolved, this};

  std::vector<Conn*> conns;       // every connection object (free ones included)
  std::vector<Conn*> free_conns;  // closed, reusable
  std::vector<Conn*> idle;        // open and idle, newest last
  uint64_t open_count = 0;
  uint64_t busy_count = 0;

  std::vector<std::unique_ptr<Pending>> owned_pending;
  std::vector<Pending*> free_pending;
  WaitQueue queue;  // calls waiting for a connection, oldest first

  HttpClientStats stats;
  log::RateLimiter resolve_log{2, 10'000};
  log::RateLimiter connect_log{2, 10'000};
};

HttpClient::HttpClient(Reactor& reactor, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(reactor, reactor.loop(), std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::call(const HttpCall& call, HttpCallback callback, void* context, uint64_t tag) {
  impl_->call(call, callback, context, tag);
}

void HttpClient::shutdown() {
  impl_->shutdown();
}

const HttpClientStats& HttpClient::stats() const {
  return impl_->stats;
}

}  // namespace paystream::net
