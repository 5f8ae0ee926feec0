// End-to-end: the authload binary against authload-stall-server (bench/authload/testing/),
// both real processes on loopback ephemeral ports. Reads authload's --json report.
//
// Timing tolerances are for a loaded 2-core CI machine: rates are checked on request counts
// and on the send window (first due time to last send), which a short preemption of the
// generator barely moves; latency claims use servers whose latency dwarfs scheduler noise.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/testing/child_process.h"

namespace paystream::bench {
namespace {

using net::testing::ChildProcess;
using net::testing::EnvVars;

struct Report {
  int exit_code = -1;
  std::string log;  // authload's stderr
  std::string json;
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element root;

  double number(const std::string& pointer) const {
    double value = -1;
    simdjson::dom::element e;
    if (root.at_pointer(pointer).get(e) != simdjson::SUCCESS) {
      ADD_FAILURE() << "no " << pointer << " in\n" << json;
      return -1;
    }
    if (e.is_double()) return double(e);
    if (e.is_uint64()) return static_cast<double>(uint64_t(e));
    if (e.is_int64()) return static_cast<double>(int64_t(e));
    ADD_FAILURE() << pointer << " is not a number";
    return value;
  }
  bool flag(const std::string& pointer) const {
    bool value = false;
    EXPECT_EQ(root.at_pointer(pointer).get(value), simdjson::SUCCESS) << pointer;
    return value;
  }
  std::string reasons() const {
    std::string all;
    simdjson::dom::array list;
    if (root["invalid_reasons"].get(list) != simdjson::SUCCESS) return "(none)";
    for (simdjson::dom::element r : list) all += std::string(std::string_view(r)) + "; ";
    return all;
  }
};

class AuthLoad : public ::testing::Test {
 protected:
  int start_server(ChildProcess& server, EnvVars env) {
    env.emplace_back("PORT", "0");
    const std::string binary = net::testing::binary_from_env("AUTHLOAD_STALL_SERVER");
    EXPECT_FALSE(binary.empty()) << "AUTHLOAD_STALL_SERVER not set";
    EXPECT_TRUE(server.start(binary, env));
    const int port = server.wait_for_number("\"listening\"", "port");
    EXPECT_GT(port, 0) << server.stderr_text();
    return port;
  }

  Report run(std::vector<std::string> args, int timeout_ms = 30000) {
    const std::string json_path = ::testing::TempDir() + "authload_" + std::to_string(getpid()) +
                                  "_" + std::to_string(runs_++) + ".json";
    std::remove(json_path.c_str());
    args.push_back("--json");
    args.push_back(json_path);
    ChildProcess authload;
    Report report;
    const std::string binary = net::testing::binary_from_env("AUTHLOAD");
    EXPECT_FALSE(binary.empty()) << "AUTHLOAD not set";
    EXPECT_TRUE(authload.start(binary, {}, args));
    report.exit_code = authload.wait_exit(timeout_ms);
    report.log = authload.stderr_text();
    std::ifstream in(json_path);
    std::stringstream text;
    text << in.rdbuf();
    report.json = text.str();
    std::remove(json_path.c_str());
    if (!report.json.empty()) {
      EXPECT_EQ(report.parser->parse(report.json).get(report.root), simdjson::SUCCESS)
          << report.json;
    }
    return report;
  }

  static std::string target(int port) { return "127.0.0.1:" + std::to_string(port); }

  int runs_ = 0;
};

TEST_F(AuthLoad, StallingServerShowsInTheTail) {
  // Stops for 100 ms once per second. 200 requests come due during each stall; an open-loop
  // generator keeps sending them, each measured from its scheduled time, so the stall spreads
  // over the tail. A closed-loop tool (wrk) would have only its connections' few requests in
  // flight during the stall and would simply not send the rest until it ended.
  ChildProcess server;
  const int port = start_server(server, {{"STALL_MS", "100"}, {"STALL_EVERY_MS", "1000"}});
  const Report r = run({"--target", target(port), "--rate", "2000", "--duration", "3", "--warmup",
                        "0.5", "--connections", "64", "--pipeline", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(r.number("/requests/sent"), 6000);
  EXPECT_EQ(r.number("/requests/responses"), 6000);
  EXPECT_EQ(r.number("/requests/errors"), 0);
  const double max_us = r.number("/latency_us/max");
  const double p99_9_us = r.number("/latency_us/p99_9");
  EXPECT_TRUE(max_us >= 100'000 || p99_9_us >= 100'000) << "max " << max_us;
  // ~10% of requests fall in a stall: the p99 is deep inside it.
  EXPECT_GE(r.number("/latency_us/p99"), 50'000);
  EXPECT_LT(r.number("/latency_us/p50"), 50'000);
  // Validity is not asserted: the burst of answers after each stall delays a few sends by some
  // milliseconds, which a loaded machine can push past 10% of the p99.
}

TEST_F(AuthLoad, RateIsAccurate) {
  ChildProcess server;
  const int port = start_server(server, {});
  const Report r = run({"--target", target(port), "--rate", "5000", "--duration", "3", "--warmup",
                        "0.5", "--method", "GET", "--path", "/livez"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  const double sent = r.number("/requests/sent");
  EXPECT_NEAR(sent, 15000, 15000 * 0.02);
  EXPECT_EQ(r.number("/requests/scheduled"), 15000);
  EXPECT_EQ(r.number("/requests/responses"), sent);
  EXPECT_NEAR(r.number("/achieved_rate"), 5000, 5000 * 0.02) << r.reasons();
  EXPECT_EQ(r.number("/target_rate"), 5000);
  EXPECT_EQ(r.number("/status_codes/200"), sent);
}

TEST_F(AuthLoad, NormalRunIsValidAndCountsVerdicts) {
  // 200 ms answers, the service's default simulated processor latency: scheduler noise on a
  // busy machine (a few ms) stays far below 10% of the p99. A machine so busy that it takes the
  // CPU from the generator for tens of milliseconds makes the run invalid, correctly, by send
  // lag: up to three attempts, each invalid one blaming the send lag only.
  ChildProcess server;
  const int port = start_server(server, {{"DELAY_MS", "200"}});
  Report r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    r = run({"--target", target(port), "--rate", "500", "--duration", "2", "--warmup", "0.3",
             "--connections", "150"});
    ASSERT_EQ(r.exit_code, 0) << r.log;
    if (r.flag("/valid")) break;
    EXPECT_EQ(r.reasons().find("send lag p99"), 0u) << r.reasons();
    EXPECT_EQ(r.reasons().find("achieved"), std::string::npos) << r.reasons();
  }
  EXPECT_TRUE(r.flag("/valid")) << r.reasons();
  EXPECT_EQ(r.reasons(), "");
  EXPECT_EQ(r.number("/requests/responses"), 1000);
  EXPECT_EQ(r.number("/authorize/approved") + r.number("/authorize/declined"), 1000);
  EXPECT_EQ(r.number("/authorize/declined"), 100);  // the server declines one in ten
  EXPECT_GE(r.number("/latency_us/p50"), 195'000);  // the server's timer has 1 ms granularity
  EXPECT_NE(r.log.find("authload ["), std::string::npos) << "live status line";
}

TEST_F(AuthLoad, TooFewConnectionsMakeTheRunInvalid) {
  // One connection, one request at a time, 20 ms each: at most 50/s of the 500/s asked.
  ChildProcess server;
  const int port = start_server(server, {{"DELAY_MS", "20"}});
  const Report r = run({"--target", target(port), "--rate", "500", "--duration", "1", "--warmup",
                        "0", "--connections", "1", "--timeout", "0.5", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_FALSE(r.flag("/valid"));
  const std::string reasons = r.reasons();
  EXPECT_NE(reasons.find("achieved rate"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("send lag"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("raise --connections or --pipeline"), std::string::npos) << reasons;
  EXPECT_LT(r.number("/achieved_rate"), 100);
  EXPECT_GT(r.number("/errors/timeout"), 0) << "requests that never got a connection";
  EXPECT_EQ(r.number("/requests/responses") + r.number("/errors/timeout"), 500)
      << "every request is accounted for";
  EXPECT_TRUE(r.log.empty()) << "--quiet: " << r.log;
}

TEST_F(AuthLoad, LateSchedulerMakesTheRunInvalid) {
  // --tick-us: the scheduler wakes every 10 ms and sends what came due meanwhile in a burst.
  ChildProcess server;
  const int port = start_server(server, {{"DELAY_MS", "2"}});
  const Report r = run({"--target", target(port), "--rate", "1000", "--duration", "2", "--warmup",
                        "0.2", "--connections", "32", "--tick-us", "10000"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_FALSE(r.flag("/valid"));
  const std::string reasons = r.reasons();
  EXPECT_NE(reasons.find("send lag p99"), std::string::npos) << reasons;
  EXPECT_EQ(reasons.find("achieved rate"), std::string::npos) << reasons;
  EXPECT_GE(r.number("/send_lag_us/p99"), 5'000);
}

TEST_F(AuthLoad, WeightSplitsTrafficBetweenTwoTargets) {
  ChildProcess first;
  ChildProcess second;
  const int port1 = start_server(first, {});
  const int port2 = start_server(second, {});
  const Report r =
      run({"--target", target(port1), "--target", target(port2), "--weight", "20", "--rate", "2000",
           "--duration", "1", "--warmup", "0.2", "--threads", "2", "--connections", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  const double to_first = r.number("/targets/0/requests/sent");
  const double to_second = r.number("/targets/1/requests/sent");
  EXPECT_EQ(to_first + to_second, 2000);
  EXPECT_NEAR(100 * to_second / (to_first + to_second), 20, 2);
  EXPECT_EQ(r.number("/targets/1/share_percent"), 20);
  EXPECT_EQ(r.number("/targets/1/connections"), 2);
  EXPECT_EQ(r.number("/targets/1/requests/responses"), to_second);
  EXPECT_EQ(r.number("/targets/0/requests/responses"), to_first);
  EXPECT_GT(r.number("/targets/1/latency_us/count"), 0);
}

TEST_F(AuthLoad, ReconnectsAndResendsWhenTheServerCloses) {
  // Every 7th answer says Connection: close. Answers take 5 ms, so at 2000/s several requests
  // are pipelined behind it on its connection: the server never answers them, authload sends
  // them again on another connection.
  ChildProcess server;
  const int port = start_server(server, {{"CLOSE_EVERY", "7"}, {"DELAY_MS", "5"}});
  const Report r = run({"--target", target(port), "--rate", "2000", "--duration", "1", "--warmup",
                        "0.2", "--connections", "8", "--pipeline", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(r.number("/requests/sent"), 2000);
  EXPECT_EQ(r.number("/requests/responses"), 2000);
  EXPECT_EQ(r.number("/requests/errors"), 0);
  EXPECT_GT(r.number("/requests/resent"), 0);
  EXPECT_GT(r.number("/connection_events/closed_by_server_request"), 100);
}

TEST_F(AuthLoad, DuplicatesAreCheckedAgainstTheirOriginal) {
  // The test server answers keys as the service's contract says. 20 ms answers at 1000/s keep
  // ~20 requests in flight: concurrent duplicates find an original to copy. Two threads: keys
  // must be unique across them, or originals would collide (extra 409, 422 or replays).
  ChildProcess server;
  const int port = start_server(server, {{"IDEMPOTENCY", "1"}, {"DELAY_MS", "20"}});
  const Report r =
      run({"--target", target(port), "--rate", "1000", "--duration", "1", "--warmup", "0.2",
           "--connections", "64", "--threads", "2", "--quiet", "--idempotency-keys",
           "--duplicate-fraction", "0.2", "--conflict-fraction", "0.05"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(r.number("/idempotency/keyed"), 1000);
  EXPECT_EQ(r.number("/idempotency/failures"), 0);
  EXPECT_EQ(r.number("/idempotency/executed_twice"), 0);
  EXPECT_EQ(r.number("/idempotency/untracked"), 0);
  EXPECT_EQ(r.number("/idempotency/retry_after_missing"), 0);
  const double sequential = r.number("/idempotency/sequential/responses");
  EXPECT_GT(sequential, 50);
  EXPECT_EQ(r.number("/idempotency/sequential/replayed"), sequential);
  EXPECT_EQ(r.number("/idempotency/sequential/matched"), sequential);
  EXPECT_GT(r.number("/idempotency/concurrent/in_use"), 50);
  EXPECT_GT(r.number("/idempotency/conflicting/reused"), 20);
  EXPECT_EQ(r.number("/idempotency/conflicting/replayed"), 0);
  // Only duplicates got anything but a fresh execution.
  EXPECT_EQ(r.number("/idempotency/in_use"), r.number("/idempotency/concurrent/in_use"));
  EXPECT_EQ(r.number("/status_codes/409"), r.number("/idempotency/in_use"));
  EXPECT_EQ(r.number("/idempotency/http_422"), r.number("/idempotency/conflicting/reused"));
  EXPECT_EQ(r.number("/idempotency/replayed"),
            sequential + r.number("/idempotency/concurrent/replayed"));
  EXPECT_EQ(r.number("/requests/responses"), 1000);
}

TEST_F(AuthLoad, DuplicatesAgainstTheRealServiceAreReplayedOrRefused) {
  // The real paystream-authd with its embedded store, two reactors: every sequential
  // duplicate replayed byte for byte, concurrent ones 409 (or an early replay), conflicting
  // reuses 422, nothing executed twice.
  ChildProcess authd;
  const net::testing::ListeningPorts ports =
      net::testing::start_on_ephemeral_ports(authd, "PAYSTREAM_AUTHD",
                                             {{"REACTORS", "2"},
                                              {"LATENCY_BASE_MS", "20"},
                                              {"LATENCY_JITTER_MS", "0"},
                                              {"SUCCESS_RATE", "0.9"}});
  ASSERT_GT(ports.port, 0) << authd.stderr_text();
  const Report r =
      run({"--target", target(ports.port), "--rate", "800", "--duration", "1", "--warmup", "0.2",
           "--connections", "64", "--threads", "2", "--quiet", "--idempotency-keys",
           "--duplicate-fraction", "0.2", "--conflict-fraction", "0.05"});
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(r.number("/idempotency/failures"), 0);
  EXPECT_EQ(r.number("/idempotency/executed_twice"), 0);
  EXPECT_EQ(r.number("/idempotency/retry_after_missing"), 0);
  const double sequential = r.number("/idempotency/sequential/responses");
  EXPECT_GT(sequential, 30);
  EXPECT_EQ(r.number("/idempotency/sequential/matched"), sequential);
  EXPECT_GT(r.number("/idempotency/conflicting/reused"), 10);
  EXPECT_EQ(r.number("/idempotency/conflicting/replayed"), 0);
  EXPECT_EQ(r.number("/idempotency/store_unavailable"), 0);
  authd.send_signal(SIGTERM);
  EXPECT_EQ(authd.wait_exit(), 0);
}

TEST_F(AuthLoad, ReplayDifferingFromTheOriginalFailsTheRun) {
  // IDEMPOTENCY=2 changes one byte of every replayed body; without keys support at all, the
  // duplicates would be executed twice: both are failures, exit status 3.
  ChildProcess broken;
  const int port = start_server(broken, {{"IDEMPOTENCY", "2"}, {"DELAY_MS", "5"}});
  Report r = run({"--target", target(port), "--rate", "500", "--duration", "0.5", "--warmup", "0",
                  "--quiet", "--idempotency-keys", "--duplicate-fraction", "0.2",
                  "--duplicate-mode", "sequential"});
  EXPECT_EQ(r.exit_code, 3) << r.log;
  EXPECT_GT(r.number("/idempotency/sequential/mismatched"), 0);
  EXPECT_EQ(r.number("/idempotency/sequential/matched"), 0);
  EXPECT_EQ(r.number("/idempotency/failures"), r.number("/idempotency/sequential/mismatched"));
  EXPECT_NE(r.log.find("idempotency failures"), std::string::npos) << r.log;

  ChildProcess unaware;
  const int port2 = start_server(unaware, {{"DELAY_MS", "5"}});
  r = run({"--target", target(port2), "--rate", "500", "--duration", "0.5", "--warmup", "0",
           "--quiet", "--idempotency-keys", "--duplicate-fraction", "0.2", "--duplicate-mode",
           "sequential"});
  EXPECT_EQ(r.exit_code, 3) << r.log;
  EXPECT_GT(r.number("/idempotency/executed_twice"), 0);
  EXPECT_EQ(r.number("/idempotency/replayed"), 0);
}

TEST_F(AuthLoad, CannotConnectIsARunError) {
  // A port that was free a moment ago: nothing listens there.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  const Report r = run({"--target", target(ntohs(addr.sin_port)), "--rate", "100", "--duration",
                        "1", "--timeout", "1"},
                       10000);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.log.find("cannot connect to 127.0.0.1:"), std::string::npos) << r.log;
}

TEST_F(AuthLoad, UsageErrorsExitTwo) {
  EXPECT_EQ(run({"--target", "127.0.0.1:1"}, 5000).exit_code, 2);
  EXPECT_EQ(run({"--rate", "10", "--target", "127.0.0.1:1", "--pipeline", "x"}, 5000).exit_code, 2);
  EXPECT_EQ(run({"--help"}, 5000).exit_code, 0);
}

}  // namespace
}  // namespace paystream::bench
