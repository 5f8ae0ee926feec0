// Test-only HTTP server for authload's end-to-end tests (never installed): one libuv thread on
// 127.0.0.1 that answers every request with 200 and a small authorize-like JSON body, and
// optionally misbehaves on purpose. Environment:
//   PORT            listening port (default 0: ephemeral; the port is logged)
//   STALL_MS        every STALL_EVERY_MS, stop the whole server this long (default 0: never),
//                   like a stop-the-world pause: requests wait in the socket buffers. The pause
//                   strikes while a request is being handled, so at least that one waits it all.
//   STALL_EVERY_MS  (default 1000)
//   DELAY_MS        answer each request this long after it arrived, in order (default 0)
//   CLOSE_EVERY     every Nth answer on a connection says `Connection: close`; the server then
//                   shuts down its side and discards what the client still sends until it
//                   closes (default 0: never)
//   IDEMPOTENCY     1: answer requests with an Idempotency-Key as the service's contract says
//                   (docs/api.md), keys kept in memory for the whole run: the first request
//                   with a key is executed; the same key and body again gets the stored answer
//                   with `Idempotent-Replayed: true` once that one is sent, 409
//                   idempotency_key_in_use with Retry-After before; another body gets 422
//                   idempotency_key_reused. 2: the same, but each replayed body has one byte
//                   changed (a broken store, for testing the client's check). Default 0: keys
//                   are ignored.
// Logs {"msg":"listening","port":N} on stderr; exits on SIGTERM or SIGINT.

#include <arpa/inet.h>
#include <uv.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/ascii.h"
#include "base/clock.h"

namespace {

struct Settings {
  uint64_t stall_ms = 0;
  uint64_t stall_every_ms = 1000;
  uint64_t delay_ms = 0;
  uint64_t close_every = 0;
  uint64_t idempotency = 0;
};
Settings settings;
uint64_t answered = 0;

// What a request is answered with, decided when it arrives.
enum class Kind { execute, replay, in_use, reused };
struct Pending {
  Kind kind = Kind::execute;
  std::string key;  // empty: no key
  uint64_t due_ms = 0;
};

struct StoredKey {
  std::string request_body;
  bool done = false;
  std::string answer_body;
};
std::unordered_map<std::string, StoredKey> stored_keys;

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr) return fallback;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v, v + std::strlen(v), n);
  if (ec != std::errc() || *end != '\0') {
    std::fprintf(stderr, "%s must be a non-negative integer\n", name);
    std::exit(2);
  }
  return n;
}

namespace base = paystream::base;
using base::monotonic_ms;
using base::monotonic_ns;

uint64_t next_stall_ns = 0;

// Blocks the loop, as a garbage-collection pause or a swapped-out process would, when one is due.
void stall_if_due() {
  if (settings.stall_ms == 0) return;
  const uint64_t now = monotonic_ns();
  if (now < next_stall_ns) return;
  const uint64_t until = now + settings.stall_ms * 1'000'000u;
  for (uint64_t t = now; t < until; t = monotonic_ns()) {
    const uint64_t left = until - t;
    timespec pause{static_cast<time_t>(left / 1'000'000'000u),
                   static_cast<long>(left % 1'000'000'000u)};
    nanosleep(&pause, nullptr);
  }
  next_stall_ns = now + settings.stall_every_ms * 1'000'000u;
}

std::string executed_body() {
  // Nine approvals for one decline, as the authorize endpoint would; with keys, every answer
  // has its own transaction id, so a second execution is visible.
  const bool declined = ++answered % 10 == 0;
  const std::string id = settings.idempotency > 0 ? "txn_" + std::to_string(answered) : "txn_t";
  return R"({"transaction_id":")" + id + R"(","status":")" + (declined ? "declined" : "approved") +
         "\"}";
}

std::string answer(bool close, const Pending& pending) {
  std::string status = "200 OK";
  std::string headers;
  std::string body;
  switch (pending.kind) {
    case Kind::execute:
      body = executed_body();
      if (!pending.key.empty()) {
        StoredKey& stored = stored_keys[pending.key];
        stored.done = true;
        stored.answer_body = body;
      }
      break;
    case Kind::replay:
      body = stored_keys[pending.key].answer_body;
      if (settings.idempotency == 2) body.back() = ' ';
      headers = "Idempotent-Replayed: true\r\n";
      break;
    case Kind::in_use:
      status = "409 Conflict";
      headers = "Retry-After: 1\r\n";
      body =
          R"({"error":"idempotency_key_in_use","message":"a request with this key is in flight"})";
      break;
    case Kind::reused:
      status = "422 Unprocessable Content";
      body =
          R"({"error":"idempotency_key_reused","message":"this key was used for another request"})";
      break;
  }
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\n" + headers +
         (close ? "Connection: close\r\n" : "") + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// The value of the Idempotency-Key header in a request head; empty if none.
std::string key_of(std::string_view head) {
  constexpr std::string_view kName = "\r\nidempotency-key:";
  for (size_t at = 0; at + kName.size() <= head.size(); ++at) {
    if (!base::equals_ignore_case(head.substr(at, kName.size()), kName)) continue;
    const size_t start = at + kName.size();
    const size_t end = std::min(head.find("\r\n", start), head.size());
    return std::string(base::trim(head.substr(start, end - start), base::kSpaceTab));
  }
  return {};
}

Pending decide(std::string_view head, std::string_view body) {
  Pending pending;
  if (settings.idempotency == 0) return pending;
  pending.key = key_of(head);
  if (pending.key.empty()) return pending;
  auto [it, fresh] = stored_keys.try_emplace(pending.key);
  if (fresh) {
    it->second.request_body = body;
  } else if (it->second.request_body != body) {
    pending.kind = Kind::reused;
  } else {
    pending.kind = it->second.done ? Kind::replay : Kind::in_use;
  }
  return pending;
}

struct Client {
  uv_tcp_t tcp;
  uv_timer_t delay_timer;
  std::string input;
  std::deque<Pending> due;  // answers waiting for DELAY_MS, in arrival order
  uint64_t answers = 0;
  uv_shutdown_t shutdown_req;
  int open_handles = 2;
  bool closing = false;
  bool done_writing = false;  // said Connection: close: reads are discarded from now on
};

struct Write {
  uv_write_t req;
  std::string bytes;
};

void release(uv_handle_t* h) {
  auto* c = static_cast<Client*>(h->data);
  if (--c->open_handles == 0) delete c;
}

void close_client(Client* c) {
  if (c->closing) return;
  c->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), release);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->delay_timer), release);
}

void send_answer(Client* c, const Pending& pending) {
  const bool close = settings.close_every > 0 && ++c->answers % settings.close_every == 0;
  auto* w = new Write{{}, answer(close, pending)};
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1,
           [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); });
  if (close) {
    // Shut down, not close: a close with unread requests would reset the connection and could
    // destroy the answer before the client reads it.
    c->done_writing = true;
    c->due.clear();
    uv_shutdown(&c->shutdown_req, reinterpret_cast<uv_stream_t*>(&c->tcp), nullptr);
  }
}

void send_due(uv_timer_t* t) {
  auto* c = static_cast<Client*>(t->data);
  const uint64_t now = monotonic_ms();
  while (!c->done_writing && !c->due.empty() && c->due.front().due_ms <= now) {
    const Pending pending = std::move(c->due.front());
    c->due.pop_front();
    send_answer(c, pending);
  }
  if (!c->done_writing && !c->due.empty())
    uv_timer_start(t, send_due, c->due.front().due_ms - now, 0);
}

size_t content_length(std::string_view head) {
  for (size_t at = 0; at < head.size(); ++at) {
    if (head.size() - at >= 15 &&
        base::equals_ignore_case(head.substr(at, 15), "content-length:")) {
      size_t n = 0;
      size_t p = at + 15;
      while (p < head.size() && head[p] == ' ') ++p;
      std::from_chars(head.data() + p, head.data() + head.size(), n);
      return n;
    }
  }
  return 0;
}

void on_request(Client* c, Pending pending) {
  stall_if_due();
  if (settings.delay_ms == 0) {
    send_answer(c, pending);
    return;
  }
  pending.due_ms = monotonic_ms() + settings.delay_ms;
  c->due.push_back(std::move(pending));
  if (c->due.size() == 1) uv_timer_start(&c->delay_timer, send_due, settings.delay_ms, 0);
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Client*>(stream->data);
  if (nread > 0) c->input.append(buf->base, static_cast<size_t>(nread));
  delete[] buf->base;
  if (nread < 0) {
    close_client(c);
    return;
  }
  if (c->done_writing) {
    c->input.clear();
    return;
  }
  for (;;) {
    const size_t head_end = c->input.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    const std::string_view head = std::string_view(c->input).substr(0, head_end);
    const size_t total = head_end + 4 + content_length(head);
    if (c->input.size() < total) return;
    Pending pending =
        decide(head, std::string_view(c->input).substr(head_end + 4, total - head_end - 4));
    c->input.erase(0, total);
    on_request(c, std::move(pending));
    if (c->done_writing) return;
  }
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* c = new Client;
  uv_tcp_init(server->loop, &c->tcp);
  uv_timer_init(server->loop, &c->delay_timer);
  c->tcp.data = c;
  c->delay_timer.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    close_client(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        *buf = uv_buf_init(new char[suggested], static_cast<unsigned>(suggested));
      },
      on_read);
}

}  // namespace

int main() {
  settings.stall_ms = env_number("STALL_MS", 0);
  settings.stall_every_ms = env_number("STALL_EVERY_MS", 1000);
  settings.delay_ms = env_number("DELAY_MS", 0);
  settings.close_every = env_number("CLOSE_EVERY", 0);
  settings.idempotency = env_number("IDEMPOTENCY", 0);
  const uint64_t port = env_number("PORT", 0);

  uv_loop_t* loop = uv_default_loop();
  // Stop signals are watched before the port is announced, so that a signal sent on
  // seeing "listening" always stops the loop.
  uv_signal_t stop[2];
  for (int i = 0; i < 2; ++i) {
    uv_signal_init(loop, &stop[i]);
    uv_signal_start(
        &stop[i], [](uv_signal_t* s, int) { uv_stop(s->loop); }, i == 0 ? SIGTERM : SIGINT);
  }
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", static_cast<int>(port), &addr);
  int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 1024, on_connection);
  if (rc != 0) {
    std::fprintf(stderr, "{\"msg\":\"listen failed\",\"error\":\"%s\"}\n", uv_strerror(rc));
    return 1;
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
  std::fprintf(stderr, "{\"msg\":\"listening\",\"port\":%d}\n",
               ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));

  next_stall_ns = monotonic_ns() + settings.stall_every_ms * 1'000'000u;
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
