#include "net/log_rate_limiter.h"

namespace paystream::net::log {

RateLimiter::Decision RateLimiter::admit(uint64_t now_ms) {
  // A clock that goes backwards (never for a monotonic one) starts a new window too.
  if (!started_ || now_ms >= window_start_ms_ + window_ms_ || now_ms < window_start_ms_) {
    started_ = true;
    window_start_ms_ = now_ms;
    written_in_window_ = 0;
  }
  if (max_lines_ != 0 && written_in_window_ >= max_lines_) {
    ++suppressed_;
    return {};
  }
  ++written_in_window_;
  Decision d{.write = true, .suppressed = suppressed_};
  suppressed_ = 0;
  return d;
}

}  // namespace paystream::net::log
