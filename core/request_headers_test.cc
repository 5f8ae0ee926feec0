#include "core/request_headers.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::core {
namespace {

TEST(ContentType, AcceptsJsonWithOptionalUtf8Charset) {
  for (const char* ok : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                         "application/json;charset=UTF-8", "application/json; charset=\"utf-8\"",
                         " application/json ", "application/json; foo=bar",
                         "application/json; foo=bar; charset=utf-8"}) {
    EXPECT_TRUE(is_json_utf8_content_type(ok)) << ok;
  }
}

TEST(ContentType, RejectsOtherTypesAndCharsets) {
  for (const char* bad : {"", "text/plain", "application/jsonx", "application/json+x",
                          "application/x-www-form-urlencoded", "application/json; charset=latin1",
                          "application/json; charset=utf-16", "application/json; charset",
                          "multipart/form-data; boundary=x", "json"}) {
    EXPECT_FALSE(is_json_utf8_content_type(bad)) << bad;
  }
}

TEST(RequestId, OnlyShortSafeIds) {
  EXPECT_TRUE(is_valid_request_id("abc-123-XYZ"));
  EXPECT_TRUE(is_valid_request_id(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_request_id(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_request_id(""));
  EXPECT_FALSE(is_valid_request_id("a b"));
  EXPECT_FALSE(is_valid_request_id("a_b"));
  EXPECT_FALSE(is_valid_request_id("a\"b"));
  EXPECT_FALSE(is_valid_request_id("a\r\nb"));
}

TEST(RequestId, GeneratedIdsAreValidHex) {
  char out[kGeneratedRequestIdLength];
  format_request_id(0x0123456789abcdefULL, 0xfedcba9876543210ULL, out);
  const std::string id(out, sizeof out);
  EXPECT_EQ(id, "0123456789abcdeffedcba9876543210");
  EXPECT_TRUE(is_valid_request_id(id));
}

}  // namespace
}  // namespace paystream::core
