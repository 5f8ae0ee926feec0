#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::base {
namespace {

TEST(Utf8, AcceptsValidText) {
  for (std::string_view text :
       {"", "plain ascii", "Carlos L\xc3\xb3pez", "El Corte Ingl\xc3\xa9s", "\xe2\x82\xac 10",
        "\xf0\x9f\x98\x80", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(is_valid_utf8(text)) << text;
  }
  EXPECT_TRUE(is_valid_utf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, RejectsInvalidText) {
  for (std::string_view text : {
           "\x80",              // lone continuation byte
           "\xbf",              //
           "\xc0\xaf",          // overlong '/'
           "\xc1\xbf",          // overlong
           "\xe0\x80\xaf",      // overlong
           "\xe0\x9f\xbf",      // overlong
           "\xf0\x80\x80\xaf",  // overlong
           "\xf0\x8f\xbf\xbf",  // overlong
           "\xed\xa0\x80",      // surrogate U+D800
           "\xed\xbf\xbf",      // surrogate U+DFFF
           "\xf4\x90\x80\x80",  // above U+10FFFF
           "\xf5\x80\x80\x80",  //
           "\xff",              //
           "\xfe",              //
           "\xe2\x82",          // truncated at the end
           "\xf0\x9f\x98",      //
           "\xc3",              //
           "\xe2\x28\xa1",      // bad continuation
           "\xc3\x28",          //
           "ok \xc3",           //
       }) {
    EXPECT_FALSE(is_valid_utf8(text)) << testing::PrintToString(std::string(text));
  }
}

TEST(Utf8, SequenceLength) {
  const std::string_view text = "a\xc3\xb3\xe2\x82\xac\xf0\x9f\x98\x80\x80";
  EXPECT_EQ(utf8_sequence_length(text, 0), 1u);
  EXPECT_EQ(utf8_sequence_length(text, 1), 2u);
  EXPECT_EQ(utf8_sequence_length(text, 3), 3u);
  EXPECT_EQ(utf8_sequence_length(text, 6), 4u);
  EXPECT_EQ(utf8_sequence_length(text, 10), 0u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x9f", 0), 0u);
}

}  // namespace
}  // namespace paystream::base
