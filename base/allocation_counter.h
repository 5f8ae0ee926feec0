#pragma once
// Test support: counts calls of the global operator new, so a test can assert that a warm path
// allocates nothing. Link allocation_counter.cc (it replaces operator new/delete) into the test.

namespace paystream::base::test_support {

long allocations_so_far();

// Allocations made by the whole process since construction.
class AllocationCounter {
 public:
  AllocationCounter() : start_(allocations_so_far()) {}
  long count() const { return allocations_so_far() - start_; }

 private:
  long start_;
};

}  // namespace paystream::base::test_support
