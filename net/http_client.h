#pragma once
// An outbound HTTP/1.1 client that lives on one reactor, to one upstream. Payment-agnostic:
// it sends requests and hands back answers.
//   - a keep-alive pool of at most max_connections (one call per connection at a time, no
//     pipelining; idle connections reused newest first and closed after idle_timeout_ms or
//     when the upstream closes them; an answer with `Connection: close`, or from HTTP/1.0
//     without keep-alive, closes its connection);
//   - beyond the pool, a FIFO queue of at most max_queue calls; beyond it a call ends `busy`
//     before call() returns;
//   - one deadline per call from call(): queue wait, connect, write and the whole answer;
//   - the upstream's name resolved with uv_getaddrinfo (never blocking the loop) at start
//     and every resolve_interval_ms; new connections use the newest addresses (IPv4 first,
//     in turn); a failed re-resolution keeps the old ones;
//   - one resend at most, of the same bytes, within the remaining deadline, only when the
//     call allows it (may_retry) and the connect (or resolution) failed, or a reused
//     keep-alive connection closed or reset before any byte of the answer. Never after a
//     byte of the answer, never after a timeout. The resend takes a new connection when the
//     pool has room (the idle ones may be as stale as the one that failed);
//   - a queued call whose deadline has passed is never sent.
// Once warm, a call allocates nothing: calls, connections and buffers are reused.
// Everything runs on the reactor's thread except stats(), which any thread may read.
// The client writes with uv_write: the process must ignore SIGPIPE (svc/main.cc does).
//
// Lifetime: the reactor destroys its services newest first, then closes its loop. The
// destructor (or shutdown(), earlier) ends every call still pending with `shutdown`: their
// callbacks run then. So a callback's `context` must outlive the client, or its owner must
// call shutdown() before it goes away.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/http_client_stats.h"
#include "net/http_request_writer.h"
#include "net/reactor.h"

namespace paystream::net {

struct HttpClientOptions {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  uint16_t port = 80;
  std::string host_header;               // the Host header's value, e.g. "processor:9090"
  size_t max_connections = 64;           // per client; HTTP/1.1 concurrency equals this
  size_t max_queue = 1024;               // calls waiting for a connection; beyond: busy, at once
  uint32_t idle_timeout_ms = 30000;      // an idle kept-alive connection closes after this
  uint32_t resolve_interval_ms = 30000;  // re-resolution (new connections use the new addresses)
  size_t max_response_bytes = 65536;     // status line + headers + body; beyond: too_large
};

struct HttpCall {
  std::string_view method = "POST";
  std::string_view target;                   // "/v1/authorizations"
  std::span<const HttpHeaderField> headers;  // the client adds Host and Content-Length
  std::string_view body;
  uint32_t timeout_ms = 2000;  // from call(): queue wait + connect + write + whole answer
  bool may_retry = false;      // the caller's upstream dedupes: one resend allowed
};

struct HttpResult {
  using Kind = HttpResultKind;
  Kind kind = Kind::shutdown;
  int status = 0;
  std::string_view body;     // response: valid only during the callback
  uint8_t attempts = 0;      // 1, or 2 after a resend (0: never sent)
  bool maybe_sent = false;   // false only when no byte of any attempt reached a socket
  uint64_t upstream_us = 0;  // last attempt: first request byte written -> answer complete
};

using HttpCallback = void (*)(void* context, uint64_t tag, const HttpResult& result);

class HttpClient final : public ReactorService {
 public:
  // Via reactor.add_service<HttpClient>(options) before the reactors run; resolves once the
  // loop runs.
  HttpClient(Reactor& reactor, HttpClientOptions options);
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient() override;

  // Request bytes are copied before it returns. `callback` runs exactly once on this
  // reactor's thread: later, or before call() returns when the call ends at once (busy;
  // malformed: a method, target or header the client refuses to write; shutdown: after
  // shutdown()).
  void call(const HttpCall& call, HttpCallback callback, void* context, uint64_t tag);
  // Ends every pending call with `shutdown` (their callbacks run before it returns), closes
  // the connections and stops resolving; later calls end at once. Not from a callback.
  void shutdown();
  const HttpClientStats& stats() const;  // readable from any thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paystream::net
