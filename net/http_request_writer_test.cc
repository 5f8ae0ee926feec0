#include "net/http_request_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::net {
namespace {

TEST(HttpRequestWriter, WritesRequestLineHostHeadersLengthAndBody) {
  std::string out = "old contents";
  const HttpHeaderField headers[] = {{"Authorization", "Bearer k"}, {"Idempotency-Key", "txn_1"}};
  ASSERT_TRUE(write_http_request(out, "POST", "/v1/authorizations", "processor:9090", headers,
                                 R"({"a":1})"));
  EXPECT_EQ(out,
            "POST /v1/authorizations HTTP/1.1\r\nHost: processor:9090\r\n"
            "Authorization: Bearer k\r\nIdempotency-Key: txn_1\r\nContent-Length: 7\r\n\r\n"
            R"({"a":1})");
  ASSERT_TRUE(write_http_request(out, "GET", "/x?y=1", "h", {}, ""));
  EXPECT_EQ(out, "GET /x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpRequestWriter, ReusesTheBuffer) {
  std::string out;
  ASSERT_TRUE(write_http_request(out, "POST", "/", "h", {}, std::string(1000, 'x')));
  const char* data = out.data();
  ASSERT_TRUE(write_http_request(out, "POST", "/", "h", {}, std::string(900, 'y')));
  EXPECT_EQ(out.data(), data);
}

TEST(HttpRequestWriter, RefusesWhatWouldBreakTheFraming) {
  std::string out;
  const HttpHeaderField crlf_value[] = {{"X", "a\r\nInjected: 1"}};
  const HttpHeaderField lf_value[] = {{"X", "a\nb"}};
  const HttpHeaderField bad_name[] = {{"X Y", "a"}};
  const HttpHeaderField empty_name[] = {{"", "a"}};
  EXPECT_FALSE(write_http_request(out, "POST", "/", "h", crlf_value, ""));
  EXPECT_FALSE(write_http_request(out, "POST", "/", "h", lf_value, ""));
  EXPECT_FALSE(write_http_request(out, "POST", "/", "h", bad_name, ""));
  EXPECT_FALSE(write_http_request(out, "POST", "/", "h", empty_name, ""));
  EXPECT_FALSE(write_http_request(out, "PO ST", "/", "h", {}, ""));
  EXPECT_FALSE(write_http_request(out, "", "/", "h", {}, ""));
  EXPECT_FALSE(write_http_request(out, "POST", "/a b", "h", {}, ""));
  EXPECT_FALSE(write_http_request(out, "POST", "", "h", {}, ""));
  EXPECT_FALSE(write_http_request(out, "POST", "/", "h\r\nX: y", {}, ""));
  const HttpHeaderField tab_value[] = {{"X", "a\tb c"}};
  EXPECT_TRUE(write_http_request(out, "POST", "/", "h", tab_value, ""));
}

}  // namespace
}  // namespace paystream::net
