#include "net/http_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace paystream::net {
namespace {

TEST(RequestParser, HeaderPiecesAreAccumulatedAcrossReads) {
  RequestParser p(ParseLimits{});
  const std::string pieces[] = {"GET /a?b=c HT", "TP/1.1\r\nHo",    "st: ex",
                                "ample\r\nX-Lo", "ng:  one two \r", "\n\r\n"};
  RequestParser::Result r{};
  for (const std::string& piece : pieces) {
    r = p.feed(piece.data(), piece.size());
    if (&piece != &pieces[5]) {
      ASSERT_EQ(r.event, RequestParser::Event::need_more);
      EXPECT_TRUE(p.in_head());
    }
  }
  ASSERT_EQ(r.event, RequestParser::Event::request);
  const Request& req = p.request();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/a?b=c");
  EXPECT_EQ(req.path, "/a");
  EXPECT_EQ(req.query, "b=c");
  ASSERT_EQ(req.headers.size(), 2u);
  EXPECT_EQ(req.header("HOST"), "example");
  EXPECT_EQ(req.header("x-long"), "one two");
  EXPECT_TRUE(req.keep_alive);
  EXPECT_EQ(req.version_minor, 1);
}

TEST(RequestParser, AbsoluteFormTargetYieldsItsPath) {
  RequestParser p(ParseLimits{});
  const std::string req = "GET http://example.test/livez?x HTTP/1.1\r\nHost: example.test\r\n\r\n";
  auto r = p.feed(req.data(), req.size());
  ASSERT_EQ(r.event, RequestParser::Event::request);
  EXPECT_EQ(p.request().path, "/livez");
  EXPECT_EQ(p.request().query, "x");
}

TEST(RequestParser, StopsAfterEachRequestAndResumes) {
  RequestParser p(ParseLimits{});
  const std::string two = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  auto r1 = p.feed(two.data(), two.size());
  ASSERT_EQ(r1.event, RequestParser::Event::request);
  EXPECT_EQ(p.request().path, "/1");
  EXPECT_EQ(r1.consumed, two.size() / 2);
  auto r2 = p.feed(two.data() + r1.consumed, two.size() - r1.consumed);
  ASSERT_EQ(r2.event, RequestParser::Event::request);
  EXPECT_EQ(p.request().path, "/2");
  EXPECT_EQ(r1.consumed + r2.consumed, two.size());
}

TEST(RequestParser, HeaderLimitCountsBytesAcrossReads) {
  ParseLimits limits;
  limits.max_header_bytes = 1024;
  RequestParser p(limits);
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
  ASSERT_EQ(p.feed(start.data(), start.size()).event, RequestParser::Event::need_more);
  const std::string pad(100, 'p');
  RequestParser::Event last = RequestParser::Event::need_more;
  for (int i = 0; i < 20 && last == RequestParser::Event::need_more; ++i) {
    last = p.feed(pad.data(), pad.size()).event;
  }
  ASSERT_EQ(last, RequestParser::Event::error);
  EXPECT_EQ(p.error().status, 431);
}

TEST(RequestParser, UpgradeIsAnsweredAsAPlainRequestThenClosed) {
  RequestParser p(ParseLimits{});
  const std::string req =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nrest";
  auto r = p.feed(req.data(), req.size());
  ASSERT_EQ(r.event, RequestParser::Event::request);
  EXPECT_FALSE(p.request().keep_alive);
}

}  // namespace
}  // namespace paystream::net
