// paystream-bench's main(): checks that allocation counting works before any figure is taken,
// records the build's context (allocator, simdjson kernels, instruction set) in the report, runs
// the selected benchmarks, and exits 1 when any of them failed a correctness check (fail_run),
// e.g. the warm request path allocating. Google Benchmark 1.7.1's own BENCHMARK_MAIN exits 0 even
// after SkipWithError, which is why this main exists.

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <string>

#include "bench/alloc_counter.h"

namespace paystream::bench {
namespace {

// The x86 extensions this build may use (compile-time, from -march and friends).
std::string instruction_set() {
  std::string isa;
  const auto add = [&isa](bool on, const char* name) {
    if (!on) return;
    if (!isa.empty()) isa += ' ';
    isa += name;
  };
#if defined(__x86_64__)
  bool sse42 = false, pclmul = false, avx2 = false, bmi2 = false, lzcnt = false, avx512 = false;
#if defined(__SSE4_2__)
  sse42 = true;
#endif
#if defined(__PCLMUL__)
  pclmul = true;
#endif
#if defined(__AVX2__)
  avx2 = true;
#endif
#if defined(__BMI2__)
  bmi2 = true;
#endif
#if defined(__LZCNT__)
  lzcnt = true;
#endif
#if defined(__AVX512F__)
  avx512 = true;
#endif
  add(sse42, "sse4.2");
  add(pclmul, "pclmul");
  add(avx2, "avx2");
  add(bmi2, "bmi2");
  add(lzcnt, "lzcnt");
  add(avx512, "avx512f");
#endif
  return isa.empty() ? "baseline" : isa;
}

// The harness itself: one allocation per iteration must read as allocs_per_op = 1, none as 0.
void BM_AllocCounterOverhead(benchmark::State& state) {
  const bool allocate = state.range(0) != 0;
  AllocationMeter meter;
  for ([[maybe_unused]] auto _ : state) {
    if (allocate) {
      void* p = ::operator new(64);
      void* volatile escaped = p;  // the allocation cannot be elided
      ::operator delete(escaped);
    }
  }
  const AllocationCount used = meter.report(state);
  const uint64_t expected = allocate ? static_cast<uint64_t>(state.iterations()) : 0;
  if (used.calls != expected) {
    fail_run(state, "allocation counter: " + std::to_string(used.calls) + " allocations in " +
                        std::to_string(state.iterations()) + " iterations, expected " +
                        std::to_string(expected));
  }
}
BENCHMARK(BM_AllocCounterOverhead)->ArgName("new_delete")->Arg(0)->Arg(1);

}  // namespace
}  // namespace paystream::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const std::string problem = paystream::bench::alloc_counter_self_check();
  if (!problem.empty()) {
    std::fprintf(stderr, "paystream-bench: allocation counting does not work: %s\n",
                 problem.c_str());
    return 1;
  }
  benchmark::AddCustomContext("allocator", std::string(paystream::bench::allocator_backend()) +
                                               " (operator new and malloc family counted)");
  // On-Demand's inlined code (stage 2: values, strings, numbers) is the kernel chosen at compile
  // time; its structural indexing (stage 1) runs in libsimdjson.so, chosen at run time from the
  // CPU (SIMDJSON_FORCE_IMPLEMENTATION=<name> overrides it).
  benchmark::AddCustomContext("simdjson_kernel",
                              SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
  benchmark::AddCustomContext("simdjson_stage1",
                              std::string(simdjson::get_active_implementation()->name()));
  benchmark::AddCustomContext("instruction_set", paystream::bench::instruction_set());

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  const int failed = paystream::bench::failed_runs();
  if (failed > 0) {
    std::fprintf(stderr, "paystream-bench: %d benchmark run(s) failed their checks\n", failed);
    return 1;
  }
  return 0;
}
