#include "bench/authload/load_plan.h"

#include <cmath>

namespace paystream::bench {

uint64_t thread_share(uint64_t total, size_t index, size_t count) {
  if (count == 0 || total <= index) return 0;
  return (total - index + count - 1) / count;
}

size_t min_connections(size_t threads, size_t targets, int weight) {
  const bool both_used = targets == 2 && weight > 0 && weight < 100;
  return threads * (both_used ? 2 : 1);
}

std::vector<std::vector<size_t>> split_connections(size_t connections, size_t threads,
                                                   size_t targets, int weight) {
  std::vector<std::vector<size_t>> split(threads, std::vector<size_t>(targets, 0));
  for (size_t t = 0; t < threads; ++t) {
    const size_t mine = connections / threads + (t < connections % threads ? 1 : 0);
    if (targets == 1) {
      split[t][0] = mine;
      continue;
    }
    size_t second = static_cast<size_t>(std::llround(static_cast<double>(mine) * weight / 100.0));
    if (weight > 0 && second == 0) second = 1;
    if (weight < 100 && second == mine && mine > 0) second = mine - 1;
    split[t][1] = second;
    split[t][0] = mine - second;
  }
  return split;
}

}  // namespace paystream::bench
