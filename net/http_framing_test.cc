// Strict framing, through the socket-free HttpSession: every case is sent split in
// two at every position, and each rule is also checked on FramingCheck alone.

#include "net/http_framing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "net/http_session.h"
#include "net/testing/raw_client.h"

namespace paystream::net {
namespace {

using testing::parse_responses;
using testing::ParsedResponse;

// Answers every request at once with its body.
class Sink : public RequestSink {
 public:
  explicit Sink(const SessionLimits& limits) : session(limits, *this, date, 0) {}
  void dispatch(const Request& r, uint32_t seq) override {
    bodies.emplace_back(r.body);
    session.complete(seq, Response{.content_type = "text/plain", .body = r.body}, 0);
  }
  void protocol_error(int status) override { errors.push_back(status); }
  void feed(std::string_view bytes) {
    if (!bytes.empty()) session.on_data(bytes.data(), bytes.size(), 0);
  }
  std::vector<ParsedResponse> responses() { return parse_responses(session.output()); }

  std::string date = "Thu, 01 Jan 2026 00:00:00 GMT";
  HttpSession session;
  std::vector<std::string> bodies;
  std::vector<int> errors;
};

SessionLimits limits_with_head(size_t max_header_bytes) {
  SessionLimits limits;
  limits.parse.max_header_bytes = max_header_bytes;
  return limits;
}

const std::string kChunkedHead =
    "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kGet = "GET /g HTTP/1.1\r\nHost: a\r\n\r\n";

struct Refused {
  const char* name;
  std::string bytes;
  int status;
  size_t answered_before = 0;  // valid requests ahead of the bad one
  size_t max_header_bytes = 8192;
};

std::string chunk_extensions(size_t bytes) {
  std::string s = "5";
  // llhttp 8.1 takes no extension after an unquoted value: these are quoted.
  while (s.size() < bytes) s += ";e=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"";
  return s + "\r\nhello\r\n0\r\n\r\n";
}

std::string small_chunks(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "1\r\nx\r\n";
  return s + "0\r\n\r\n";
}

const Refused kRefused[] = {
    // The attacks answered 200 by the loose build.
    {"JunkInsteadOfCrlfAfterChunkData", kChunkedHead + "3\r\nabcXY0\r\n\r\n", 400},
    {"FoldedTransferEncoding",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
     400},
    {"FoldedContentLength", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 3\r\n\r\nabc", 400},
    {"BareCrAndJunkBeforeLength", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\rX 3\r\n\r\nabc",
     400},
    {"Http10WithTransferEncoding",
     "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n",
     400},
    {"Http10WithTransferEncodingIdentity",
     "POST / HTTP/1.0\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc", 400},
    // obs-fold wherever it appears.
    {"FoldAfterValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", 400},
    {"FoldWithTab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n", 400},
    {"FoldOnFirstHeaderLine", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
    {"FoldAfterEmptyValue", "GET / HTTP/1.1\r\nHost:\r\n a\r\n\r\n", 400},
    {"FoldInTrailer", kChunkedHead + "3\r\nabc\r\n0\r\nT: a\r\n b\r\n\r\n", 400},
    // A CR not followed by LF, in the head and in chunk framing.
    {"BareCrInRequestLine", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"BareCrAfterVersion", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
    {"BareCrInValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n", 400},
    {"BareCrEndingHead", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},
    {"BareCrBeforeBody", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\rx", 400},
    {"BareCrInChunkSize", kChunkedHead + "3\rabc\r\n0\r\n\r\n", 400},
    {"BareCrAfterChunkData", kChunkedHead + "3\r\nabc\r0\r\n\r\n", 400},
    {"BareCrInTrailer", kChunkedHead + "0\r\nT: a\rb\r\n\r\n", 400},
    // Bare LF: refused everywhere.
    {"BareLfBeforeRequest", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"BareLfEndingRequestLine", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
    {"BareLfEndingHeaderLine", "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", 400},
    {"BareLfEndingHead", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
    {"BareLfEverywhere", "GET / HTTP/1.1\nHost: a\n\n", 400},
    {"BareLfEndingChunkSize", kChunkedHead + "3\nabc\r\n0\r\n\r\n", 400},
    {"BareLfEndingChunkExtension", kChunkedHead + "3;a=b\nabc\r\n0\r\n\r\n", 400},
    {"BareLfAfterChunkData", kChunkedHead + "3\r\nabc\n0\r\n\r\n", 400},
    {"BareLfEndingLastChunk", kChunkedHead + "3\r\nabc\r\n0\n\r\n", 400},
    {"BareLfEndingChunkedBody", kChunkedHead + "3\r\nabc\r\n0\r\n\n", 400},
    {"BareLfEndingTrailer", kChunkedHead + "0\r\nT: a\n\r\n", 400},
    {"BareLfEndingTrailers", kChunkedHead + "0\r\nT: a\r\n\n", 400},
    {"BareLfBeforePipelinedRequest", kGet + "\n" + kGet, 400, 1},
    // Strict llhttp: the request target is visible ASCII.
    {"NonAsciiInTarget", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"HighByteInTarget", "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"TabInTarget", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    // Chunk framing counts against the header limit (a small one here, 512 bytes).
    {"ChunkExtensionsOverLimit", kChunkedHead + chunk_extensions(600), 431, 0, 512},
    {"ManyTinyChunksOverLimit", kChunkedHead + small_chunks(100), 431, 0, 512},
    {"TrailersOverLimit", kChunkedHead + "0\r\nT: " + std::string(500, 't') + "\r\n\r\n", 431, 0,
     512},
    {"HeadAndChunkFramingTogetherOverLimit",
     "POST /c HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(400, 'p') +
         "\r\nTransfer-Encoding: chunked\r\n\r\n" + small_chunks(10),
     431, 0, 512},
    {"SecondRequestFramingCountedAfresh",
     kChunkedHead + small_chunks(20) + kChunkedHead + chunk_extensions(600), 431, 1, 512},
};

void PrintTo(const Refused& c, std::ostream* os) {
  *os << c.name;
}

class FramingRefused : public ::testing::TestWithParam<Refused> {};

TEST_P(FramingRefused, AtEverySplitWithJsonErrorAndClose) {
  const Refused& c = GetParam();
  for (size_t split = 0; split <= c.bytes.size(); ++split) {
    Sink s(limits_with_head(c.max_header_bytes));
    s.feed(std::string_view(c.bytes).substr(0, split));
    s.feed(std::string_view(c.bytes).substr(split));
    auto responses = s.responses();
    ASSERT_EQ(responses.size(), c.answered_before + 1) << "split at " << split;
    const ParsedResponse& r = responses.back();
    EXPECT_EQ(r.status, c.status) << "split at " << split << ": " << r.body;
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.body.rfind("{\"error\":\"", 0), 0u) << r.body;
    EXPECT_TRUE(s.session.should_close());
    EXPECT_EQ(s.bodies.size(), c.answered_before);
    ASSERT_EQ(s.errors.size(), 1u);
    if (::testing::Test::HasFailure()) return;  // one split is enough to see it
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, FramingRefused, ::testing::ValuesIn(kRefused),
                         [](const ::testing::TestParamInfo<Refused>& info) {
                           return std::string(info.param.name);
                         });

struct Accepted {
  const char* name;
  std::string bytes;
  std::vector<std::string> bodies;
  size_t max_header_bytes = 8192;
};

const Accepted kAccepted[] = {
    {"ChunkedWithExtensionsAndTrailers",
     kChunkedHead + "5;name=\"value\";flag\r\nhello\r\n1\r\n \r\n6;q=\"quoted\"\r\nworld!\r\n0\r\n"
                    "Trailer-A: one\r\nTrailer-B: two\r\n\r\n",
     {"hello world!"}},
    {"ContentLengthBodyWithCrLfInside",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n\r\n\n\r x",
     {"\r\n\n\r x"}},
    {"ChunkDataWithBareCrAndLf", kChunkedHead + "4\r\n\r\n\n\r\r\n0\r\n\r\n", {"\r\n\n\r"}},
    {"ValueWithInnerSpacesAndTabs", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a \t b\r\n\r\n", {""}},
    {"Http10ContentLength", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", {"hi"}},
    {"PipelinedMixedFraming",
     kGet + kChunkedHead + "2\r\nab\r\n0\r\n\r\n" +
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz" + kGet,
     {"", "ab", "z", ""}},
    // Each request's framing is counted on its own: two of them fit a 512-byte limit.
    {"FramingCountedPerRequest",
     kChunkedHead + small_chunks(40) + kChunkedHead + small_chunks(40),
     {std::string(40, 'x'), std::string(40, 'x')},
     512},
};

void PrintTo(const Accepted& c, std::ostream* os) {
  *os << c.name;
}

class FramingAccepted : public ::testing::TestWithParam<Accepted> {};

TEST_P(FramingAccepted, AtEverySplit) {
  const Accepted& c = GetParam();
  for (size_t split = 0; split <= c.bytes.size(); ++split) {
    Sink s(limits_with_head(c.max_header_bytes));
    s.feed(std::string_view(c.bytes).substr(0, split));
    s.feed(std::string_view(c.bytes).substr(split));
    EXPECT_EQ(s.bodies, c.bodies) << "split at " << split;
    EXPECT_TRUE(s.errors.empty()) << "split at " << split << ": " << s.session.output();
    if (::testing::Test::HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, FramingAccepted, ::testing::ValuesIn(kAccepted),
                         [](const ::testing::TestParamInfo<Accepted>& info) {
                           return std::string(info.param.name);
                         });

TEST(HttpFraming, MegabytesOfChunkExtensionsAreRefusedAtTheFirstRead) {
  Sink s(SessionLimits{});
  s.feed(kChunkedHead + "5");
  const std::string ext = [] {
    std::string e;
    while (e.size() < 64 * 1024) e += ";e=\"0123456789abcdef\"";
    return e;
  }();
  int reads = 0;
  while (!s.session.should_close() && reads < 32) {  // up to 2 MiB
    s.feed(ext);
    ++reads;
  }
  EXPECT_EQ(reads, 1);
  auto responses = s.responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 431);
  EXPECT_NE(responses[0].body.find("chunk"), std::string::npos) << responses[0].body;
}

TEST(FramingCheck, Verdicts) {
  struct Case {
    std::string bytes;
    FramingCheck::Verdict verdict;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", FramingCheck::Verdict::ok},
      {"a\rb", FramingCheck::Verdict::bare_cr},
      {"a\r\r\n", FramingCheck::Verdict::bare_cr},
      {"a\nb", FramingCheck::Verdict::bare_lf},
      {"\n", FramingCheck::Verdict::bare_lf},
      {"a\r\n b", FramingCheck::Verdict::obs_fold},
      {"a\r\n\tb", FramingCheck::Verdict::obs_fold},
      {"a \t b\r\n", FramingCheck::Verdict::ok},
      {"a\r\nb\r\n\r\n", FramingCheck::Verdict::ok},
      {"a\r", FramingCheck::Verdict::ok},  // the LF may come in the next read
      {"a\r\n\r\r\n", FramingCheck::Verdict::bare_cr},
      {"\r\n\n", FramingCheck::Verdict::bare_lf},
      {"a\n\r\n", FramingCheck::Verdict::bare_lf},
  };
  for (const Case& c : cases) {
    for (size_t split = 0; split <= c.bytes.size(); ++split) {
      FramingCheck check;
      FramingCheck::Verdict v = check.scan(c.bytes.data(), split);
      if (v == FramingCheck::Verdict::ok)
        v = check.scan(c.bytes.data() + split, c.bytes.size() - split);
      EXPECT_EQ(v, c.verdict) << "split at " << split;
    }
  }
}

// The rules byte by byte, as the reference for the line-jumping scan.
FramingCheck::Verdict reference(const std::string& bytes) {
  char prev = 0;
  for (char c : bytes) {
    if (prev == '\r' && c != '\n') return FramingCheck::Verdict::bare_cr;
    if (c == '\n' && prev != '\r') return FramingCheck::Verdict::bare_lf;
    if ((c == ' ' || c == '\t') && prev == '\n') return FramingCheck::Verdict::obs_fold;
    prev = c;
  }
  return FramingCheck::Verdict::ok;
}

TEST(FramingCheck, AgreesWithByteByByteRulesOnRandomLinesAndSplits) {
  std::mt19937 rng(14);
  const char alphabet[] = {'a', 'b', ' ', '\t', '\r', '\n', '\r', '\n'};
  int bad = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    const size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) {
      // Mostly CRLF line ends, so that valid streams are common too.
      if (rng() % 3 == 0) {
        bytes += "\r\n";
      } else {
        bytes += alphabet[rng() % sizeof alphabet];
      }
    }
    const FramingCheck::Verdict want = reference(bytes);
    if (want != FramingCheck::Verdict::ok) ++bad;
    std::vector<size_t> cuts = {0, rng() % (bytes.size() + 1), rng() % (bytes.size() + 1),
                                bytes.size()};
    std::sort(cuts.begin(), cuts.end());
    FramingCheck check;
    FramingCheck::Verdict got = FramingCheck::Verdict::ok;
    for (size_t c = 0; c + 1 < cuts.size() && got == FramingCheck::Verdict::ok; ++c) {
      got = check.scan(bytes.data() + cuts[c], cuts[c + 1] - cuts[c]);
    }
    ASSERT_EQ(got, want) << "case " << i << " (" << ::testing::PrintToString(bytes) << ")";
  }
  EXPECT_GT(bad, 1000);
  EXPECT_LT(bad, 19000);
}

TEST(FramingCheck, BodyBetweenEndsALineOrRefusesABareCr) {
  FramingCheck check;
  EXPECT_EQ(check.scan("\r\n", 2), FramingCheck::Verdict::ok);
  EXPECT_EQ(check.body_between(), FramingCheck::Verdict::ok);
  EXPECT_EQ(check.scan(" \r\n", 3), FramingCheck::Verdict::ok);  // not a fold: body came first
  EXPECT_EQ(check.scan("\r", 1), FramingCheck::Verdict::ok);
  EXPECT_EQ(check.body_between(), FramingCheck::Verdict::bare_cr);
}

}  // namespace
}  // namespace paystream::net
