#include "net/http_session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/testing/raw_client.h"

namespace paystream::net {
namespace {

using testing::parse_responses;
using testing::ParsedResponse;

struct Seen {
  std::string method;
  std::string path;
  std::string query;
  std::string body;
  std::string host;
  std::string custom;
  bool keep_alive;
  uint32_t seq;
};

// Answers each request with "<METHOD> <path> <body>" at once, or later when told.
class Harness : public RequestSink {
 public:
  explicit Harness(SessionLimits limits = {}) : session(limits, *this, date, 0) {}

  void dispatch(const Request& r, uint32_t seq) override {
    seen.push_back({std::string(r.method), std::string(r.path), std::string(r.query),
                    std::string(r.body), std::string(r.header("host")),
                    std::string(r.header("x-custom")), r.keep_alive, seq});
    if (answer_at_once) answer(seq);
  }
  void protocol_error(int status) override { errors.push_back(status); }

  void answer(uint32_t seq, uint64_t now = 0) {
    const Seen* s = nullptr;
    for (const Seen& x : seen) {
      if (x.seq == seq) s = &x;
    }
    ASSERT_NE(s, nullptr) << "no request " << seq;
    const std::string body = s->method + " " + s->path + " " + s->body + padding;
    session.complete(seq, Response{.content_type = "text/plain", .body = body}, now);
  }

  void feed(std::string_view bytes, uint64_t now = 0) {
    session.on_data(bytes.data(), bytes.size(), now);
  }

  std::vector<ParsedResponse> take() {
    all_output += session.output();
    session.output().clear();
    return parse_responses(all_output);
  }

  std::string date = "Thu, 01 Jan 2026 00:00:00 GMT";
  HttpSession session;
  bool answer_at_once = true;
  std::string padding;  // appended to every answer's body
  std::vector<Seen> seen;
  std::vector<int> errors;
  std::string all_output;
};

const std::string kPost =
    "POST /v1/echo?x=1 HTTP/1.1\r\n"
    "Host: example.test\r\n"
    "X-Custom:   spaced value  \r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "{\"a\":\"hello\"}";

TEST(HttpSession, EverySplitPointGivesTheSameRequest) {
  for (size_t split = 0; split <= kPost.size(); ++split) {
    Harness h;
    h.feed(std::string_view(kPost).substr(0, split));
    h.feed(std::string_view(kPost).substr(split));
    ASSERT_EQ(h.seen.size(), 1u) << "split at " << split;
    EXPECT_EQ(h.seen[0].method, "POST");
    EXPECT_EQ(h.seen[0].path, "/v1/echo");
    EXPECT_EQ(h.seen[0].query, "x=1");
    EXPECT_EQ(h.seen[0].body, "{\"a\":\"hello\"}");
    EXPECT_EQ(h.seen[0].host, "example.test");
    EXPECT_EQ(h.seen[0].custom, "spaced value") << "split at " << split;
    auto responses = h.take();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 200);
    EXPECT_EQ(responses[0].body, "POST /v1/echo {\"a\":\"hello\"}");
  }
}

TEST(HttpSession, OneByteAtATime) {
  Harness h;
  const std::string two = kPost + kPost;
  for (char c : two) h.feed(std::string_view(&c, 1));
  ASSERT_EQ(h.seen.size(), 2u);
  EXPECT_EQ(h.seen[1].custom, "spaced value");
  EXPECT_EQ(h.take().size(), 2u);
}

TEST(HttpSession, PipelinedBatchAnsweredInOrderInOneOutput) {
  Harness h;
  std::string batch;
  for (int i = 0; i < 10; ++i) {
    batch += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  }
  h.feed(batch);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(responses[i].body, "GET /r" + std::to_string(i) + " ");
}

TEST(HttpSession, AtMostSixteenInFlightAndResponsesReleasedStrictlyInOrder) {
  Harness h;
  h.answer_at_once = false;
  std::string batch;
  for (int i = 0; i < 20; ++i)
    batch += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  h.feed(batch);
  ASSERT_EQ(h.seen.size(), 16u);
  EXPECT_FALSE(h.session.wants_read());
  EXPECT_EQ(h.session.timer().kind, TimerKind::none);  // no timer while handlers work
  // Answer backwards: nothing may leave before request 0 is answered.
  for (int i = 15; i >= 1; --i) h.answer(static_cast<uint32_t>(i));
  EXPECT_TRUE(h.take().empty());
  h.answer(0);
  // Request 0 released everything behind it, which let the last four in.
  ASSERT_EQ(h.seen.size(), 20u);
  EXPECT_EQ(h.take().size(), 16u);
  for (uint32_t seq = 16; seq < 20; ++seq) h.answer(seq);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(responses[i].body, "GET /r" + std::to_string(i) + " ");
  EXPECT_TRUE(h.session.wants_read());
}

TEST(HttpSession, LateAnswerForUnknownSequenceIsIgnored) {
  Harness h;
  h.answer_at_once = false;
  h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  h.answer(0);
  h.session.complete(0, Response{.body = "again"}, 0);
  h.session.complete(77, Response{.body = "never"}, 0);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body, "GET / ");
}

const std::string kChunked =
    "POST /c HTTP/1.1\r\n"
    "Host: a\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5\r\nhello\r\n"
    "1;ext=1\r\n \r\n"
    "6\r\nworld!\r\n"
    "0\r\n"
    "Trailer-Field: ignored\r\n"
    "\r\n";

TEST(HttpSession, ChunkedBodyAtEverySplitPoint) {
  for (size_t split = 0; split <= kChunked.size(); ++split) {
    Harness h;
    h.feed(std::string_view(kChunked).substr(0, split));
    h.feed(std::string_view(kChunked).substr(split));
    ASSERT_EQ(h.seen.size(), 1u) << "split at " << split;
    EXPECT_EQ(h.seen[0].body, "hello world!");
  }
}

struct BadRequest {
  const char* name;
  std::string bytes;
  int status;
};

class HttpSessionRejects : public ::testing::TestWithParam<BadRequest> {};

TEST_P(HttpSessionRejects, WithJsonErrorAndClose) {
  Harness h;
  h.feed(GetParam().bytes);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, GetParam().status);
  EXPECT_EQ(responses[0].header("content-type"), "application/json");
  EXPECT_EQ(responses[0].header("connection"), "close");
  EXPECT_EQ(responses[0].body.rfind("{\"error\":\"", 0), 0u) << responses[0].body;
  EXPECT_NE(responses[0].body.find("\"message\":\""), std::string::npos);
  EXPECT_TRUE(h.session.should_close());
  EXPECT_TRUE(h.seen.empty());
  ASSERT_EQ(h.errors.size(), 1u);
  EXPECT_EQ(h.errors[0], GetParam().status);
}

std::string many_headers(int n) {
  std::string r = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 1; i < n; ++i) r += "X-H" + std::to_string(i) + ": v\r\n";
  return r + "\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HttpSessionRejects,
    ::testing::Values(
        BadRequest{"HeadTooLarge",
                   "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n",
                   431},
        BadRequest{"UrlTooLarge", "GET /" + std::string(9000, 'u') + " HTTP/1.1\r\nHost: a\r\n\r\n",
                   431},
        BadRequest{"TooManyHeaders", many_headers(65), 431},
        BadRequest{"BodyTooLargeByLength",
                   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16385\r\n\r\n", 413},
        BadRequest{"BodyTooLargeByChunkSize",
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4001\r\n", 413},
        BadRequest{"BodyTooLargeByChunkSum",
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n" +
                       std::string(0x2000, 'a') + "\r\n2001\r\n",
                   413},
        BadRequest{"LengthWithChunked",
                   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n0\r\n\r\n",
                   400},
        BadRequest{"DuplicateLength",
                   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
                   400},
        BadRequest{"NulInHeader", std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29), 400},
        BadRequest{"ControlInHeader", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},
        BadRequest{"BadChunkSize",
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        BadRequest{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        BadRequest{"ObsFold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", 400},
        BadRequest{"MissingHost", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400},
        BadRequest{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        BadRequest{"BareLineFeeds", "GET / HTTP/1.1\nHost: a\n\n", 400},
        BadRequest{"NotHttp", "HELLO\r\n\r\n", 400},
        BadRequest{"Http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        BadRequest{"UnknownExpectation",
                   "POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx",
                   417},
        BadRequest{"AsteriskTarget", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400}),
    [](const ::testing::TestParamInfo<BadRequest>& info) { return std::string(info.param.name); });

TEST(HttpSession, BodyTooLargeIsRefusedBeforeTheBodyArrives) {
  Harness h;
  h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 413);
}

TEST(HttpSession, ErrorWaitsBehindEarlierResponses) {
  Harness h;
  h.answer_at_once = false;
  h.feed("GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost : a\r\n\r\n");
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_TRUE(h.take().empty());
  h.answer(0);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].header("connection"), "");
  EXPECT_EQ(responses[1].status, 400);
  EXPECT_TRUE(h.session.should_close());
}

TEST(HttpSession, ConnectionCloseIsHonouredAndLaterRequestsIgnored) {
  Harness h;
  h.feed(
      "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(h.seen.size(), 1u);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].header("connection"), "close");
  EXPECT_TRUE(h.session.should_close());
  EXPECT_FALSE(h.session.wants_read());
}

TEST(HttpSession, Http10ClosesUnlessKeepAliveAsked) {
  Harness plain;
  plain.feed("GET / HTTP/1.0\r\n\r\n");  // no Host needed in 1.0
  auto r1 = plain.take();
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].header("connection"), "close");
  EXPECT_TRUE(plain.session.should_close());

  Harness kept;
  kept.feed(
      "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nConnection: "
      "Keep-Alive\r\n\r\n");
  auto r2 = kept.take();
  ASSERT_EQ(r2.size(), 2u);
  EXPECT_EQ(r2[0].header("connection"), "keep-alive");
  EXPECT_EQ(r2[1].body, "GET /b ");
  EXPECT_FALSE(kept.session.should_close());
}

TEST(HttpSession, Http11KeepsAliveByDefault) {
  Harness h;
  h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = h.take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].header("connection"), "");
  EXPECT_EQ(r[0].header("date"), h.date);
  EXPECT_FALSE(h.session.should_close());
  EXPECT_TRUE(h.session.wants_read());
}

TEST(HttpSession, ExpectContinueIsAnsweredBeforeTheBody) {
  Harness h;
  h.feed("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 10);
  auto interim = h.take();
  ASSERT_EQ(interim.size(), 1u);
  EXPECT_EQ(interim[0].status, 100);
  EXPECT_EQ(h.session.timer().kind, TimerKind::body);
  h.feed("ping", 20);
  auto all = h.take();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].status, 200);
  EXPECT_EQ(all[1].body, "POST /e ping");
}

TEST(HttpSession, ExpectContinueWaitsForEarlierResponses) {
  Harness h;
  h.answer_at_once = false;
  h.feed(
      "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_TRUE(h.take().empty());
  h.answer(0);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 100);
}

TEST(HttpSession, ExpectContinueWithTooLargeBodyGets413Only) {
  Harness h;
  h.feed("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n");
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 413);
}

SessionLimits short_timeouts() {
  SessionLimits limits;
  limits.header_timeout_ms = 100;
  limits.body_timeout_ms = 200;
  limits.idle_timeout_ms = 300;
  return limits;
}

TEST(HttpSession, HeadTimerStartsAtAcceptAndAnswers408) {
  Harness h(short_timeouts());
  TimerRequest t = h.session.timer();
  EXPECT_EQ(t.kind, TimerKind::head);
  EXPECT_EQ(t.deadline_ms, 100u);
  h.session.on_timer(99);
  EXPECT_TRUE(h.take().empty());
  h.session.on_timer(100);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 408);
  EXPECT_TRUE(h.session.should_close());
}

TEST(HttpSession, FirstRequestsHeadClockRunsFromAcceptNotFromItsFirstByte) {
  Harness h(short_timeouts());
  h.feed("G", 90);  // a slow loris does not restart the clock
  EXPECT_EQ(h.session.timer().kind, TimerKind::head);
  EXPECT_EQ(h.session.timer().deadline_ms, 100u);
  h.session.on_timer(100);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 408);
}

TEST(HttpSession, DrainClosesAConnectionThatNeverSpokeQuietlyAfterTheGrace) {
  SessionLimits slow = short_timeouts();
  slow.header_timeout_ms = 5000;
  Harness quiet(slow);
  quiet.session.begin_drain(10);
  EXPECT_EQ(quiet.session.timer().deadline_ms, 10 + kDrainGraceMs);
  quiet.session.on_timer(10 + kDrainGraceMs);
  EXPECT_TRUE(quiet.session.should_close());
  EXPECT_TRUE(quiet.take().empty());  // no 408 for a client that asked nothing
  EXPECT_TRUE(quiet.errors.empty());
}

TEST(HttpSession, HeadTimerOfALaterRequestStartsAtItsFirstByte) {
  Harness h(short_timeouts());
  h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 50);
  EXPECT_EQ(h.session.timer().kind, TimerKind::idle);
  EXPECT_EQ(h.session.timer().deadline_ms, 350u);
  h.feed("GE", 1000);  // slow loris
  EXPECT_EQ(h.session.timer().kind, TimerKind::head);
  EXPECT_EQ(h.session.timer().deadline_ms, 1100u);
  h.feed("T / HTTP/1.1\r\n", 1050);  // more bytes do not extend it
  EXPECT_EQ(h.session.timer().deadline_ms, 1100u);
  h.session.on_timer(1100);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[1].status, 408);
}

TEST(HttpSession, BodyTimerStartsAtEndOfHead) {
  Harness h(short_timeouts());
  h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", 40);
  EXPECT_EQ(h.session.timer().kind, TimerKind::body);
  EXPECT_EQ(h.session.timer().deadline_ms, 240u);
  h.session.on_timer(240);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 408);
}

TEST(HttpSession, NoTimerWhileHandlerWorksThenIdle) {
  Harness h(short_timeouts());
  h.answer_at_once = false;
  h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 10);
  EXPECT_EQ(h.session.timer().kind, TimerKind::none);
  h.answer(0, 5000);
  EXPECT_EQ(h.session.timer().kind, TimerKind::idle);
  EXPECT_EQ(h.session.timer().deadline_ms, 5300u);
  h.session.on_timer(5300);
  EXPECT_TRUE(h.session.should_close());
  EXPECT_EQ(h.take().size(), 1u);  // idle close sends nothing more
}

TEST(HttpSession, DrainFinishesInFlightWithConnectionClose) {
  Harness h;
  h.answer_at_once = false;
  h.feed("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
  h.session.begin_drain(0);
  EXPECT_FALSE(h.session.should_close());
  EXPECT_FALSE(h.session.wants_read());
  h.answer(0);
  EXPECT_FALSE(h.session.should_close());
  h.answer(1);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 2u);
  // A client stops reading at the first close: only the last answer may say it.
  EXPECT_EQ(responses[0].header("connection"), "");
  EXPECT_EQ(responses[1].header("connection"), "close");
  EXPECT_TRUE(h.session.should_close());
}

TEST(HttpSession, DrainTakesNoRequestAfterTheOneInProgress) {
  Harness h;
  h.answer_at_once = false;
  h.feed("GET /a HTTP/1.1\r\nHo");
  h.session.begin_drain(0);
  // The rest of /a, and /b pipelined behind it in the same read.
  h.feed("st: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].path, "/a");
  EXPECT_FALSE(h.session.should_close());
  h.answer(0);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].header("connection"), "close");
  EXPECT_TRUE(h.session.should_close());
}

TEST(HttpSession, DrainClosesIdleConnectionButWaitsForAStartedRequest) {
  Harness idle;
  idle.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  idle.session.begin_drain(0);
  EXPECT_TRUE(idle.session.should_close());

  Harness partial;
  partial.feed("GET / HTTP/1.1\r\nHo");
  partial.session.begin_drain(0);
  EXPECT_FALSE(partial.session.should_close());
  EXPECT_TRUE(partial.session.wants_read());
  partial.feed("st: a\r\n\r\n");
  auto responses = partial.take();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].header("connection"), "close");
  EXPECT_TRUE(partial.session.should_close());

  Harness fresh;  // accepted, nothing read yet: its first request is awaited
  fresh.session.begin_drain(0);
  EXPECT_FALSE(fresh.session.should_close());
  EXPECT_TRUE(fresh.session.wants_read());
}

TEST(HttpSession, ResponseHeadersCannotBeSplit) {
  Harness h;
  h.answer_at_once = false;
  h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const ResponseHeader headers[] = {{"X-Ok", "fine"}, {"X-Evil", "a\r\nSet-Cookie: x"}};
  h.session.complete(0, Response{.body = "b", .headers = headers}, 0);
  auto r = h.take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].header("x-ok"), "fine");
  EXPECT_EQ(r[0].header("x-evil"), "");
  EXPECT_EQ(r[0].header("set-cookie"), "");
}

std::string livez_batch(int n) {
  std::string batch;
  for (int i = 0; i < n; ++i)
    batch += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  return batch;
}

TEST(HttpSession, ParsingPausesInTheMiddleOfAReadWhileOutputIsLarge) {
  SessionLimits limits;
  limits.max_unsent_bytes = 1024;
  Harness h(limits);
  const std::string batch = livez_batch(300);
  h.feed(batch);  // one read holding 300 requests
  const size_t parsed = h.seen.size();
  EXPECT_GT(parsed, 0u);
  EXPECT_LT(parsed, 30u);
  EXPECT_TRUE(h.session.output_full());
  // Above the threshold by less than one response.
  EXPECT_LT(h.session.output().size(), limits.max_unsent_bytes + 200);
  EXPECT_FALSE(h.session.wants_read());
  EXPECT_FALSE(h.session.resumable());
  // The rest of the read is kept, not dropped, and no more than that read.
  EXPECT_GT(h.session.unparsed_bytes(), 0u);
  EXPECT_LT(h.session.unparsed_bytes(), batch.size());
  // Output waiting to drain sets no idle or head timer: the owner's write timeout covers it.
  EXPECT_EQ(h.session.timer().kind, TimerKind::none);
  // Nothing resumes until the output drains.
  h.session.resume(0);
  EXPECT_EQ(h.seen.size(), parsed);

  int rounds = 0;
  while (h.seen.size() < 300 && rounds < 1000) {
    ++rounds;
    h.take();  // the client drained everything
    ASSERT_TRUE(h.session.resumable());
    const size_t before = h.seen.size();
    h.session.resume(0);
    ASSERT_GT(h.seen.size(), before);
    EXPECT_LT(h.session.output().size(), limits.max_unsent_bytes + 200);
  }
  EXPECT_GT(rounds, 10);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(responses[i].body, "GET /r" + std::to_string(i) + " ");
  EXPECT_EQ(h.session.unparsed_bytes(), 0u);
  EXPECT_TRUE(h.session.wants_read());
  EXPECT_EQ(h.session.timer().kind, TimerKind::idle);
}

TEST(HttpSession, BytesBeingWrittenCountAsUnsent) {
  SessionLimits limits;
  limits.max_unsent_bytes = 1024;
  Harness h(limits);
  h.feed(livez_batch(100));
  const size_t parsed = h.seen.size();
  ASSERT_LT(parsed, 100u);
  // The owner took the output and is still writing it.
  const size_t taken = h.session.output().size();
  h.take();
  h.session.set_writing(taken, 0);
  EXPECT_TRUE(h.session.output_full());
  EXPECT_FALSE(h.session.resumable());
  EXPECT_FALSE(h.session.wants_read());
  h.session.resume(0);
  EXPECT_EQ(h.seen.size(), parsed);
  // Partly written, still above: waits; below: resumes.
  h.session.set_writing(limits.max_unsent_bytes + 1, 0);
  EXPECT_FALSE(h.session.resumable());
  h.session.set_writing(100, 0);
  ASSERT_TRUE(h.session.resumable());
  h.session.resume(0);
  EXPECT_GT(h.seen.size(), parsed);
  EXPECT_LE(h.session.output().size() + 100, limits.max_unsent_bytes + 200);
}

TEST(HttpSession, NewBytesWaitBehindTheKeptOnesAndKeepTheirOrder) {
  SessionLimits limits;
  limits.max_unsent_bytes = 512;
  Harness h(limits);
  h.feed(livez_batch(50));
  ASSERT_LT(h.seen.size(), 50u);
  // A read that was already under way when parsing stopped: kept behind the first.
  h.feed("GET /last HTTP/1.1\r\nHost: a\r\n\r\n");
  while (h.session.unparsed_bytes() > 0) {
    h.take();
    ASSERT_TRUE(h.session.resumable());
    h.session.resume(0);
  }
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 51u);
  EXPECT_EQ(responses[49].body, "GET /r49 ");
  EXPECT_EQ(responses[50].body, "GET /last ");
}

TEST(HttpSession, DefaultThresholdHoldsOneFullReadOfSmallRequests) {
  Harness h;
  const std::string batch = livez_batch(3000);
  const size_t read = 64 * 1024;  // one full read; the request at its end is cut
  h.feed(std::string_view(batch).substr(0, read));
  EXPECT_TRUE(h.session.output_full());
  EXPECT_LT(h.session.output().size(), SessionLimits{}.max_unsent_bytes + 200);
  EXPECT_GT(h.session.unparsed_bytes(), 0u);
  int rounds = 0;
  while (h.session.unparsed_bytes() > 0 && rounds < 100) {
    ++rounds;
    h.take();
    ASSERT_TRUE(h.session.resumable());
    h.session.resume(0);
    EXPECT_LT(h.session.output().size(), SessionLimits{}.max_unsent_bytes + 200);
  }
  EXPECT_EQ(h.session.unparsed_bytes(), 0u);
  h.take();
  EXPECT_TRUE(h.session.wants_read());
  h.feed(std::string_view(batch).substr(read));  // the rest, in one more read
  while (h.session.unparsed_bytes() > 0 && rounds < 200) {
    ++rounds;
    h.take();
    h.session.resume(0);
  }
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 3000u);
  for (int i = 0; i < 3000; ++i) EXPECT_EQ(responses[i].body, "GET /r" + std::to_string(i) + " ");
}

TEST(HttpSession, HeadClockStandsStillWhileOutputIsFull) {
  SessionLimits limits;
  limits.max_unsent_bytes = 512;
  limits.header_timeout_ms = 5000;
  Harness h(limits);
  h.answer_at_once = false;
  h.padding.assign(1000, 'p');
  // The read ends in the middle of the next request's head; then a large answer fills
  // the output, so the rest of that head is not read.
  h.feed(livez_batch(1) + "GET /cut HTTP/1.1\r\nHo", 0);
  ASSERT_EQ(h.seen.size(), 1u);
  h.answer(0);
  EXPECT_FALSE(h.session.wants_read());
  const size_t taken = h.session.output().size();
  h.take();
  h.session.set_writing(taken, 0);  // the owner writes; the client does not read
  EXPECT_EQ(h.session.timer().kind, TimerKind::none);
  h.session.on_timer(60000);
  EXPECT_TRUE(h.errors.empty());
  // The client reads, long after the head timeout: the head gets its full time again.
  h.session.set_writing(0, 60000);
  EXPECT_TRUE(h.session.wants_read());
  const TimerRequest t = h.session.timer();
  EXPECT_EQ(t.kind, TimerKind::head);
  EXPECT_EQ(t.deadline_ms, 65000u);
  h.answer_at_once = true;
  h.feed("st: a\r\n\r\n", 61000);
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[1].body, "GET /cut " + h.padding);
}

TEST(HttpSession, AnswersLargerThanTheThresholdAreProducedOneAtATime) {
  Harness h;
  h.padding.assign(100 * 1024, 'm');  // a large scrape
  h.feed(livez_batch(5));
  for (size_t i = 1; i <= 5; ++i) {
    ASSERT_EQ(h.seen.size(), i);  // the next is not parsed before this one drained
    EXPECT_FALSE(h.session.wants_read());
    EXPECT_FALSE(h.session.resumable());
    h.take();
    h.session.resume(0);
  }
  auto responses = h.take();
  ASSERT_EQ(responses.size(), 5u);
  EXPECT_EQ(responses[4].body, "GET /r4 " + h.padding);
  EXPECT_TRUE(h.session.wants_read());
}

TEST(HttpSession, LargeDrainedBuffersAreReleased) {
  std::string s(100 * 1024, 'x');
  release_if_large(s);
  EXPECT_EQ(s.size(), 100u * 1024);  // not drained: kept
  s.clear();
  release_if_large(s);
  EXPECT_LE(s.capacity(), kKeptBufferBytes);
  std::string small(1000, 'x');
  small.clear();
  const size_t capacity = small.capacity();
  release_if_large(small);
  EXPECT_EQ(small.capacity(), capacity);  // small ones keep their capacity for reuse
}

}  // namespace
}  // namespace paystream::net
