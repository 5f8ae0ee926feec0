#include "base/log_level.h"

#include <gtest/gtest.h>

namespace paystream::base {
namespace {

TEST(LogLevel, NamesRoundTrip) {
  for (LogLevel level : kLogLevels) EXPECT_EQ(parse_log_level(log_level_name(level)), level);
  EXPECT_EQ(log_level_name(LogLevel::warn), "warn");
}

TEST(LogLevel, OnlyExactLowercaseNames) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("DEBUG"), std::nullopt);
  EXPECT_EQ(parse_log_level("warning"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
}

TEST(LogLevel, OrderedBySeverity) {
  EXPECT_LT(LogLevel::debug, LogLevel::info);
  EXPECT_LT(LogLevel::info, LogLevel::warn);
  EXPECT_LT(LogLevel::warn, LogLevel::error);
}

}  // namespace
}  // namespace paystream::base
