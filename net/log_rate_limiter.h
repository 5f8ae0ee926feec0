#pragma once
// Rate limit for one kind of request-path log line on one thread (a reactor's 5xx
// lines, the admin port's refusals): at most `max_lines` per window (0: no limit),
// the rest suppressed and counted. The count is handed back with the next line admitted in
// a later window, so the caller writes one "log lines suppressed" line before it.
// Pure: the caller passes the time; not thread-safe (one per reactor and kind).

#include <cstdint>

namespace paystream::net::log {

class RateLimiter {
 public:
  struct Decision {
    bool write = false;       // write this line
    uint64_t suppressed = 0;  // lines suppressed before it, to report first (0: none)
  };

  explicit RateLimiter(uint32_t max_lines, uint64_t window_ms = 1000)
      : max_lines_(max_lines), window_ms_(window_ms) {}

  Decision admit(uint64_t now_ms);

  // Suppressed and not yet reported.
  uint64_t pending_suppressed() const { return suppressed_; }

 private:
  uint32_t max_lines_;
  uint64_t window_ms_;
  bool started_ = false;
  uint64_t window_start_ms_ = 0;
  uint32_t written_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace paystream::net::log
