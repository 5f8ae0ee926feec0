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

TEST(LoopbackHost, OnlyLoopbackNamesWithAnOptionalPort) {
  for (const char* ok : {"127.0.0.1", "127.0.0.1:8081", "localhost", "LocalHost:1", "[::1]",
                         "[::1]:65535", " localhost:8081 "}) {
    EXPECT_TRUE(is_loopback_host(ok)) << ok;
  }
  for (const char* bad :
       {"", "evil.example", "evil.example:8081", "localhost.evil.example", "127.0.0.1.nip.io",
        "127.0.0.2", "0.0.0.0", "::1", "[::1", "[::2]:80", "[::1]x", "localhost:", "localhost:80a",
        "localhost:123456", "127.0.0.1:80:80", "10.0.0.7:8081", "user@localhost"}) {
    EXPECT_FALSE(is_loopback_host(bad)) << bad;
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
