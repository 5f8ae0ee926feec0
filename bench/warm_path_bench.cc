// The whole warm request path of POST /v1/authorize without sockets, as one reactor runs it with
// the simulated processor answering at once (latency 0): a 247-byte request fed to an
// HttpSession → parse → dispatch → the service's own authorize pipeline
// (core::AuthorizePipeline: request id, Content-Type check, decode and validation, transaction
// id, breaker admit, decide, breaker report, format, record into the MetricShard) → the session
// frames and writes the response.
//
// It is also a correctness check: once warm, the path must not allocate. Any allocation (on this
// thread or any other) during the timed loop fails the run through fail_run(): SkipWithError with
// the count per stage, and paystream-bench exits 1. `meson test warm_request_path_allocations`
// runs it on every tools/test. Setting PAYSTREAM_BENCH_INJECT_ALLOCATION=1 makes the authorize
// stage allocate once per request, to show the check fires (test
// warm_request_path_detects_allocation, expected to fail).
//
// Not modelled: the source of a transaction id's entropy once per millisecond (a PRNG supplies it
// here), the reactor's timers and the socket write itself.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "bench/alloc_counter.h"
#include "bench/authorize_post.h"
#include "core/authorize_pipeline.h"
#include "core/authorize_shared.h"
#include "core/decision.h"
#include "core/metric_shard.h"
#include "core/random.h"
#include "net/http_session.h"

namespace paystream {
namespace {

constexpr size_t kMaxBodyBytes = 16384;
constexpr uint64_t kStartMs = 1'000'000;              // monotonic clock
constexpr uint64_t kStartUnixMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr size_t kMinWarmup = 256;
constexpr size_t kMaxWarmup = 100'000;

using bench::authorize_post;

enum Stage : size_t { parse, authorize, respond, session_rest, kStages };
constexpr std::array<const char*, kStages> kStageNames = {"parse", "authorize", "respond",
                                                          "session"};

void prng_entropy(std::span<uint8_t> out, void* rng) {
  for (uint8_t& b : out) b = static_cast<uint8_t>(static_cast<core::Xoshiro256*>(rng)->next());
}

// One reactor's authorize route: the session hands each request to the pipeline, which answers
// at once (processor latency 0).
class WarmPath final : public net::RequestSink {
 public:
  WarmPath()
      : session_(net::SessionLimits{}, *this, date_, kStartMs),
        shared_(core::BreakerSettings{}, kStartMs),
        shard_(std::make_unique<core::MetricShard>()),
        entropy_rng_(7),
        pipeline_(configure(shared_), *shard_, 42, prng_entropy, &entropy_rng_) {}

  // One request in, one response out (left in session().output()).
  void serve(const std::string& request) {
    session_.on_data(request.data(), request.size(), now_ms_);
    mark(session_rest);
    ++served_;
    if ((served_ & 63) == 0) ++now_ms_;  // a new millisecond every 64 requests
  }

  net::HttpSession& session() { return session_; }
  uint64_t approved() const { return approved_; }
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
    if (inject_) {
      std::string copy(request.body);  // longer than the small-string buffer: one allocation
      benchmark::DoNotOptimize(copy.data());
    }
    const core::AuthorizeStep step = pipeline_.begin(
        {.content_type = request.header("content-type"),
         .request_id = request.header("x-request-id"),
         .body = request.body},
        {.monotonic_ns = now_ms_ * 1'000'000 + served_, .unix_ms = kStartUnixMs + now_ms_});
    mark(authorize);
    if (step.kind != core::AuthorizeStep::Kind::respond || step.status != 200) {
      ++other_;
    } else if (step.body.find(R"("status":"approved")") != std::string_view::npos) {
      ++approved_;
    } else {
      note_decline(step.body);
    }
    const net::ResponseHeader headers[] = {{"X-Request-Id", step.request_id}};
    session_.complete(
        seq, net::Response{.status = step.status, .body = step.body, .headers = headers}, now_ms_);
    mark(respond);
  }

  void protocol_error(int) override { ++other_; }

 private:
  // insufficient_funds .. limit_exceeded (invalid_card_number is local, never drawn).
  static constexpr unsigned kProcessorDeclines =
      (1U << static_cast<unsigned>(core::DeclineCode::invalid_card_number)) - 1;

  static core::AuthorizeShared& configure(core::AuthorizeShared& shared) {
    shared.environment = {.latency_ms = 0, .jitter_ms = 0, .success_rate = 0.94, .error_rate = 0};
    shared.version = "bench";
    return shared;
  }

  void note_decline(std::string_view body) {
    for (unsigned code = 0; code < static_cast<unsigned>(core::DeclineCode::invalid_card_number);
         ++code) {
      const std::string_view name = core::decline_code_name(static_cast<core::DeclineCode>(code));
      const size_t at = body.find(name);
      if (at != std::string_view::npos && at > 0 && body[at - 1] == '"') {
        seen_declines_ |= 1U << code;
      }
    }
  }

  void mark(Stage stage) {
    if (trace_ == nullptr) return;
    const uint64_t now = bench::thread_allocations().calls;
    (*trace_)[stage] += now - last_mark_;
    last_mark_ = now;
  }

  const std::string date_ = "Thu, 01 Jan 2026 00:00:00 GMT";
  net::HttpSession session_;
  core::AuthorizeShared shared_;
  std::unique_ptr<core::MetricShard> shard_;
  core::Xoshiro256 entropy_rng_;
  core::AuthorizePipeline pipeline_;
  uint64_t now_ms_ = kStartMs;
  uint64_t served_ = 0;
  uint64_t approved_ = 0;
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
