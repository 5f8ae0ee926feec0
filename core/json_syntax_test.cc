#include "core/json_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

TEST(JsonNumber, AcceptsRfc8259Numbers) {
  for (std::string_view token :
       {"0", "-0", "1", "-1", "10", "1.5", "-1.5", "0.0", "1e5", "1E5", "1e+5", "1e-5", "1.25E-10",
        "0e0", "-0.0e-0", "123456789012345678901234567890", "1e999999"}) {
    EXPECT_TRUE(is_json_number(token)) << token;
  }
  EXPECT_TRUE(is_json_number(std::string(1000, '7')));
}

TEST(JsonNumber, RejectsEverythingElse) {
  for (std::string_view token :
       {"",    "-",     "01",    "-01",  "00",       "1.",        ".1",   "+1", "1e", "1e+",
        "1E-", "0x1",   "1.2.3", "1..2", "Infinity", "-Infinity", "NaN",  "1 ", " 1", "--1",
        "1-",  "1e1.5", "1ee1",  "1,0",  "0b1",      "1f",        "1.e5", "-.5"}) {
    EXPECT_FALSE(is_json_number(token)) << token;
  }
}

TEST(JsonWhitespace, TrimsOnlyJsonWhitespaceOnTheRight) {
  EXPECT_EQ(trim_json_whitespace_right("12 \t\r\n"), "12");
  EXPECT_EQ(trim_json_whitespace_right(" 12"), " 12");
  EXPECT_EQ(trim_json_whitespace_right("12\f"), "12\f");
  EXPECT_EQ(trim_json_whitespace_right("12\v"), "12\v");
  EXPECT_EQ(trim_json_whitespace_right("   "), "");
  EXPECT_EQ(trim_json_whitespace_right(""), "");
}

}  // namespace
}  // namespace paystream::core
