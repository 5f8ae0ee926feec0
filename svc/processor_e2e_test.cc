// The processor link end to end: the real paystream-authd in PROCESSOR_MODE=http against the
// real paystream-processor-sim, both on ephemeral loopback ports. Each processor failure the
// issue names (down, slow, resetting mid-answer, garbage, idle connections closed, a full
// pool) is checked as the client sees it, with the breaker and the simulator's own counts.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "svc/testing/authd.h"

namespace paystream::svc::testing {
namespace {

using Clock = std::chrono::steady_clock;
using net::testing::ChildProcess;

constexpr const char* kCard = "4111111111111111";
const std::string kBody = std::string(R"({"card_number":")") + kCard +
                          R"(","amount":"24.50","currency":"USD","merchant":"Shop"})";

long ms_since(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The simulator as a child process, on ephemeral ports unless `port` is given.
class Sim {
 public:
  bool start(std::vector<std::string> args, int port = 0) {
    args.insert(args.begin(), {"--port", std::to_string(port), "--admin-port", "0"});
    if (!process.start(net::testing::binary_from_env("PAYSTREAM_PROCESSOR_SIM"), {}, args)) {
      return false;
    }
    this->port = process.wait_for_number("\"msg\":\"listening\"", "port");
    admin_port = process.wait_for_number("\"msg\":\"listening\"", "admin_port");
    return this->port > 0 && admin_port > 0;
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port) + "/v1/authorizations";
  }
  // PUT /admin/faults.
  bool faults(const std::string& json) const {
    const auto r =
        net::testing::http_request(admin_port,
                                   "PUT /admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                   "application/json\r\nContent-Length: " +
                                       std::to_string(json.size()) + "\r\n\r\n" + json);
    return r && r->status == 200;
  }
  // A member of GET /admin/stats, -1 when absent.
  long stat(const std::string& name) const {
    const auto r = net::testing::http_request(
        admin_port, "GET /admin/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    if (!r || r->status != 200) return -1;
    const std::string value = json_member(r->body, name);
    return value.empty() ? -1 : std::atol(value.c_str());
  }

  ChildProcess process;
  int port = -1;
  int admin_port = -1;
};

class ProcessorLink : public ::testing::Test {
 protected:
  // The service in http mode against `url`, with `extra` on top of the defaults below.
  void start_authd(const std::string& url, EnvVars extra = {}) {
    EnvVars env = {{"PROCESSOR_MODE", "http"},
                   {"PROCESSOR_URL", url},
                   {"REACTORS", "1"},
                   {"PROCESSOR_TIMEOUT_MS", "1000"},
                   {"CB_FAILURE_THRESHOLD", "3"},
                   {"CB_OPEN_TIMEOUT_MS", "400"},
                   {"CB_HALF_OPEN_MAX_REQUESTS", "1"}};
    for (auto& e : extra) {
      bool replaced = false;
      for (auto& d : env) {
        if (d.first == e.first) {
          d.second = e.second;
          replaced = true;
        }
      }
      if (!replaced) env.push_back(std::move(e));
    }
    ASSERT_TRUE(authd_.start(env)) << authd_.process.stderr_text();
  }
  std::optional<ParsedResponse> authorize() const { return authd_.authorize(kBody); }
  int status() const {
    const auto r = authorize();
    return r ? r->status : 0;
  }
  long processor_calls(const std::string& result) const {
    return metric(authd_, "auth_processor_calls_total{result=\"" + result + "\"}");
  }
  void TearDown() override {
    // The card number travels to the processor only: never into either side's log.
    EXPECT_EQ(authd_.process.stderr_text().find(kCard), std::string::npos);
    EXPECT_EQ(sim_.process.stderr_text().find(kCard), std::string::npos);
    EXPECT_EQ(authd_.process.sanitizer_report(), "");
  }

  Sim sim_;
  Authd authd_;
};

TEST_F(ProcessorLink, ApprovalsAndDeclinesComeFromTheProcessor) {
  ASSERT_TRUE(sim_.start({"--latency-ms", "0", "--jitter-ms", "0", "--success-rate", "0.5"}));
  start_authd(sim_.url(), {{"REACTORS", "2"}});
  int approved = 0, declined = 0;
  for (int i = 0; i < 40; ++i) {
    const auto r = authorize();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const std::string verdict = json_member(r->body, "status");
    if (verdict == "\"approved\"") {
      ++approved;
      EXPECT_EQ(json_member(r->body, "authorization_code").size(), 8u) << r->body;
    } else {
      ++declined;
      EXPECT_FALSE(json_member(r->body, "decline_code").empty()) << r->body;
    }
    EXPECT_EQ(json_member(r->body, "card_last4"), "\"1111\"");
  }
  EXPECT_GT(approved, 5);
  EXPECT_GT(declined, 5);
  EXPECT_EQ(sim_.stat("executed"), 40);
  EXPECT_EQ(sim_.stat("duplicates"), 0);
  EXPECT_EQ(processor_calls("answered"), 40);
  const auto state = net::testing::http_request(
      authd_.admin_port, "GET /admin/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(state);
  EXPECT_NE(state->body.find(R"("processor":{"mode":"http","url":")" + sim_.url()),
            std::string::npos)
      << state->body;
  EXPECT_EQ(metric(authd_, "auth_processor_mode{mode=\"http\"}"), 1);
}

TEST_F(ProcessorLink, UpstreamDownIs502ThenTheBreakerOpensAndRecovers) {
  const int port = free_port();  // nothing listens there yet
  start_authd("http://127.0.0.1:" + std::to_string(port) + "/v1/authorizations");
  for (int i = 0; i < 3; ++i) {
    const auto r = authorize();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502) << r->body;
    EXPECT_EQ(json_member(r->body, "error"), "\"processor_error\"");
  }
  const auto open = authorize();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 503);
  EXPECT_EQ(json_member(open->body, "error"), "\"circuit_open\"");
  EXPECT_EQ(processor_calls("failed"), 3);
  // The processor comes up where it was expected; the half-open probe closes the breaker.
  ASSERT_TRUE(sim_.start({"--latency-ms", "0", "--jitter-ms", "0"}, port));
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(status(), 200);
  EXPECT_EQ(status(), 200);
  EXPECT_NE(authd_.process.stderr_text().find(R"("to":"closed")"), std::string::npos);
}

TEST_F(ProcessorLink, ASlowProcessorIs504AtTheDeadline) {
  ASSERT_TRUE(sim_.start({"--latency-ms", "3000", "--jitter-ms", "0"}));
  start_authd(sim_.url(), {{"PROCESSOR_TIMEOUT_MS", "300"}});
  const auto start = Clock::now();
  const auto r = authorize();
  const long took = ms_since(start);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_EQ(json_member(r->body, "error"), "\"processor_timeout\"");
  EXPECT_GE(took, 290);
  EXPECT_LT(took, 1500);
  EXPECT_EQ(processor_calls("timeout"), 1);
  EXPECT_NE(authd_.process.wait_for_line(R"("outcome":"unknown")", 2000), std::nullopt);
}

TEST_F(ProcessorLink, ResetsAndGarbageAre502AndTripTheBreakerUntilTheProcessorHeals) {
  ASSERT_TRUE(sim_.start({"--latency-ms", "0", "--jitter-ms", "0"}));
  start_authd(sim_.url());
  ASSERT_EQ(status(), 200);
  ASSERT_TRUE(sim_.faults(R"({"enabled":true,"truncate_rate":1})"));
  EXPECT_EQ(status(), 502);
  ASSERT_TRUE(sim_.faults(R"({"enabled":true,"truncate_rate":0,"garbage_rate":1})"));
  EXPECT_EQ(status(), 502);
  EXPECT_EQ(status(), 502);
  EXPECT_EQ(status(), 503) << "three failures open the breaker";
  EXPECT_GE(processor_calls("failed") + processor_calls("invalid"), 3);
  ASSERT_TRUE(sim_.faults(R"({"enabled":false})"));
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(status(), 200);
  EXPECT_EQ(status(), 200);
}

TEST_F(ProcessorLink, AFullPoolAnswers503ProcessorBusyAtOnce) {
  ASSERT_TRUE(sim_.start({"--latency-ms", "600", "--jitter-ms", "0"}));
  start_authd(sim_.url(), {{"PROCESSOR_MAX_CONNECTIONS", "2"},
                           {"PROCESSOR_MAX_QUEUE", "1"},
                           {"PROCESSOR_TIMEOUT_MS", "3000"}});
  struct Outcome {
    int status = 0;
    long ms = 0;
    std::string retry_after;
    std::string error;
  };
  std::vector<std::future<Outcome>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(std::async(std::launch::async, [this] {
      const auto start = Clock::now();
      const auto r = authorize();
      Outcome o;
      o.ms = ms_since(start);
      if (r) {
        o.status = r->status;
        o.retry_after = r->header("Retry-After");
        o.error = json_member(r->body, "error");
      }
      return o;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int served = 0, busy = 0;
  for (auto& call : calls) {
    const Outcome o = call.get();
    if (o.status == 200) {
      ++served;
    } else {
      EXPECT_EQ(o.status, 503);
      EXPECT_EQ(o.error, "\"processor_busy\"");
      EXPECT_EQ(o.retry_after, "1");
      EXPECT_LT(o.ms, 300) << "answered at once, not after a wait";
      ++busy;
    }
  }
  EXPECT_EQ(served, 3) << "two connections and one queued call";
  EXPECT_EQ(busy, 3);
  EXPECT_EQ(processor_calls("busy"), 3);
  EXPECT_EQ(metric(authd_, "http_request_errors_total{code=\"503\"}"), 3);
  EXPECT_EQ(metric(authd_, "circuit_breaker_state"), 0) << "busy is not a processor failure";
}

TEST_F(ProcessorLink, IdleConnectionsClosedByTheProcessorCostNoFailureAndNoDoubleAuthorization) {
  // The processor closes idle connections after 150 ms; this service would keep them 60 s
  // (misconfigured on purpose), so each call finds its kept-alive connection closed.
  ASSERT_TRUE(sim_.start({"--latency-ms", "0", "--jitter-ms", "0", "--idle-timeout-ms", "150"}));
  start_authd(sim_.url(), {{"PROCESSOR_IDLE_TIMEOUT_MS", "60000"}});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(status(), 200) << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(sim_.stat("executed"), 5);
  EXPECT_EQ(sim_.stat("duplicates"), 0);
  EXPECT_EQ(processor_calls("answered"), 5);
}

TEST_F(ProcessorLink, TheApiKeyRotatesWithoutDroppingThePool) {
  const std::string sim_key = write_test_file("sim-key", "key-one-0123456789");
  const std::string our_key = write_test_file("our-key", "key-one-0123456789");
  ASSERT_TRUE(sim_.start({"--latency-ms", "0", "--jitter-ms", "0", "--api-key-file", sim_key}));
  start_authd(sim_.url(), {{"PROCESSOR_API_KEY_FILE", our_key}});
  ASSERT_EQ(status(), 200);
  write_test_file("sim-key", "key-two-0123456789");
  write_test_file("our-key", "key-two-0123456789");
  // Both sides re-read their file every second.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(status(), 200);
  EXPECT_EQ(metric(authd_, "auth_processor_connections{state=\"idle\"}"), 1)
      << "the same kept-alive connection";
  write_test_file("our-key", "a-wrong-key-0123456789");
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(status(), 502) << "the processor refuses a wrong key";
  const std::string log = authd_.process.stderr_text() + sim_.process.stderr_text();
  EXPECT_EQ(log.find("key-two"), std::string::npos);
  EXPECT_EQ(log.find("wrong-key"), std::string::npos);
}

}  // namespace
}  // namespace paystream::svc::testing
