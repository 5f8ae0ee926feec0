// End-to-end graceful shutdown: SIGTERM with requests in flight.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "net/testing/child_process.h"
#include "net/testing/raw_client.h"

namespace paystream::net {
namespace {

using testing::ChildProcess;
using testing::EnvVars;
using testing::http_request;
using testing::RawClient;

int start(ChildProcess& server, EnvVars env) {
  return testing::start_on_ephemeral_ports(server, "NET_TEST_SERVER", std::move(env)).port;
}

TEST(Drain, FortyDelayedRequestsInFlightAreAllAnswered) {
  ChildProcess server;
  const int port = start(server, {{"REACTORS", "2"}});
  ASSERT_GT(port, 0);
  std::vector<RawClient> clients(40);
  const std::string slow = "GET /delay?ms=600 HTTP/1.1\r\nHost: t\r\n\r\n";
  for (size_t i = 0; i < 30; ++i) {
    ASSERT_TRUE(clients[i].connect(port));
    ASSERT_TRUE(clients[i].send(slow));
  }
  usleep(100000);
  // The last ten connect and send within a few milliseconds before the signal:
  // some are still in the listeners' backlogs when it arrives.
  for (size_t i = 30; i < 40; ++i) {
    ASSERT_TRUE(clients[i].connect(port));
    ASSERT_TRUE(clients[i].send(slow));
  }
  server.send_signal(SIGTERM);
  for (size_t i = 0; i < clients.size(); ++i) {
    auto r = clients[i].read_responses(1, 5000);
    ASSERT_EQ(r.size(), 1u) << "connection " << i;
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].header("connection"), "close");
    EXPECT_TRUE(clients[i].wait_closed(2000)) << "connection " << i;
  }
  EXPECT_EQ(server.wait_exit(5000), 0) << server.stderr_text();
  EXPECT_EQ(server.sanitizer_report(), "");
}

TEST(Drain, ReadyzFailsAtOnceWhileLivezStaysUpDuringTheDrainDelay) {
  ChildProcess server;
  const int port = start(server, {{"DRAIN_DELAY_MS", "800"}});
  ASSERT_GT(port, 0);
  RawClient idle;
  ASSERT_TRUE(idle.connect(port));
  ASSERT_TRUE(idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_EQ(idle.read_responses(1).size(), 1u);
  server.send_signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line("shutdown: draining"));
  auto ready = http_request(port, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  auto live = http_request(port, "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  // After the delay the idle keep-alive connection is closed and the process exits.
  EXPECT_TRUE(idle.wait_closed(3000));
  EXPECT_EQ(server.wait_exit(5000), 0);
  EXPECT_EQ(server.sanitizer_report(), "");
}

TEST(Drain, DeadlineCutsWhatIsLeftAndExitsOne) {
  ChildProcess server;
  const int port = start(server, {{"DRAIN_TIMEOUT_MS", "300"}});
  ASSERT_GT(port, 0);
  RawClient c;
  ASSERT_TRUE(c.connect(port));
  ASSERT_TRUE(c.send("GET /delay?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n"));
  usleep(50000);
  server.send_signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(3000), 1) << server.stderr_text();
  EXPECT_TRUE(server.wait_for_line("drain deadline cut requests", 10));
}

TEST(Drain, ADeadlineThatMeetsAnEmptyReactorsDrainIsNotACrash) {
  // Drain and deadline land in the same batch of a reactor's tasks: finishing twice
  // used to abort in libuv. Nothing was in flight, so the exit is 0.
  for (int run = 0; run < 6; ++run) {
    ChildProcess server;
    const int port = start(server, {{"REACTORS", "8"}, {"DRAIN_TIMEOUT_MS", "1"}});
    ASSERT_GT(port, 0);
    server.send_signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(5000), 0) << "run " << run << ": " << server.stderr_text();
    EXPECT_EQ(server.sanitizer_report(), "");
  }
}

TEST(Drain, AConnectionThatNeverSpokeIsClosedQuietlyAfterAShortGrace) {
  ChildProcess server;
  const int port = start(server, {});  // HEADER_TIMEOUT_MS 5000
  ASSERT_GT(port, 0);
  RawClient silent;
  ASSERT_TRUE(silent.connect(port));
  usleep(50000);
  server.send_signal(SIGTERM);
  EXPECT_TRUE(silent.wait_closed(3000));
  EXPECT_TRUE(silent.read_responses(1, 10).empty()) << "no 408 for a client that asked nothing";
  EXPECT_EQ(server.wait_exit(3000), 0);
}

TEST(Drain, ASignalBetweenListeningAndRunningDrainsTheBacklog) {
  // The server announces "listening", then waits before its loops run: a client
  // already queued in the backlog and a SIGTERM in that window.
  ChildProcess server;
  const int port = start(server, {{"PAUSE_BEFORE_RUN_MS", "300"}});
  ASSERT_GT(port, 0);
  RawClient queued;
  ASSERT_TRUE(queued.connect(port));
  ASSERT_TRUE(queued.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  server.send_signal(SIGTERM);
  // Answered (with or without "Connection: close": a reactor may take the connection
  // before the admin loop has turned the signal into a drain), then closed.
  auto r = queued.read_responses(1, 5000);
  ASSERT_EQ(r.size(), 1u) << server.stderr_text();
  EXPECT_EQ(r[0].status, 200);
  EXPECT_TRUE(queued.wait_closed(3000));
  EXPECT_EQ(server.wait_exit(5000), 0) << server.stderr_text();
  EXPECT_TRUE(server.wait_for_line("shutdown: draining", 10));
  EXPECT_EQ(server.sanitizer_report(), "");
}

TEST(Drain, ASignalAtAnyInstantOfStartUpExitsZero) {
  // The child starts with the signal blocked, so one sent at 0 ms is pending until
  // main runs: every delay lands somewhere in start-up, before or after "listening".
  for (const int delay_us : {0, 500, 1000, 2000, 3000, 5000, 8000, 13000, 21000, 34000}) {
    ChildProcess server;
    server.block_termination_signals_at_start();
    ASSERT_TRUE(server.start(testing::binary_from_env("NET_TEST_SERVER"),
                             {{"PORT", "0"}, {"ADMIN_PORT", "0"}, {"REACTORS", "2"}}));
    usleep(static_cast<useconds_t>(delay_us));
    server.send_signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(5000), 0) << delay_us << " us: " << server.stderr_text();
    EXPECT_TRUE(server.wait_for_line("shutdown: draining", 10)) << delay_us << " us";
    EXPECT_EQ(server.sanitizer_report(), "");
  }
}

TEST(Drain, SecondSignalExitsAtOnce) {
  ChildProcess server;
  const int port = start(server, {{"DRAIN_DELAY_MS", "10000"}});
  ASSERT_GT(port, 0);
  server.send_signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line("shutdown: draining"));
  server.send_signal(SIGINT);
  EXPECT_EQ(server.wait_exit(2000), 1);
}

}  // namespace
}  // namespace paystream::net
