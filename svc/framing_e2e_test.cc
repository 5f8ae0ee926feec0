// End-to-end: request-smuggling framings against POST /v1/authorize on the real
// paystream-authd. Each is refused with 400 and the connection closed; the same
// request well framed is approved.

#include <gtest/gtest.h>

#include <string>

#include "svc/testing/authd.h"

namespace paystream::svc {
namespace {

using testing::Authd;

const std::string kBody =
    R"({"card_number":"4111111111111111","currency":"USD","amount":"12.50","merchant":"Acme"})";

std::string hex(size_t n) {
  char digits[17];
  snprintf(digits, sizeof digits, "%zx", n);
  return digits;
}

const std::string kHead =
    "POST /v1/authorize HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n";
const std::string kChunkedBody = hex(kBody.size()) + "\r\n" + kBody + "\r\n0\r\n\r\n";

struct Attack {
  const char* name;
  std::string bytes;
};

class Framing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        authd_.start({{"SUCCESS_RATE", "1"}, {"LATENCY_BASE_MS", "1"}, {"LATENCY_JITTER_MS", "0"}}))
        << authd_.process.stderr_text();
  }
  void TearDown() override {
    if (authd_.port <= 0) return;
    EXPECT_EQ(authd_.stop(), 0);
    EXPECT_EQ(authd_.process.sanitizer_report(), "");
    EXPECT_EQ(authd_.process.stderr_text().find("4111111111111111"), std::string::npos);
  }
  net::testing::ParsedResponse send_one(const std::string& bytes, bool* closed) {
    net::testing::RawClient client;
    EXPECT_TRUE(client.connect(authd_.port));
    EXPECT_TRUE(client.send(bytes));
    auto responses = client.read_responses(1);
    *closed = client.wait_closed(3000);
    return responses.empty() ? net::testing::ParsedResponse{} : responses.front();
  }
  Authd authd_;
};

TEST_F(Framing, WellFramedRequestsAreApproved) {
  for (const std::string& bytes :
       {kHead + "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody,
        kHead + "Transfer-Encoding: chunked\r\n\r\n" + kChunkedBody}) {
    bool closed = false;
    auto r =
        send_one(bytes + "GET /livez HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &closed);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(closed);
  }
}

TEST_F(Framing, SmugglingFramingsAreRefusedAndTheConnectionClosed) {
  const Attack attacks[] = {
      {"two bytes instead of CRLF after chunk data", kHead + "Transfer-Encoding: chunked\r\n\r\n" +
                                                         hex(kBody.size()) + "\r\n" + kBody +
                                                         "XY0\r\n\r\n"},
      {"Transfer-Encoding folded after an empty first line",
       kHead + "Transfer-Encoding:\r\n chunked\r\n\r\n" + kChunkedBody},
      {"Content-Length folded after an empty first line",
       kHead + "Content-Length:\r\n " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody},
      {"Content-Length with a bare CR and junk before the digits",
       kHead + "Content-Length:\rX " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody},
      {"HTTP/1.0 with Transfer-Encoding and keep-alive",
       "POST /v1/authorize HTTP/1.0\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n" +
           kChunkedBody},
  };
  for (const Attack& a : attacks) {
    bool closed = false;
    // A request behind the attack: refused framing must not let it through.
    auto r = send_one(a.bytes + "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n", &closed);
    EXPECT_EQ(r.status, 400) << a.name << ": " << r.body;
    EXPECT_EQ(r.header("connection"), "close") << a.name;
    EXPECT_EQ(r.body.rfind("{\"error\":\"bad_request\"", 0), 0u) << a.name << ": " << r.body;
    EXPECT_TRUE(closed) << a.name;
  }
}

}  // namespace
}  // namespace paystream::svc
