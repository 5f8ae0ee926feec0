#include "bench/alloc_counter.h"

#include <errno.h>
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

// mimalloc, when linked (weak: the benchmark also links without it). libmimalloc.so is a
// DT_NEEDED library ahead of libc, so when these resolve, every allocation function this file
// does not define is mimalloc's as well.
extern "C" {
void* mi_malloc(size_t size) noexcept __attribute__((weak));
void* mi_calloc(size_t count, size_t size) noexcept __attribute__((weak));
void* mi_realloc(void* p, size_t size) noexcept __attribute__((weak));
void* mi_reallocarray(void* p, size_t count, size_t size) noexcept __attribute__((weak));
void mi_free(void* p) noexcept __attribute__((weak));
void* mi_malloc_aligned(size_t size, size_t alignment) noexcept __attribute__((weak));
void* mi_aligned_alloc(size_t alignment, size_t size) noexcept __attribute__((weak));
int mi_posix_memalign(void** p, size_t alignment, size_t size) noexcept __attribute__((weak));
void* mi_memalign(size_t alignment, size_t size) noexcept __attribute__((weak));
void* mi_valloc(size_t size) noexcept __attribute__((weak));
void* mi_pvalloc(size_t size) noexcept __attribute__((weak));
bool mi_is_in_heap_region(const void* p) noexcept __attribute__((weak));

// glibc's own allocator under its internal names (exported for exactly this purpose).
// NOLINTBEGIN(bugprone-reserved-identifier): glibc's names, declared as it exports them.
void* __libc_malloc(size_t size) noexcept;
void* __libc_calloc(size_t count, size_t size) noexcept;
void* __libc_realloc(void* p, size_t size) noexcept;
void __libc_free(void* p) noexcept;
void* __libc_memalign(size_t alignment, size_t size) noexcept;
void* __libc_valloc(size_t size) noexcept;
void* __libc_pvalloc(size_t size) noexcept;
// NOLINTEND(bugprone-reserved-identifier)
}

namespace {

// Constant-initialised thread-locals of the executable: no guard, no TLS allocation, so they are
// safe to touch inside malloc.
thread_local uint64_t t_calls = 0;
thread_local uint64_t t_bytes = 0;
std::atomic<uint64_t> g_calls{0};
std::atomic<int> g_failed_runs{0};

bool use_mimalloc() {
  return mi_malloc != nullptr;
}

inline void count(size_t bytes) {
  ++t_calls;
  t_bytes += bytes;
  g_calls.fetch_add(1, std::memory_order_relaxed);
}

void* raw_malloc(size_t size) {
  return use_mimalloc() ? mi_malloc(size) : __libc_malloc(size);
}

void* raw_aligned(size_t alignment, size_t size) {
  return use_mimalloc() ? mi_malloc_aligned(size, alignment) : __libc_memalign(alignment, size);
}

void raw_free(void* p) {
  if (use_mimalloc()) {
    mi_free(p);
  } else {
    __libc_free(p);
  }
}

bool valid_posix_alignment(size_t alignment) {
  return alignment % sizeof(void*) == 0 && (alignment & (alignment - 1)) == 0 && alignment != 0;
}

// operator new: counted once, then the allocator directly, with the standard new-handler loop.
void* counted_new(size_t size) {
  count(size);
  if (size == 0) size = 1;
  while (true) {
    if (void* p = raw_malloc(size)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* counted_new(size_t size, std::align_val_t alignment) {
  count(size);
  if (size == 0) size = 1;
  while (true) {
    if (void* p = raw_aligned(static_cast<size_t>(alignment), size)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

template <typename F>
void* no_throw(F&& allocate) noexcept {
  try {
    return allocate();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

}  // namespace

// ---- the malloc family -------------------------------------------------------------------------

extern "C" {

void* malloc(size_t size) noexcept {
  count(size);
  return raw_malloc(size);
}

void* calloc(size_t count_, size_t size) noexcept {
  count(count_ * size);
  return use_mimalloc() ? mi_calloc(count_, size) : __libc_calloc(count_, size);
}

void* realloc(void* p, size_t size) noexcept {
  count(size);
  return use_mimalloc() ? mi_realloc(p, size) : __libc_realloc(p, size);
}

void* reallocarray(void* p, size_t count_, size_t size) noexcept {
  count(count_ * size);
  if (use_mimalloc()) return mi_reallocarray(p, count_, size);
  size_t bytes = 0;
  if (__builtin_mul_overflow(count_, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_realloc(p, bytes);
}

void free(void* p) noexcept {
  raw_free(p);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  count(size);
  return use_mimalloc() ? mi_aligned_alloc(alignment, size) : __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  count(size);
  if (use_mimalloc()) return mi_posix_memalign(out, alignment, size);
  if (!valid_posix_alignment(alignment)) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* memalign(size_t alignment, size_t size) noexcept {
  count(size);
  return use_mimalloc() ? mi_memalign(alignment, size) : __libc_memalign(alignment, size);
}

void* valloc(size_t size) noexcept {
  count(size);
  return use_mimalloc() ? mi_valloc(size) : __libc_valloc(size);
}

void* pvalloc(size_t size) noexcept {
  count(size);
  return use_mimalloc() ? mi_pvalloc(size) : __libc_pvalloc(size);
}

}  // extern "C"

// ---- operator new and delete, every form -------------------------------------------------------

void* operator new(size_t size) {
  return counted_new(size);
}
void* operator new[](size_t size) {
  return counted_new(size);
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return no_throw([size] { return counted_new(size); });
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return no_throw([size] { return counted_new(size); });
}
void* operator new(size_t size, std::align_val_t alignment) {
  return counted_new(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment) {
  return counted_new(size, alignment);
}
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return no_throw([size, alignment] { return counted_new(size, alignment); });
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return no_throw([size, alignment] { return counted_new(size, alignment); });
}

void operator delete(void* p) noexcept {
  raw_free(p);
}
void operator delete[](void* p) noexcept {
  raw_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  raw_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  raw_free(p);
}
void operator delete(void* p, size_t) noexcept {
  raw_free(p);
}
void operator delete[](void* p, size_t) noexcept {
  raw_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  raw_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  raw_free(p);
}
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  raw_free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  raw_free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  raw_free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  raw_free(p);
}

// ---- the interface -----------------------------------------------------------------------------

namespace paystream::bench {

AllocationCount thread_allocations() {
  return {t_calls, t_bytes};
}

uint64_t process_allocations() {
  return g_calls.load(std::memory_order_relaxed);
}

std::string_view allocator_backend() {
  return use_mimalloc() ? "mimalloc" : "glibc";
}

namespace {

// One allocation through `allocate`, released through `release`: "" when it was counted exactly
// once (and landed in mimalloc's heap when mimalloc is the backend), else what went wrong.
template <typename Allocate, typename Release>
std::string check_one(const char* what, Allocate&& allocate, Release&& release) {
  const uint64_t before = t_calls;
  void* p = allocate();
  benchmark::DoNotOptimize(p);
  const uint64_t counted = t_calls - before;
  const bool in_mimalloc = !use_mimalloc() || (p != nullptr && mi_is_in_heap_region(p));
  release(p);
  std::string problem;
  if (p == nullptr) {
    problem = std::string(what) + " returned null";
  } else if (counted != 1) {
    problem = std::string(what) + " was counted " + std::to_string(counted) + " times, not once";
  } else if (!in_mimalloc) {
    problem = std::string(what) + " did not come from mimalloc's heap";
  }
  return problem;
}

}  // namespace

std::string alloc_counter_self_check() {
  const std::string problems[] = {
      check_one(
          "operator new", [] { return static_cast<void*>(new char[1]{}); },
          [](void* p) { delete[] static_cast<char*>(p); }),
      check_one(
          "operator new(size)", [] { return ::operator new(24); },
          [](void* p) { ::operator delete(p); }),
      check_one(
          "aligned operator new", [] { return ::operator new (24, std::align_val_t{64}); },
          [](void* p) { ::operator delete (p, std::align_val_t{64}); }),
      check_one(
          "malloc", [] { return std::malloc(24); }, [](void* p) { std::free(p); }),
      check_one(
          "calloc", [] { return std::calloc(3, 8); }, [](void* p) { std::free(p); }),
      check_one(
          "realloc", [] { return std::realloc(nullptr, 24); }, [](void* p) { std::free(p); }),
      check_one(
          "aligned_alloc", [] { return std::aligned_alloc(64, 64); },
          [](void* p) { std::free(p); }),
  };
  std::string all;
  for (const std::string& problem : problems) {
    if (problem.empty()) continue;
    if (!all.empty()) all += "; ";
    all += problem;
  }
  return all;
}

AllocationCount AllocationMeter::report(benchmark::State& state) const {
  const AllocationCount used = elapsed();
  state.counters["allocs_per_op"] =
      benchmark::Counter(static_cast<double>(used.calls), benchmark::Counter::kAvgIterations);
  state.counters["alloc_bytes_per_op"] =
      benchmark::Counter(static_cast<double>(used.bytes), benchmark::Counter::kAvgIterations);
  return used;
}

void fail_run(benchmark::State& state, const std::string& message) {
  g_failed_runs.fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "paystream-bench: FAILED: %s\n", message.c_str());
  state.SkipWithError(message.c_str());
}

int failed_runs() {
  return g_failed_runs.load(std::memory_order_relaxed);
}

}  // namespace paystream::bench
