#pragma once
// The one-line progress report printed on stderr once per second.

#include <cstdint>
#include <string>

#include "bench/authload/histogram.h"

namespace paystream::bench {

// Measured-phase counts so far, over every thread.
struct LiveCounts {
  uint64_t sent = 0;
  uint64_t responses = 0;
  uint64_t errors = 0;
  Histogram latency;
};

class LiveStatus {
 public:
  // `elapsed_s` counts from the start of the measured phase: negative during warm-up.
  std::string line(double elapsed_s, double duration_s, const LiveCounts& counts);

 private:
  uint64_t last_sent_ = 0;
  double last_elapsed_s_ = 0;
  bool has_last_ = false;
};

}  // namespace paystream::bench
