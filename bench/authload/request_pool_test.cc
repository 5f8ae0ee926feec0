#include "bench/authload/request_pool.h"

#include <gtest/gtest.h>

namespace paystream::bench {
namespace {

TEST(RequestPool, PostCarriesJsonBodyWithItsLength) {
  RequestSpec spec;
  spec.host = "127.0.0.1:8080";
  spec.extra_headers = {"X-Canary: 1"};
  const std::string body = R"({"a":1})";
  EXPECT_EQ(build_request(spec, &body),
            "POST /v1/authorize HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Canary: 1\r\n"
            "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
}

TEST(RequestPool, GetHasNoBody) {
  RequestSpec spec{.method = "GET", .path = "/livez", .host = "h"};
  const auto pool = build_request_pool(spec, {});
  ASSERT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool[0], "GET /livez HTTP/1.1\r\nHost: h\r\n\r\n");
}

TEST(RequestPool, OneRequestPerBody) {
  RequestSpec spec{.host = "h"};
  const auto pool = build_request_pool(spec, {"{}", "", "[1,2]"});
  ASSERT_EQ(pool.size(), 3u);
  EXPECT_NE(pool[1].find("Content-Length: 0\r\n\r\n"), std::string::npos);
  EXPECT_TRUE(pool[2].ends_with("\r\n\r\n[1,2]"));
}

TEST(RequestPool, HeaderInsertOffsetIsRightAfterHost) {
  RequestSpec spec{.host = "127.0.0.1:8080", .extra_headers = {"X-A: 1"}};
  const std::string body = "{}";
  std::string request = build_request(spec, &body);
  request.insert(header_insert_offset(spec), "Idempotency-Key: k-1\r\n");
  EXPECT_EQ(request,
            "POST /v1/authorize HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nIdempotency-Key: k-1\r\n"
            "X-A: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
}

}  // namespace
}  // namespace paystream::bench
