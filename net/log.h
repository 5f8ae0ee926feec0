#pragma once
// JSON-line logs on stderr: {"ts":…,"level":…,"msg":…, fields…}. A finished line goes
// into a bounded queue (net/log_queue.h) that one writer thread drains to stderr, so
// lines never interleave and a logging thread never waits for stderr: when the queue
// is full the line is dropped and counted (lines_dropped()). The queue is flushed at
// exit (for up to a second).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/log_level.h"
#include "net/log_rate_limiter.h"

namespace paystream::net::log {

using Level = base::LogLevel;

void set_level(Level level);
bool enabled(Level level);

// Waits until every line logged so far is written to stderr; false after `timeout`
// (stderr blocked). Runs at exit by itself; call it before std::_Exit.
bool flush(std::chrono::milliseconds timeout);

// For a rate-limited kind of line: true when this one may be written. First writes one
// "log lines suppressed" line with the kind and the count when the limiter held some back.
bool admit(RateLimiter& limiter, std::string_view kind, uint64_t now_ms);

// Lines lost since start: the queue was full, or stderr failed.
uint64_t lines_dropped();

// Builds one line; writes it when destroyed. Keys, the message and str() values are escaped by
// base::append_json_string, so the line is valid JSON whatever bytes they hold.
class Line {
 public:
  Line(Level level, std::string_view msg);
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line();

  Line& str(std::string_view key, std::string_view value);
  Line& num(std::string_view key, int64_t value);
  Line& real(std::string_view key, double value);
  Line& boolean(std::string_view key, bool value);
  // `json` must already be valid JSON (an object, array or literal).
  Line& raw(std::string_view key, std::string_view json);

 private:
  Line& key(std::string_view k);
  bool on_;
  std::string text_;
};

inline Line debug(std::string_view msg) {
  return Line(Level::debug, msg);
}
inline Line info(std::string_view msg) {
  return Line(Level::info, msg);
}
inline Line warn(std::string_view msg) {
  return Line(Level::warn, msg);
}
inline Line error(std::string_view msg) {
  return Line(Level::error, msg);
}

}  // namespace paystream::net::log
