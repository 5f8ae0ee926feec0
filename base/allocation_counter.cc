#include "base/allocation_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace paystream::base::test_support {
namespace {

std::atomic<long> allocation_count{0};

void* counted_malloc(std::size_t size) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

}  // namespace

long allocations_so_far() {
  return allocation_count.load(std::memory_order_relaxed);
}

}  // namespace paystream::base::test_support

using paystream::base::test_support::counted_malloc;

void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
