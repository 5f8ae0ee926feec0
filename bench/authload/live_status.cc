#include "bench/authload/live_status.h"

#include <cstdio>

namespace paystream::bench {

std::string LiveStatus::line(double elapsed_s, double duration_s, const LiveCounts& counts) {
  char text[200];
  if (elapsed_s < 0) {
    std::snprintf(text, sizeof text, "authload [warm-up %5.1fs]", elapsed_s);
    return text;
  }
  double rate = 0;
  if (has_last_ && elapsed_s > last_elapsed_s_) {
    rate = static_cast<double>(counts.sent - last_sent_) / (elapsed_s - last_elapsed_s_);
  } else if (elapsed_s > 0) {
    rate = static_cast<double>(counts.sent) / elapsed_s;
  }
  has_last_ = true;
  last_sent_ = counts.sent;
  last_elapsed_s_ = elapsed_s;
  const double p99_ms = static_cast<double>(counts.latency.value_at_percentile(99)) / 1e6;
  const char* phase = elapsed_s > duration_s ? " draining" : "";
  std::snprintf(text, sizeof text,
                "authload [%5.1fs/%.1fs%s] sent %.0f/s  p99 %.3f ms  responses %llu  errors %llu",
                elapsed_s, duration_s, phase, rate, p99_ms,
                static_cast<unsigned long long>(counts.responses),
                static_cast<unsigned long long>(counts.errors));
  return text;
}

}  // namespace paystream::bench
