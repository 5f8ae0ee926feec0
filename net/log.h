#pragma once
// JSON-line logs on stderr: {"ts":…,"level":…,"msg":…, fields…}. Each line is one
// write(2), so lines from different threads never interleave.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/log_level.h"

namespace paystream::net::log {

using Level = base::LogLevel;

void set_level(Level level);
bool enabled(Level level);

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
