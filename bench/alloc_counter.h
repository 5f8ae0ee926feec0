#pragma once
// Allocation counting for the micro-benchmarks (linked into paystream-bench only).
//
// alloc_counter.cc replaces every form of the global operator new/delete and interposes the
// malloc family (malloc, calloc, realloc, reallocarray, free, aligned_alloc, posix_memalign,
// memalign, valloc, pvalloc). The executable's definitions win over every shared library's, so
// calls from libstdc++, simdjson, libuv and llhttp are counted too. Each counted call forwards to
// mimalloc when it is in the process (paystream-bench links it like the service: mimalloc still
// serves every block) and to glibc's __libc_* functions otherwise. operator new counts once and
// calls the allocator directly, so it is not counted again as a malloc.
//
// Counters are per thread (plain thread-locals, no contention) plus one process-wide total.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace paystream::bench {

struct AllocationCount {
  uint64_t calls = 0;  // operator new and malloc-family calls (realloc counts as one)
  uint64_t bytes = 0;  // bytes requested by those calls
};

// The calling thread's allocations since it started.
AllocationCount thread_allocations();
// Every thread's allocation calls since the process started.
uint64_t process_allocations();

// "mimalloc" or "glibc": where the counted calls are forwarded.
std::string_view allocator_backend();

// Empty when counting works: a fresh operator new, new[], aligned new and malloc-family call are
// each counted exactly once (and, with mimalloc, land in mimalloc's heap). Otherwise the problem.
std::string alloc_counter_self_check();

// The calling thread's allocations from construction to report(). Construct it right before the
// timed loop, call report() right after: counters "allocs_per_op" and "alloc_bytes_per_op" (with
// ->Threads(n), summed over the threads and divided by every thread's iterations).
class AllocationMeter {
 public:
  AllocationMeter() : start_(thread_allocations()) {}

  AllocationCount elapsed() const {
    const AllocationCount now = thread_allocations();
    return {now.calls - start_.calls, now.bytes - start_.bytes};
  }

  AllocationCount report(benchmark::State& state) const;

 private:
  AllocationCount start_;
};

// A benchmark whose correctness check failed (not a timing): SkipWithError(message), the message
// on stderr, and paystream-bench's main() exits 1 once every selected benchmark has run.
void fail_run(benchmark::State& state, const std::string& message);
int failed_runs();

}  // namespace paystream::bench
