// The whole warm request path of POST /v1/authorize without sockets, as one reactor runs it with
// the simulated processor answering at once (latency 0): a 247-byte request fed to an
// HttpSession → parse → dispatch → request id, Content-Type check, decode and validation
// (AuthorizeDecoder) → transaction id → breaker admit → decide (Xoshiro256) → breaker report →
// format (format_authorize_response) → the session frames and writes the response → record into
// the reactor's MetricShard.
//
// It is also a correctness check: once warm, the path must not allocate. Any allocation (on this
// thread or any other) during the timed loop fails the run through fail_run(): SkipWithError with
// the count per stage, and paystream-bench exits 1. `meson test warm_request_path_allocations`
// runs it on every tools/test. Setting PAYSTREAM_BENCH_INJECT_ALLOCATION=1 makes the decode
// stage allocate once per request, to show the check fires (test
// warm_request_path_detects_allocation, expected to fail).
//
// Not modelled: the kernel's getrandom() for a transaction id's entropy once per millisecond (the
// PRNG supplies it here), libuv timers and the socket write itself.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "bench/alloc_counter.h"
#include "core/authorize_request.h"
#include "core/authorize_response.h"
#include "core/breaker.h"
#include "core/decision.h"
#include "core/metric_shard.h"
#include "core/random.h"
#include "core/request_headers.h"
#include "core/txn_id.h"
#include "net/http_session.h"

namespace paystream {
namespace {

constexpr size_t kMaxBodyBytes = 16384;
constexpr uint64_t kStartMs = 1'000'000;              // monotonic clock (uv_now)
constexpr uint64_t kStartUnixMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr size_t kMinWarmup = 256;
constexpr size_t kMaxWarmup = 100'000;

std::string authorize_post() {
  const std::string body =
      R"({"card_number":"4111111111111111","amount":"2450.00","currency":"USD",)"
      R"("merchant":"Amazon Web Services","cardholder_name":"Maria Garcia"})";
  return "POST /v1/authorize HTTP/1.1\r\n"
         "Host: auth.paystream.test\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

enum Stage : size_t { parse, decode, decide, format, respond, record, session_rest, kStages };
constexpr std::array<const char*, kStages> kStageNames = {"parse",   "decode", "decide", "format",
                                                          "respond", "record", "session"};

// The authorize handler's synchronous path (svc/AuthorizeHandler with processor latency 0),
// rebuilt from core/ pieces: bench/ may not include svc/.
class WarmPath final : public net::RequestSink {
 public:
  WarmPath()
      : session_(net::SessionLimits{}, *this, date_, kStartMs),
        decoder_(kMaxBodyBytes),
        rng_(42),
        breaker_(core::BreakerSettings{}, kStartMs),
        shard_(std::make_unique<core::MetricShard>()) {
    body_.reserve(512);  // as the handler does
  }

  // One request in, one response out (left in session().output()).
  void serve(const std::string& request) {
    session_.on_data(request.data(), request.size(), now_ms_);
    mark(session_rest);
    ++served_;
    if ((served_ & 63) == 0) {  // a new millisecond every 64 requests
      ++now_ms_;
      ++unix_ms_;
    }
  }

  net::HttpSession& session() { return session_; }
  uint64_t approved() const { return approved_; }
  uint64_t declined() const { return declined_; }
  // Every decline code the processor draws (their bodies differ in length) has been answered.
  bool seen_every_decline() const { return seen_declines_ == kProcessorDeclines; }
  uint64_t other() const { return other_; }

  // Per-stage allocation counts, taken only while tracing (never in the timed loop).
  void trace(std::array<uint64_t, kStages>* into) {
    trace_ = into;
    last_mark_ = bench::thread_allocations().calls;
  }
  void inject_allocation(bool on) { inject_ = on; }

  void dispatch(const net::Request& request, uint32_t seq) override {
    mark(parse);
    char generated_id[core::kGeneratedRequestIdLength];
    std::string_view request_id = request.header("x-request-id");
    if (!core::is_valid_request_id(request_id)) {
      core::format_request_id(rng_.next(), rng_.next(), generated_id);
      request_id = std::string_view(generated_id, sizeof generated_id);
    }
    if (!core::is_json_utf8_content_type(request.header("content-type"))) {
      body_ = R"({"error":"unsupported_media_type","message":"Content-Type must be JSON"})";
      answer(seq, 415, request_id, core::AuthStatus::invalid, core::ProcessorLabel::unknown);
      return;
    }
    const core::DecodeError error = decoder_.decode(request.body, request_);
    if (inject_) {
      std::string copy(request.body);  // longer than the small-string buffer: one allocation
      benchmark::DoNotOptimize(copy.data());
    }
    mark(decode);
    if (!error.ok()) {
      core::format_invalid_request(error.field, error.message, body_);
      answer(seq, 400, request_id, core::AuthStatus::invalid, core::ProcessorLabel::unknown);
      return;
    }

    char transaction_id[core::kTxnIdLength];
    core::TxnIdEntropy entropy{};
    if (txn_ids_.needs_entropy(unix_ms_)) {
      for (uint8_t& b : entropy) b = static_cast<uint8_t>(rng_.next());
    }
    txn_ids_.next(unix_ms_, entropy, transaction_id);
    const core::ProcessorLabel label = core::processor_label(request_.network);

    core::Decision decision;
    if (core::declined_before_processor(request_)) {
      decision = core::decide(request_, kRates, rng_);
    } else {
      const core::Admission admission = breaker_.admit(now_ms_);
      if (!admission.admitted) {
        core::format_service_error(core::ServiceError::circuit_open,
                                   std::string_view(transaction_id, sizeof transaction_id), body_);
        answer(seq, 503, request_id, core::AuthStatus::rejected, label);
        return;
      }
      const uint32_t latency = core::simulated_latency_ms({.base_ms = 0, .jitter_ms = 0}, rng_);
      benchmark::DoNotOptimize(latency);
      decision = core::decide(request_, kRates, rng_);
      const bool failed = decision.verdict == core::Verdict::processor_error;
      breaker_.report(admission.ticket,
                      failed ? core::CallOutcome::failure : core::CallOutcome::success, now_ms_);
    }
    mark(decide);

    core::AuthorizeResponse response{
        .transaction_id = std::string_view(transaction_id, sizeof transaction_id),
        .verdict = decision.verdict,
        .authorization_code = decision.authorization_code_view(),
        .decline_code = decision.decline_code,
        .processor = request_.network,
        .amount_minor = request_.amount_minor,
        .currency = request_.currency,
        .card_last4 = request_.card.last4(),
        .latency_ms = 0,
        .version = "0.1.0",
    };
    core::format_authorize_response(response, body_);
    mark(format);
    const bool approved = decision.verdict == core::Verdict::approved;
    if (!approved) seen_declines_ |= 1U << static_cast<unsigned>(decision.decline_code);
    answer(seq, 200, request_id, approved ? core::AuthStatus::approved : core::AuthStatus::declined,
           label);
  }

  void protocol_error(int) override { ++other_; }

 private:
  static constexpr core::ProcessorSettings kRates{.success_rate = 0.94, .error_rate = 0.0};
  // insufficient_funds .. limit_exceeded (invalid_card_number is local, never drawn).
  static constexpr unsigned kProcessorDeclines =
      (1U << static_cast<unsigned>(core::DeclineCode::invalid_card_number)) - 1;

  void answer(uint32_t seq, int status, std::string_view request_id, core::AuthStatus outcome,
              core::ProcessorLabel label) {
    const net::ResponseHeader headers[] = {{"X-Request-Id", request_id}};
    session_.complete(seq, net::Response{.status = status, .body = body_, .headers = headers},
                      now_ms_);
    mark(respond);
    shard_->record(outcome, label, 150 + (served_ & 255), now_ms_);
    mark(record);
    approved_ += outcome == core::AuthStatus::approved;
    declined_ += outcome == core::AuthStatus::declined;
    other_ += outcome != core::AuthStatus::approved && outcome != core::AuthStatus::declined;
  }

  void mark(Stage stage) {
    if (trace_ == nullptr) return;
    const uint64_t now = bench::thread_allocations().calls;
    (*trace_)[stage] += now - last_mark_;
    last_mark_ = now;
  }

  const std::string date_ = "Thu, 01 Jan 2026 00:00:00 GMT";
  net::HttpSession session_;
  core::AuthorizeDecoder decoder_;
  core::AuthorizeRequest request_;
  core::Xoshiro256 rng_;
  core::TxnIdGenerator txn_ids_;
  core::CircuitBreaker breaker_;
  std::unique_ptr<core::MetricShard> shard_;
  std::string body_;  // the response body; its capacity is reused
  uint64_t now_ms_ = kStartMs;
  uint64_t unix_ms_ = kStartUnixMs;
  uint64_t served_ = 0;
  uint64_t approved_ = 0;
  uint64_t declined_ = 0;
  uint64_t other_ = 0;
  unsigned seen_declines_ = 0;
  bool inject_ = false;
  std::array<uint64_t, kStages>* trace_ = nullptr;
  uint64_t last_mark_ = 0;
};

bool injection_requested() {
  const char* value = std::getenv("PAYSTREAM_BENCH_INJECT_ALLOCATION");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

void BM_WarmRequestPath(benchmark::State& state) {
  const std::string request = authorize_post();
  auto path = std::make_unique<WarmPath>();
  net::HttpSession& session = path->session();

  // Warm-up: every buffer reaches its working size, so every answer shape must have been written
  // once: an approval and each decline code.
  size_t warmup = 0;
  while (warmup < kMinWarmup ||
         ((path->approved() == 0 || !path->seen_every_decline()) && warmup < kMaxWarmup)) {
    path->serve(request);
    session.output().clear();
    ++warmup;
  }
  path->serve(request);
  const std::string_view sample = session.output();
  if (sample.substr(0, 16) != "HTTP/1.1 200 OK\r" ||
      sample.find("\"status\":\"") == std::string_view::npos || path->other() != 0) {
    bench::fail_run(state, "the warm path did not answer 200 with an authorization");
    return;
  }
  session.output().clear();
  path->inject_allocation(injection_requested());

  uint64_t unanswered = 0;
  const uint64_t process_before = bench::process_allocations();
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    path->serve(request);
    unanswered += session.output().empty();
    session.output().clear();
  }
  // Both read before report(), whose counters allocate.
  const uint64_t process_used = bench::process_allocations() - process_before;
  const bench::AllocationCount used = meter.report(state);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request.size()));
  state.counters["request_bytes"] = static_cast<double>(request.size());
  state.counters["warmup_requests"] = static_cast<double>(warmup);

  if (unanswered != 0 || path->other() != 0) {
    bench::fail_run(state, std::to_string(unanswered) + " requests got no response and " +
                               std::to_string(path->other()) + " were not authorized");
    return;
  }
  if (used.calls == 0 && process_used == 0) return;

  // Attribute the allocations: the same path again, traced stage by stage.
  std::array<uint64_t, kStages> by_stage{};
  path->trace(&by_stage);
  constexpr int kTraced = 1000;
  for (int i = 0; i < kTraced; ++i) {
    path->serve(request);
    session.output().clear();
  }
  path->trace(nullptr);
  std::string stages;
  for (size_t s = 0; s < kStages; ++s) {
    if (!stages.empty()) stages += ", ";
    stages += kStageNames[s];
    stages += ' ';
    stages += std::to_string(by_stage[s]);
  }
  bench::fail_run(state, "warm request path allocated: " + std::to_string(used.calls) +
                             " allocations on this thread (" + std::to_string(process_used) +
                             " process-wide) in " + std::to_string(state.iterations()) +
                             " requests after " + std::to_string(warmup) +
                             " warm-up requests; per stage over " + std::to_string(kTraced) +
                             " more: " + stages);
}
BENCHMARK(BM_WarmRequestPath);

}  // namespace
}  // namespace paystream
