// End-to-end: the real paystream-processor-sim on ephemeral loopback ports.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/processor_contract.h"
#include "core/txn_id.h"
#include "net/testing/child_process.h"
#include "net/testing/raw_client.h"

namespace paystream::svc::sim {
namespace {

using net::testing::ChildProcess;
using net::testing::ParsedResponse;
using net::testing::RawClient;

constexpr std::string_view kCard = "4111111111111111";

std::string txn_id(uint64_t n) {
  char out[core::kTxnIdLength];
  core::TxnIdEntropy entropy{};
  for (size_t i = 0; i < entropy.size(); ++i) entropy[i] = static_cast<uint8_t>(n >> (8 * (i % 8)));
  core::format_txn_id(1'700'000'000'000 + n, entropy, out);
  return {out, sizeof out};
}

std::string contract_body(const std::string& txn, std::string_view amount = "12.34") {
  return R"({"transaction_id":")" + txn + R"(","amount":")" + std::string(amount) +
         R"(","currency":"USD","card_number":")" + std::string(kCard) +
         R"(","merchant":"Acme","network":"visa"})";
}

std::string post(std::string_view path, std::string_view body, std::string_view extra_headers) {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

std::string keyed(const std::string& key) {
  return "Idempotency-Key: " + key + "\r\n";
}

class ProcessorSim : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    const std::string binary = net::testing::binary_from_env("PAYSTREAM_PROCESSOR_SIM");
    ASSERT_FALSE(binary.empty());
    std::vector<std::string> all = {"--port",       "0", "--admin-port", "0", "--bind", "127.0.0.1",
                                    "--latency-ms", "0", "--jitter-ms",  "0", "--seed", "1"};
    all.insert(all.end(), args.begin(), args.end());
    ASSERT_TRUE(sim_.start(binary, {}, all));
    port_ = sim_.wait_for_number("\"msg\":\"listening\"", "port");
    admin_ = sim_.wait_for_number("\"msg\":\"listening\"", "admin_port");
    ASSERT_GT(port_, 0) << sim_.stderr_text();
    ASSERT_GT(admin_, 0);
  }

  void TearDown() override {
    if (port_ <= 0) return;
    sim_.send_signal(SIGTERM);
    EXPECT_EQ(sim_.wait_exit(), 0) << sim_.stderr_text();
    EXPECT_EQ(sim_.stderr_text().find(kCard), std::string::npos) << "a card number in the logs";
    EXPECT_EQ(sim_.sanitizer_report(), "");
  }

  ParsedResponse call(const std::string& key, const std::string& body,
                      std::string_view headers = "") {
    auto r = net::testing::http_request(
        port_, post("/v1/authorizations", body, std::string(headers) + keyed(key)));
    EXPECT_TRUE(r.has_value());
    return r.value_or(ParsedResponse{});
  }

  ParsedResponse admin(std::string_view method, std::string_view path, std::string_view body = "") {
    const std::string raw =
        std::string(method) + " " + std::string(path) +
        " HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
        std::string(body);
    auto r = net::testing::http_request(admin_, raw);
    EXPECT_TRUE(r.has_value());
    return r.value_or(ParsedResponse{});
  }

  void faults(std::string_view json) {
    const ParsedResponse r = admin("PUT", "/admin/faults", json);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string stats() { return admin("GET", "/admin/stats").body; }

  core::ProcessorAnswer decode(const ParsedResponse& r) {
    return decoder_.decode(r.status, r.body);
  }

  ChildProcess sim_;
  int port_ = -1;
  int admin_ = -1;
  core::ProcessorAnswerDecoder decoder_;
};

TEST(ProcessorSimHelp, DocumentsEveryFlag) {
  const std::string binary = net::testing::binary_from_env("PAYSTREAM_PROCESSOR_SIM");
  FILE* p = popen((binary + " --help").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  EXPECT_EQ(pclose(p), 0);
  for (const char* flag :
       {"--bind", "--port", "--admin-bind", "--admin-port", "--path", "--reactors", "--latency-ms",
        "--jitter-ms", "--success-rate", "--error-rate", "--slow-rate", "--slow-latency-ms",
        "--api-key-file", "--dedupe-ttl-s", "--dedupe-max-keys", "--idle-timeout-ms",
        "--max-connections", "--seed", "SIM_PORT"}) {
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
  }
  FILE* v = popen((binary + " --version").c_str(), "r");
  ASSERT_NE(v, nullptr);
  std::string version;
  while (size_t n = fread(buf, 1, sizeof buf, v)) version.append(buf, n);
  EXPECT_EQ(pclose(v), 0);
  EXPECT_TRUE(version.starts_with("paystream-processor-sim ")) << version;
  EXPECT_NE(version.find(" (revision "), std::string::npos) << version;
  FILE* bad = popen((binary + " --port nope 2>/dev/null").c_str(), "r");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(WEXITSTATUS(pclose(bad)), 2);
}

TEST_F(ProcessorSim, ApprovesAndDeclinesByTheContract) {
  start();
  faults(R"({"enabled":true,"success_rate":1})");
  const ParsedResponse approved = call(txn_id(1), contract_body(txn_id(1)));
  EXPECT_EQ(approved.status, 200);
  EXPECT_EQ(decode(approved).kind, core::ProcessorAnswer::Kind::approved) << approved.body;
  EXPECT_EQ(approved.header("Idempotent-Replayed"), "");
  faults(R"({"success_rate":0})");
  const ParsedResponse declined = call(txn_id(2), contract_body(txn_id(2)));
  EXPECT_EQ(decode(declined).kind, core::ProcessorAnswer::Kind::declined) << declined.body;
  EXPECT_NE(stats().find(R"("requests":2,"executed":2,"duplicates":0,"in_flight_duplicates":0,)"
                         R"("approved":1,"declined":1,"errors":0,"keys":2,"evictions":0)"),
            std::string::npos)
      << stats();
  const std::string metrics = admin("GET", "/metrics").body;
  EXPECT_NE(metrics.find("processor_sim_approved_total 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(net::testing::http_request(port_, "GET /readyz HTTP/1.1\r\nHost: s\r\n\r\n")->status,
            200);
}

TEST_F(ProcessorSim, BadRequestsGet400) {
  start();
  const std::string txn = txn_id(3);
  const auto no_key =
      net::testing::http_request(port_, post("/v1/authorizations", contract_body(txn), ""));
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 400);
  EXPECT_NE(no_key->body.find("Idempotency-Key"), std::string::npos);
  std::string luhn = contract_body(txn);
  luhn.replace(luhn.find(kCard), kCard.size(), "4111111111111112");
  for (const std::string& body : {std::string("{"), std::string("[]"), luhn,
                                  contract_body(txn, "12.345"), contract_body("txn_x")}) {
    const ParsedResponse r = call(txn, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find(R"("error":"invalid_request")"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("4111"), std::string::npos) << r.body;
  }
  EXPECT_NE(stats().find(R"("executed":0)"), std::string::npos);
}

TEST_F(ProcessorSim, WrongOrMissingKeyGets401) {
  const std::string path = ::testing::TempDir() + "sim_api_key";
  std::ofstream(path) << "s3cret\n";
  start({"--api-key-file", path});
  const std::string txn = txn_id(4);
  EXPECT_EQ(call(txn, contract_body(txn)).status, 401);
  EXPECT_EQ(call(txn, contract_body(txn), "Authorization: Bearer wrong\r\n").status, 401);
  const ParsedResponse ok = call(txn, contract_body(txn), "Authorization: Bearer s3cret\r\n");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(sim_.stderr_text().find("s3cret"), std::string::npos);
}

TEST_F(ProcessorSim, ARepeatedKeyReplaysTheFirstAnswer) {
  start();
  const std::string txn = txn_id(5);
  const ParsedResponse first = call(txn, contract_body(txn));
  const ParsedResponse second = call(txn, contract_body(txn));
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("Idempotent-Replayed"), "true");
  const ParsedResponse reused = call(txn, contract_body(txn, "99.00"));
  EXPECT_EQ(reused.status, 422);
  EXPECT_NE(reused.body.find("idempotency_key_reused"), std::string::npos);
  EXPECT_NE(stats().find(R"("requests":3,"executed":1,"duplicates":1,"in_flight_duplicates":0)"),
            std::string::npos)
      << stats();
}

TEST_F(ProcessorSim, AnInFlightDuplicateGetsTheFirstAnswer) {
  start({"--latency-ms", "300"});
  const std::string txn = txn_id(6);
  const std::string request = post("/v1/authorizations", contract_body(txn), keyed(txn));
  RawClient a, b;
  ASSERT_TRUE(a.connect(port_) && b.connect(port_));
  ASSERT_TRUE(a.send(request));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(b.send(request));
  const auto ra = a.read_responses(1);
  const auto rb = b.read_responses(1);
  ASSERT_EQ(ra.size(), 1u);
  ASSERT_EQ(rb.size(), 1u);
  EXPECT_EQ(ra[0].status, 200);
  EXPECT_EQ(rb[0].body, ra[0].body);
  EXPECT_EQ(rb[0].header("Idempotent-Replayed"), "true");
  EXPECT_NE(stats().find(R"("requests":2,"executed":1,"duplicates":1,"in_flight_duplicates":1)"),
            std::string::npos)
      << stats();
}

TEST_F(ProcessorSim, FaultsActForEveryCaller) {
  start();
  faults(R"({"enabled":true,"error_rate":1})");
  const std::string txn = txn_id(7);
  const ParsedResponse error = call(txn, contract_body(txn));
  EXPECT_EQ(error.status, 500);
  EXPECT_NE(error.body.find(R"("error":"processor_error")"), std::string::npos);

  faults(R"({"error_rate":0,"garbage_rate":1})");
  const ParsedResponse garbage = call(txn, contract_body(txn));  // decided afresh
  EXPECT_EQ(garbage.status, 200);
  EXPECT_EQ(decode(garbage).kind, core::ProcessorAnswer::Kind::invalid) << garbage.body;

  faults(R"({"garbage_rate":0,"truncate_rate":1})");
  RawClient c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.send(post("/v1/authorizations", contract_body(txn), keyed(txn))));
  std::string received;
  int error_code = 0;
  for (;;) {
    pollfd p{c.fd(), POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 5000), 0);
    char buf[4096];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) {
      error_code = n < 0 ? errno : 0;
      break;
    }
    received.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(error_code, ECONNRESET);
  EXPECT_TRUE(received.starts_with("HTTP/1.1 200 OK\r\n")) << received;
  EXPECT_TRUE(net::testing::parse_responses(received).empty()) << "a complete answer: " << received;

  // The cut answer was decided: a resend replays it whole.
  const ParsedResponse after = admin("DELETE", "/admin/faults");
  EXPECT_NE(after.body.find(R"("truncate_rate":null)"), std::string::npos) << after.body;
  const ParsedResponse replay = call(txn, contract_body(txn));
  EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");
  EXPECT_NE(decode(replay).kind, core::ProcessorAnswer::Kind::invalid);

  faults(R"({"enabled":true,"latency_ms":200})");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(call(txn_id(8), contract_body(txn_id(8))).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));

  EXPECT_NE(stats().find(R"("requests":5,"executed":2,"duplicates":1,"in_flight_duplicates":0)"),
            std::string::npos)
      << stats();
  EXPECT_NE(stats().find(R"("errors":3)"), std::string::npos) << stats();
  EXPECT_EQ(admin("PUT", "/admin/faults", R"({"garbage_rate":2})").status, 400);
  EXPECT_EQ(admin("PUT", "/admin/faults", R"({"nope":1})").status, 400);
}

}  // namespace
}  // namespace paystream::svc::sim
