#include "base/json_escape.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/allocation_counter.h"

namespace paystream::base {
namespace {

std::string escaped(std::string_view text) {
  std::string out;
  append_json_escaped(out, text);
  return out;
}

TEST(JsonEscape, PlainTextIsCopied) {
  EXPECT_EQ(escaped(""), "");
  EXPECT_EQ(escaped("Amazon Web Services"), "Amazon Web Services");
  EXPECT_EQ(escaped("a/b <tag> 'q' \x7f"), "a/b <tag> 'q' \x7f");
}

TEST(JsonEscape, QuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("say \"hi\""), R"(say \"hi\")");
  EXPECT_EQ(escaped("C:\\dir"), R"(C:\\dir)");
  EXPECT_EQ(escaped("\b\f\n\r\t"), R"(\b\f\n\r\t)");
  EXPECT_EQ(escaped("\x01\x1f"), R"(\u0001\u001f)");
  EXPECT_EQ(escaped(std::string_view("a\0b", 3)), R"(a\u0000b)");
}

TEST(JsonEscape, ValidUtf8IsKeptInvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(escaped("Carlos L\xc3\xb3pez \xf0\x9f\x98\x80"),
            "Carlos L\xc3\xb3pez \xf0\x9f\x98\x80");
  EXPECT_EQ(escaped("a\xff"
                    "b"),
            R"(a\ufffdb)");
  EXPECT_EQ(escaped("\xed\xa0\x80"), R"(\ufffd\ufffd\ufffd)");
  EXPECT_EQ(escaped("\xc3"), R"(\ufffd)");
  EXPECT_EQ(escaped("\xe2\x82"
                    "x"),
            R"(\ufffd\ufffdx)");
}

TEST(JsonEscape, EveryByteYieldsValidJsonStringContent) {
  for (int byte = 0; byte < 256; ++byte) {
    const std::string out = escaped(std::string(1, static_cast<char>(byte)));
    for (char c : out) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << byte;
    if (byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x80) {
      EXPECT_EQ(out[0], '\\') << byte;
    } else {
      EXPECT_EQ(out, std::string(1, static_cast<char>(byte)));
    }
  }
}

TEST(JsonString, AddsQuotesAndAppends) {
  std::string out = "prefix:";
  append_json_string(out, "x\"y");
  EXPECT_EQ(out, R"(prefix:"x\"y")");
}

TEST(AllocationCounter, SeesAllocations) {
  const test_support::AllocationCounter counter;
  auto text = std::make_unique<std::string>(1000, 'x');
  EXPECT_EQ(text->size(), 1000u);
  EXPECT_GE(counter.count(), 2);
}

TEST(JsonString, DoesNotAllocateWithinCapacity) {
  std::string out;
  out.reserve(256);
  const test_support::AllocationCounter counter;
  for (int i = 0; i < 10; ++i) {
    out.clear();
    append_json_string(out, "Carlos L\xc3\xb3pez \"\x01\" \xff padding padding padding padding");
  }
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace paystream::base
