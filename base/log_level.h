#pragma once
// Log severity: the names configuration accepts (LOG_LEVEL) and log lines show ("level").

#include <array>
#include <optional>
#include <string_view>

namespace paystream::base {

// Ordered: a level is logged when it is at least the configured one.
enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

inline constexpr std::array kLogLevels = {LogLevel::debug, LogLevel::info, LogLevel::warn,
                                          LogLevel::error};

constexpr std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

// The level named exactly `name` (lowercase), or nullopt.
constexpr std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (LogLevel level : kLogLevels) {
    if (name == log_level_name(level)) return level;
  }
  return std::nullopt;
}

}  // namespace paystream::base
