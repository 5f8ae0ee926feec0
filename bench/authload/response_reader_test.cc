#include "bench/authload/response_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace paystream::bench {
namespace {

struct Collect : ResponseReader::Sink {
  bool on_response(const HttpResponse& response) override {
    got.push_back(response);
    return true;
  }
  std::vector<HttpResponse> got;
};

std::string response(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kApproved = R"({"transaction_id":"txn_1","status":"approved","amount":"1.00"})";
const std::string kDeclined = R"({"transaction_id":"txn_2","status":"declined"})";

std::string three_pipelined() {
  return response(200, kApproved) + response(503, R"({"error":"circuit_open"})") +
         response(200, kDeclined);
}

void expect_three(const std::vector<HttpResponse>& got) {
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].status, 200);
  EXPECT_EQ(got[0].verdict, Verdict::approved);
  EXPECT_EQ(got[1].status, 503);
  EXPECT_EQ(got[1].verdict, Verdict::none);
  EXPECT_EQ(got[2].verdict, Verdict::declined);
  for (const HttpResponse& r : got) EXPECT_TRUE(r.keep_alive);
}

TEST(ResponseReader, PipelinedResponsesInOneRead) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = three_pipelined();
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  expect_three(sink.got);
  EXPECT_FALSE(reader.in_response());
}

TEST(ResponseReader, PipelinedResponsesOneByteAtATime) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = three_pipelined();
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(reader.feed(bytes.data() + i, 1, sink), ResponseReader::Status::ok) << i;
    if (i == 0) {
      EXPECT_TRUE(reader.in_response());
    }
  }
  expect_three(sink.got);
  EXPECT_FALSE(reader.in_response());
}

TEST(ResponseReader, ChunkedBodySplitInsideTheVerdict) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "c\r\n{\"status\" : \r\n9\r\n\"declined\r\n2\r\n\"}\r\n0\r\n\r\n";
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].verdict, Verdict::declined);
}

TEST(ResponseReader, ConnectionCloseStopsAfterThatResponse) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes =
      response(200, kApproved, "Connection: close\r\n") + response(200, kApproved);
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::stopped);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_FALSE(sink.got[0].keep_alive);
}

TEST(ResponseReader, CloseDelimitedBodyEndsAtEof) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = "HTTP/1.0 200 OK\r\n\r\n{\"status\":\"approved\"}";
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  EXPECT_TRUE(sink.got.empty());
  EXPECT_NE(reader.finish(sink), ResponseReader::Status::error);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].verdict, Verdict::approved);
  EXPECT_FALSE(sink.got[0].keep_alive);
}

TEST(ResponseReader, ResponseCutShortIsAnErrorAtEof) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  EXPECT_TRUE(reader.in_response());
  EXPECT_EQ(reader.finish(sink), ResponseReader::Status::error);
  EXPECT_TRUE(sink.got.empty());
}

TEST(ResponseReader, InterimContinueIsSkipped) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = "HTTP/1.1 100 Continue\r\n\r\n" + response(201, "{}");
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].status, 201);
}

TEST(ResponseReader, HeadResponsesHaveNoBody) {
  ResponseReader reader(true);
  Collect sink;
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
  const std::string bytes = head + head;
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  EXPECT_EQ(sink.got.size(), 2u);
}

TEST(ResponseReader, GarbageIsAnError) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = "SSH-2.0-OpenSSH\r\n";
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::error);
  EXPECT_TRUE(sink.got.empty());
  reader.reset();
  const std::string ok = response(204, "");
  EXPECT_EQ(reader.feed(ok.data(), ok.size(), sink), ResponseReader::Status::ok);
  EXPECT_EQ(sink.got.size(), 1u);
}

TEST(ResponseReader, SinkCanStopParsing) {
  struct StopAfterOne : ResponseReader::Sink {
    bool on_response(const HttpResponse&) override { return ++count < 1; }
    int count = 0;
  } sink;
  ResponseReader reader(false);
  const std::string bytes = three_pipelined();
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::stopped);
  EXPECT_EQ(sink.count, 1);
}

TEST(ResponseReader, ReplayHeaderIsReadWhenTracking) {
  ResponseReader reader(false, true);
  Collect sink;
  const std::string bytes = response(200, kApproved, "Idempotent-Replayed: true\r\n") +
                            response(200, kApproved, "idempotent-replayed:   true  \r\n") +
                            response(200, kApproved, "Idempotent-Replayed: false\r\n") +
                            response(200, kApproved, "Idempotent-Replayed: truex\r\n") +
                            response(200, kApproved, "X-Idempotent-Replayed: true\r\n") +
                            response(200, kApproved);
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  ASSERT_EQ(sink.got.size(), 6u);
  EXPECT_TRUE(sink.got[0].replayed);
  EXPECT_TRUE(sink.got[1].replayed);
  for (size_t i = 2; i < 6; ++i) EXPECT_FALSE(sink.got[i].replayed) << i;
}

TEST(ResponseReader, ReplayHeaderSplitAcrossReads) {
  ResponseReader reader(false, true);
  std::vector<bool> replayed;
  struct Keep : ResponseReader::Sink {
    bool on_response(const HttpResponse& r) override {
      replayed->push_back(r.replayed);
      bodies->emplace_back(r.body);
      return true;
    }
    std::vector<bool>* replayed;
    std::vector<std::string>* bodies;
  } sink;
  std::vector<std::string> bodies;
  sink.replayed = &replayed;
  sink.bodies = &bodies;
  const std::string bytes = response(200, kApproved, "Idempotent-Replayed: true\r\n") +
                            response(409, R"({"error":"idempotency_key_in_use"})");
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(reader.feed(bytes.data() + i, 1, sink), ResponseReader::Status::ok) << i;
  }
  EXPECT_EQ(replayed, (std::vector<bool>{true, false}));
  EXPECT_EQ(bodies[0], kApproved) << "the whole body, for comparing replays";
  EXPECT_EQ(bodies[1], R"({"error":"idempotency_key_in_use"})");
}

TEST(ResponseReader, RetryAfterIsSeen) {
  ResponseReader reader(false, true);
  Collect sink;
  const std::string bytes = response(409, "{}", "Retry-After: 1\r\n") + response(409, "{}");
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  ASSERT_EQ(sink.got.size(), 2u);
  EXPECT_TRUE(sink.got[0].retry_after);
  EXPECT_FALSE(sink.got[1].retry_after);
}

TEST(ResponseReader, HeadersAreIgnoredWithoutTracking) {
  ResponseReader reader(false);
  Collect sink;
  const std::string bytes = response(200, kApproved, "Idempotent-Replayed: true\r\n");
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_FALSE(sink.got[0].replayed);
}

TEST(ResponseReader, LongBodiesAreMarkedIncomplete) {
  const std::string long_body(ResponseReader::kKeptBodyBytes + 1, 'x');
  const std::string fits(ResponseReader::kKeptBodyBytes, 'y');
  struct Keep : ResponseReader::Sink {
    bool on_response(const HttpResponse& r) override {
      complete.push_back(r.body_complete);
      sizes.push_back(r.body.size());
      return true;
    }
    std::vector<bool> complete;
    std::vector<size_t> sizes;
  } sink;
  ResponseReader reader(false, true);
  const std::string bytes = response(200, long_body) + response(200, fits);
  EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), sink), ResponseReader::Status::ok);
  EXPECT_EQ(sink.complete, (std::vector<bool>{false, true}));
  EXPECT_EQ(sink.sizes, (std::vector<size_t>{ResponseReader::kKeptBodyBytes, fits.size()}));
}

TEST(FindErrorCode, Variants) {
  EXPECT_EQ(find_error_code(R"({"error":"idempotency_key_in_use","message":"x"})"),
            "idempotency_key_in_use");
  EXPECT_EQ(find_error_code("{\"error\" : \"idempotency_key_reused\"}"), "idempotency_key_reused");
  EXPECT_EQ(find_error_code(R"({"message":"error","error":"circuit_open"})"), "circuit_open");
  EXPECT_EQ(find_error_code(R"({"status":"approved"})"), "");
  EXPECT_EQ(find_error_code(R"({"error":null})"), "");
  EXPECT_EQ(find_error_code(R"({"error":"cut)"), "");
}

TEST(FindVerdict, Variants) {
  EXPECT_EQ(find_verdict(R"({"status":"approved"})"), Verdict::approved);
  EXPECT_EQ(find_verdict("{\"status\" :\n \"declined\"}"), Verdict::declined);
  EXPECT_EQ(find_verdict(R"({"x":"status","status":"declined"})"), Verdict::declined);
  EXPECT_EQ(find_verdict(R"({"status":"pending"})"), Verdict::none);
  EXPECT_EQ(find_verdict(R"({"status":)"), Verdict::none);
  EXPECT_EQ(find_verdict(""), Verdict::none);
}

}  // namespace
}  // namespace paystream::bench
