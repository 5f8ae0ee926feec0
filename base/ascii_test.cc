#include "base/ascii.h"

#include <gtest/gtest.h>

namespace paystream::base {
namespace {

TEST(Trim, TakesTheCharacterSet) {
  EXPECT_EQ(trim(" \tvalue \t", kSpaceTab), "value");
  EXPECT_EQ(trim(" \t\r\n", kSpaceTab), "\r\n");
  EXPECT_EQ(trim("\r\n value\r\n", kWhitespace), "value");
  EXPECT_EQ(trim("a b", kSpaceTab), "a b");
  EXPECT_EQ(trim("", kWhitespace), "");
  EXPECT_EQ(trim("   ", kSpaceTab), "");
  EXPECT_EQ(trim("\fx\v", kWhitespace), "\fx\v");  // form feed and vertical tab are not in it
}

TEST(Trim, OneSideOnly) {
  EXPECT_EQ(trim_left("  x  ", " "), "x  ");
  EXPECT_EQ(trim_right("  x  ", " "), "  x");
  EXPECT_EQ(trim_right("token \t\r\n \n", kWhitespace), "token");
  EXPECT_EQ(trim_right("token\n", kSpaceTab), "token\n");
}

TEST(EqualsIgnoreCase, AsciiLettersOnly) {
  EXPECT_TRUE(equals_ignore_case("Application/JSON", "application/json"));
  EXPECT_TRUE(equals_ignore_case("", ""));
  EXPECT_FALSE(equals_ignore_case("utf-8", "utf-88"));
  EXPECT_FALSE(equals_ignore_case("utf-8", "utf_8"));
  // '@' (0x40) and '`' (0x60) differ by the case bit, but are not letters.
  EXPECT_FALSE(equals_ignore_case("@", "`"));
  EXPECT_FALSE(equals_ignore_case("[", "{"));
  // Bytes outside ASCII only equal themselves.
  EXPECT_TRUE(equals_ignore_case("\xc3\x89", "\xc3\x89"));
  EXPECT_FALSE(equals_ignore_case("\xc3\x89", "\xc3\xa9"));
  static_assert(equals_ignore_case("Bearer", "bEARER"));
}

TEST(IsDigit, AsciiDigitsOnly) {
  for (char c : std::string_view("0123456789")) EXPECT_TRUE(is_digit(c));
  for (char c : std::string_view("/:aZ \xd9\xa0")) EXPECT_FALSE(is_digit(c));
}

TEST(HexDigits, LowercaseByNibble) {
  EXPECT_EQ(std::string_view(kHexDigits), "0123456789abcdef");
}

}  // namespace
}  // namespace paystream::base
