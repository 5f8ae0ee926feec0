// The shared circuit breaker: admit + report of one processor call, single-threaded and with
// several reactors hammering the same breaker (->ThreadRange: 1, 2, 4 threads on one instance).
// With several threads the reported time is wall time over every thread's calls together, i.e.
// the inverse of the aggregate throughput.

#include <benchmark/benchmark.h>

#include <memory>

#include "bench/alloc_counter.h"
#include "core/breaker.h"

namespace paystream::core {
namespace {

constexpr uint64_t kNowMs = 1'000'000;

// One breaker for every thread of a run: constructed by the first thread to get here (the
// statics' guard), reused by later runs, always closed (every call succeeds).
CircuitBreaker& shared_breaker() {
  static CircuitBreaker breaker(BreakerSettings{}, kNowMs);
  return breaker;
}

void BM_BreakerAdmitReport(benchmark::State& state) {
  CircuitBreaker& breaker = shared_breaker();
  uint64_t rejected = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const Admission admission = breaker.admit(kNowMs);
    if (!admission.admitted) {
      ++rejected;
      continue;
    }
    const ReportResult result = breaker.report(admission.ticket, CallOutcome::success, kNowMs);
    benchmark::DoNotOptimize(result);
  }
  meter.report(state);
  if (rejected != 0) bench::fail_run(state, "a closed breaker rejected calls");
}
BENCHMARK(BM_BreakerAdmitReport)->ThreadRange(1, 4)->UseRealTime();

// An open breaker turning calls away (the fast path during an outage).
void BM_BreakerRejectOpen(benchmark::State& state) {
  const BreakerSettings settings{.failure_threshold = 5, .open_timeout_ms = 30'000};
  auto breaker = std::make_unique<CircuitBreaker>(settings, kNowMs);
  for (uint32_t i = 0; i < settings.failure_threshold; ++i) {
    const Admission a = breaker->admit(kNowMs);
    breaker->report(a.ticket, CallOutcome::failure, kNowMs);
  }
  uint64_t admitted = 0;
  bench::AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    const Admission admission = breaker->admit(kNowMs + 1);
    admitted += admission.admitted;
    benchmark::DoNotOptimize(admission);
  }
  meter.report(state);
  if (admitted != 0) bench::fail_run(state, "an open breaker admitted calls");
}
BENCHMARK(BM_BreakerRejectOpen);

}  // namespace
}  // namespace paystream::core
