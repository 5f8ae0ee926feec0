#include "net/http_response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace paystream::net {
namespace {

using Event = ResponseParser::Event;

struct Outcome {
  Event event = Event::need_more;
  size_t consumed = 0;  // bytes of the input the answer took
  int status = 0;
  std::string body;
  bool keep_alive = false;
};

// Feeds `bytes` in pieces of `piece` bytes (0: at once), then the close when `eof`.
Outcome parse(std::string_view bytes, size_t piece = 0, bool eof = false, size_t max = 65536,
              bool head = false) {
  ResponseParser parser(max);
  parser.reset(head);
  Outcome out;
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t n = piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at);
    const ResponseParser::Result r = parser.feed(bytes.data() + at, n);
    at += r.consumed;
    out.consumed = at;
    out.event = r.event;
    if (r.event != Event::need_more) break;
  }
  if (eof && out.event == Event::need_more) out.event = parser.finish().event;
  out.status = parser.status();
  out.body = std::string(parser.body());
  out.keep_alive = parser.keep_alive();
  return out;
}

constexpr std::string_view kLength =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
    "{\"ok\":\"yes\"}\n";
constexpr std::string_view kChunked =
    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";

TEST(ResponseParser, ContentLengthAtOnceAndSplitAtEveryByte) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{7}}) {
    const Outcome o = parse(kLength, piece);
    EXPECT_EQ(o.event, Event::complete) << piece;
    EXPECT_EQ(o.consumed, kLength.size());
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(o.body, "{\"ok\":\"yes\"}\n");
    EXPECT_TRUE(o.keep_alive);
  }
}

TEST(ResponseParser, EverySplitPointInTwoReads) {
  for (std::string_view bytes : {kLength, kChunked}) {
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
      ResponseParser parser(65536);
      ResponseParser::Result r = parser.feed(bytes.data(), cut);
      if (cut < bytes.size()) {
        ASSERT_EQ(r.event, Event::need_more) << cut;
        ASSERT_EQ(r.consumed, cut);
        r = parser.feed(bytes.data() + cut, bytes.size() - cut);
      }
      ASSERT_EQ(r.event, Event::complete) << cut;
      EXPECT_TRUE(parser.keep_alive());
    }
  }
}

TEST(ResponseParser, ChunkedBody) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{3}}) {
    const Outcome o = parse(kChunked, piece);
    EXPECT_EQ(o.event, Event::complete);
    EXPECT_EQ(o.status, 201);
    EXPECT_EQ(o.body, "hello, world");
    EXPECT_TRUE(o.keep_alive);
  }
}

TEST(ResponseParser, BodyDelimitedByTheCloseCompletesAtEof) {
  const std::string_view bytes = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
  const Outcome open = parse(bytes, 1, false);
  EXPECT_EQ(open.event, Event::need_more);
  const Outcome closed = parse(bytes, 1, true);
  EXPECT_EQ(closed.event, Event::complete);
  EXPECT_EQ(closed.body, "until the end");
  EXPECT_FALSE(closed.keep_alive);
}

TEST(ResponseParser, EofInsideALengthBodyIsMalformed) {
  const Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, true);
  EXPECT_EQ(o.event, Event::malformed);
}

TEST(ResponseParser, EofBeforeAnyByteIsNotAnAnswer) {
  ResponseParser parser(100);
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.finish().event, Event::need_more);
}

TEST(ResponseParser, ConnectionCloseAndHttp10AreNotKeptAlive) {
  EXPECT_FALSE(
      parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok").keep_alive);
  const Outcome kept =
      parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(kept.event, Event::complete);
  EXPECT_TRUE(kept.keep_alive);
  EXPECT_TRUE(parse("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n").keep_alive);
}

TEST(ResponseParser, TooLargeCountsHeadAndBody) {
  // Exactly at the bound passes, one byte less does not.
  EXPECT_EQ(parse(kLength, 0, false, kLength.size()).event, Event::complete);
  for (size_t piece : {size_t{0}, size_t{1}}) {
    const Outcome o = parse(kLength, piece, false, kLength.size() - 1);
    EXPECT_EQ(o.event, Event::too_large) << piece;
    EXPECT_EQ(o.consumed, kLength.size() - 1);
  }
  // A head alone over the bound.
  std::string big_head = "HTTP/1.1 200 OK\r\nX: " + std::string(500, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse(big_head, 0, false, 100).event, Event::too_large);
}

TEST(ResponseParser, Garbage) {
  EXPECT_EQ(parse("garbage\r\n\r\n").event, Event::malformed);
  EXPECT_EQ(parse("HTTP/1.1 abc OK\r\n\r\n").event, Event::malformed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").event, Event::malformed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").event,
            Event::malformed);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").event,
            Event::malformed);
  EXPECT_EQ(parse("\x16\x03\x01\x02\x00", 1).event, Event::malformed);  // a TLS hello
}

TEST(ResponseParser, InterimAnswersAreSkippedAndUpgradeRefused) {
  const Outcome o = parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + std::string(kLength), 1);
  EXPECT_EQ(o.event, Event::complete);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "{\"ok\":\"yes\"}\n");
  EXPECT_EQ(parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").event,
            Event::malformed);
}

TEST(ResponseParser, BytesAfterTheAnswerAreLeftOver) {
  const std::string two = std::string(kLength) + "HTTP/1.1 200 OK\r\n";
  ResponseParser parser(65536);
  const ResponseParser::Result r = parser.feed(two.data(), two.size());
  EXPECT_EQ(r.event, Event::complete);
  EXPECT_EQ(r.consumed, kLength.size());
  EXPECT_EQ(parser.feed("x", 1).event, Event::malformed);  // reset() first
}

TEST(ResponseParser, HeadAnswerHasNoBody) {
  const Outcome o = parse("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", 0, false, 65536, true);
  EXPECT_EQ(o.event, Event::complete);
  EXPECT_EQ(o.body, "");
}

TEST(ResponseParser, ResetKeepsTheBodyUntilTheNextAnswerStarts) {
  ResponseParser parser(65536);
  ASSERT_EQ(parser.feed(kLength.data(), kLength.size()).event, Event::complete);
  parser.reset();
  EXPECT_EQ(parser.body(), "{\"ok\":\"yes\"}\n");
  EXPECT_FALSE(parser.started());
  ASSERT_EQ(parser.feed("H", 1).event, Event::need_more);
  EXPECT_TRUE(parser.started());
  EXPECT_EQ(parser.body(), "");
  const std::string_view rest = kChunked.substr(1);
  EXPECT_EQ(parser.feed(rest.data(), rest.size()).event, Event::complete);
  EXPECT_EQ(parser.body(), "hello, world");
}

}  // namespace
}  // namespace paystream::net
