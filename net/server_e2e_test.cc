// End-to-end: the real reactor code in net-test-server, on ephemeral ports,
// driven through raw loopback sockets.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/testing/child_process.h"
#include "net/testing/raw_client.h"

namespace paystream::net {
namespace {

using testing::ChildProcess;
using testing::EnvVars;
using testing::http_request;
using testing::RawClient;

const char kGet[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

class Server : public ::testing::Test {
 protected:
  void start(EnvVars env = {}) {
    port_ = testing::start_on_ephemeral_ports(server_, "NET_TEST_SERVER", std::move(env)).port;
    ASSERT_GT(port_, 0) << "NET_TEST_SERVER did not come up: " << server_.stderr_text();
  }

  void TearDown() override {
    if (port_ <= 0) return;
    server_.send_signal(SIGTERM);
    EXPECT_EQ(server_.wait_exit(), 0) << server_.stderr_text();
    EXPECT_EQ(server_.sanitizer_report(), "");
  }

  ChildProcess server_;
  int port_ = -1;
};

TEST_F(Server, RawBytesThenResetCutsTheAnswer) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send("GET /cut HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string received;
  int error = 0;
  for (;;) {
    pollfd p{c.fd(), POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 5000), 0) << "no close within 5 s";
    char buf[4096];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n > 0) {
      received.append(buf, static_cast<size_t>(n));
      continue;
    }
    error = n < 0 ? errno : 0;
    break;
  }
  EXPECT_EQ(received, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut");
  EXPECT_EQ(error, ECONNRESET) << "closed by a reset, not a FIN";
}

TEST_F(Server, EphemeralPortAndKeepAliveReuse) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send(kGet));
    auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u) << "request " << i;
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, R"({"reactor":0})");
    EXPECT_EQ(r[0].header("connection"), "");
  }
}

TEST_F(Server, HundredPipelinedRequestsInOneWriteAnsweredInOrder) {
  start();
  std::string batch;
  for (int i = 0; i < 100; ++i) {
    // Later requests finish sooner: only the session's ordering keeps them in order.
    batch += "GET /delay?ms=" + std::to_string((100 - i) % 13) + "&id=" + std::to_string(i) +
             " HTTP/1.1\r\nHost: t\r\n\r\n";
  }
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send(batch));
  auto r = c.read_responses(100, 10000);
  ASSERT_EQ(r.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_NE(r[i].body.find("&id=" + std::to_string(i) + "\""), std::string::npos) << r[i].body;
  }
}

TEST_F(Server, OneByteAtATime) {
  start();
  const std::string request = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  for (char ch : request) {
    ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
    usleep(500);
  }
  auto r = c.read_responses(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "hello");
}

TEST_F(Server, LimitsAndErrorsAreJsonAndClose) {
  start({{"MAX_HEADER_BYTES", "1024"}, {"MAX_BODY_BYTES", "64"}});
  struct Case {
    std::string request;
    int status;
  } cases[] = {
      {"GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(2000, 'p') + "\r\n\r\n", 431},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 65\r\n\r\n", 413},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", 413},
      {"GET /hello HTTP/1.1\r\nHost : t\r\n\r\n", 400},
      {"GET /hello HTTP/1.1\r\n\r\n", 400},
  };
  for (const Case& k : cases) {
    RawClient c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.send(k.request));
    auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u) << k.request.substr(0, 60);
    EXPECT_EQ(r[0].status, k.status);
    EXPECT_EQ(r[0].header("content-type"), "application/json");
    EXPECT_EQ(r[0].header("connection"), "close");
    EXPECT_TRUE(c.wait_closed(2000));
  }
  auto not_found = http_request(port_, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(not_found);
  EXPECT_EQ(not_found->status, 404);
  auto wrong_method = http_request(port_, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->header("allow"), "GET");
}

TEST_F(Server, ExpectContinue) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  auto interim = c.read_responses(1);
  ASSERT_EQ(interim.size(), 1u);
  EXPECT_EQ(interim[0].status, 100);
  ASSERT_TRUE(c.send("abc"));
  auto r = c.read_responses(1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "abc");
}

TEST_F(Server, SlowLorisHeadAndBodyTimeouts) {
  start({{"HEADER_TIMEOUT_MS", "300"}, {"BODY_TIMEOUT_MS", "400"}, {"IDLE_TIMEOUT_MS", "500"}});
  using clock = std::chrono::steady_clock;
  {
    RawClient c;
    ASSERT_TRUE(c.connect(port_));
    const auto t0 = clock::now();
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHo"));
    auto r = c.read_responses(1, 3000);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 408);
    EXPECT_GE(clock::now() - t0, std::chrono::milliseconds(250));
    EXPECT_TRUE(c.wait_closed(2000));
  }
  {
    RawClient c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
    auto r = c.read_responses(1, 3000);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 408);
    EXPECT_TRUE(c.wait_closed(2000));
  }
  {
    // Idle keep-alive connections are closed without a response.
    RawClient c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.send(kGet));
    ASSERT_EQ(c.read_responses(1).size(), 1u);
    const auto t0 = clock::now();
    EXPECT_TRUE(c.wait_closed(3000));
    EXPECT_GE(clock::now() - t0, std::chrono::milliseconds(400));
  }
  {
    // A handler that takes longer than every timeout is not cut by them.
    auto r = http_request(port_, "GET /delay?ms=900 HTTP/1.1\r\nHost: t\r\n\r\n", 3000);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(Server, FourReactorsShareThePort) {
  start({{"REACTORS", "4"}});
  std::set<std::string> reactors;
  std::vector<RawClient> clients(64);
  for (auto& c : clients) {
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.send(kGet));
  }
  for (auto& c : clients) {
    auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    reactors.insert(r[0].body);
  }
  EXPECT_EQ(reactors.size(), 4u);
  EXPECT_TRUE(reactors.count(R"({"reactor":3})"));
}

TEST_F(Server, ConnectionsBeyondTheCapAreClosedAtOnce) {
  start({{"MAX_CONNECTIONS", "2"}});
  RawClient a;
  RawClient b;
  ASSERT_TRUE(a.connect(port_));
  ASSERT_TRUE(b.connect(port_));
  ASSERT_TRUE(a.send(kGet));
  ASSERT_TRUE(b.send(kGet));
  ASSERT_EQ(a.read_responses(1).size(), 1u);
  ASSERT_EQ(b.read_responses(1).size(), 1u);
  RawClient extra;
  ASSERT_TRUE(extra.connect(port_));  // the kernel completes the handshake
  EXPECT_TRUE(extra.wait_closed(2000));
  a.close();
  usleep(100000);
  auto r = http_request(port_, kGet);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(Server, ProbesAnswer) {
  start({{"REACTORS", "2"}});
  auto live = http_request(port_, "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  auto ready = http_request(port_, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
}

TEST_F(Server, AnswersFromAnotherThreadArriveInOrder) {
  start();
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send("GET /thread HTTP/1.1\r\nHost: t\r\n\r\n" + std::string(kGet) +
                     "GET /thread HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_responses(3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].body, R"({"thread":"worker"})");
  EXPECT_EQ(r[1].body, R"({"reactor":0})");
  EXPECT_EQ(r[2].body, R"({"thread":"worker"})");
}

TEST_F(Server, ClientLeavingBeforeTheAnswerIsHarmless) {
  start();
  for (int i = 0; i < 20; ++i) {
    RawClient c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.send("GET /delay?ms=50 HTTP/1.1\r\nHost: t\r\n\r\n"));
  }  // all closed before their answers
  usleep(200000);
  auto r = http_request(port_, kGet);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace paystream::net
