#pragma once
// How a run is divided: requests and connections among client threads, and requests between
// the two targets. Pure arithmetic, so every share is exact and testable.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace paystream::bench {

// Requests are numbered globally 0, 1, 2, … and request i is due at start + i / rate. Thread
// `index` of `count` sends the requests i with i % count == index: how many of the first
// `total` that is.
uint64_t thread_share(uint64_t total, size_t index, size_t count);

// Connections per thread and target, [thread][target]: threads get equal shares (the first
// ones one more), and within a thread the second target gets `weight` percent, rounded, but at
// least one connection whenever its weight is not 0 (and the first one too unless it is 100).
std::vector<std::vector<size_t>> split_connections(size_t connections, size_t threads,
                                                   size_t targets, int weight);

// The fewest connections that split_connections can honour.
size_t min_connections(size_t threads, size_t targets, int weight);

// Smooth weighted round-robin between two targets: exactly `weight` of every 100 consecutive
// picks go to target 1, spread evenly.
class WeightedSplit {
 public:
  explicit WeightedSplit(int weight) : weight_(weight) {}
  size_t next() {
    credit_ += weight_;
    if (credit_ >= 100) {
      credit_ -= 100;
      return 1;
    }
    return 0;
  }

 private:
  int weight_;
  int credit_ = 0;
};

}  // namespace paystream::bench
