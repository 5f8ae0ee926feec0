// End-to-end: the admin port (fault injection, state, metrics, token rotation)
// and /health, on the real paystream-authd.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "svc/testing/authd.h"

namespace paystream::svc {
namespace {

namespace fs = std::filesystem;
using testing::Authd;
using testing::json_member;

const std::string kApproveMe =
    R"({"card_number":"4111111111111111","currency":"USD","amount":"12.00","merchant":"Shop"})";

// A Kubernetes-style secret volume: the file is a symlink into ..data, which is
// itself a symlink swapped atomically on rotation.
class SecretDir {
 public:
  SecretDir() {
    char tmpl[] = "/tmp/authd-secret-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~SecretDir() { fs::remove_all(root_); }

  void write(const std::string& name, const std::string& value) {
    const std::string version = root_ + "/..v" + std::to_string(++versions_);
    fs::create_directory(version);
    std::ofstream(version + "/" + name) << value;
    const std::string tmp_link = root_ + "/..data_tmp";
    fs::create_directory_symlink(version, tmp_link);
    fs::rename(tmp_link, root_ + "/..data");  // the atomic swap
    if (!fs::exists(fs::symlink_status(root_ + "/" + name))) {
      fs::create_symlink("..data/" + name, root_ + "/" + name);
    }
  }
  std::string path(const std::string& name) const { return root_ + "/" + name; }

 private:
  std::string root_;
  int versions_ = 0;
};

std::string bearer(const std::string& token) {
  return "Authorization: Bearer " + token + "\r\n";
}

// Sum of every sample of `name` whose labels contain `label_filter`.
double metric_sum(const std::string& text, const std::string& name,
                  const std::string& label_filter = "") {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    if (line.find(label_filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class Admin : public ::testing::Test {
 protected:
  void start(testing::EnvVars env) {
    secrets_.write("ADMIN_TOKEN", "first-token\n");
    env.emplace_back("ADMIN_TOKEN_FILE", secrets_.path("ADMIN_TOKEN"));
    ASSERT_TRUE(authd_.start(env)) << authd_.process.stderr_text();
  }
  void TearDown() override {
    if (authd_.port <= 0) return;
    EXPECT_EQ(authd_.stop(), 0);
    const std::string log = authd_.process.stderr_text();
    EXPECT_EQ(authd_.process.sanitizer_report(), "");
    for (const char* secret : {"first-token", "second-token", "bank-key-1", "bank-key-2"}) {
      EXPECT_EQ(log.find(secret), std::string::npos) << "secret in the log: " << secret;
    }
  }

  std::optional<testing::ParsedResponse> fault(const std::string& method, const std::string& body,
                                               const std::string& token = "first-token") {
    const std::string auth = token.empty() ? "" : bearer(token);
    return net::testing::http_request(
        authd_.admin_port, method + " /admin/fault-inject HTTP/1.1\r\nHost: t\r\n" + auth +
                               "Content-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  std::string metrics() { return authd_.get(authd_.admin_port, "/metrics")->body; }
  // A GET of /admin/*, with the bearer token unless `token` is empty.
  std::optional<testing::ParsedResponse> admin_get(const std::string& path,
                                                   const std::string& token = "first-token") {
    return authd_.get(authd_.admin_port, path, token.empty() ? "" : bearer(token));
  }

  SecretDir secrets_;
  Authd authd_;
};

TEST_F(Admin, PartialUpdatesAreReadBackAndInvalidOnesChangeNothing) {
  start({});
  auto initial = admin_get("/admin/fault-inject");
  ASSERT_TRUE(initial);
  EXPECT_EQ(initial->status, 200);
  EXPECT_EQ(json_member(initial->body, "enabled"), "false");

  auto first = fault("POST", R"({"latency_ms":120})");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(json_member(first->body, "latency_ms"), "120");
  EXPECT_EQ(json_member(first->body, "enabled"), "false");  // stored, not in force
  auto second = fault("POST", R"({"enabled":true,"success_rate":0.25})");
  ASSERT_TRUE(second);
  EXPECT_EQ(json_member(second->body, "latency_ms"), "120");  // kept: partial update
  EXPECT_EQ(json_member(second->body, "enabled"), "true");
  EXPECT_EQ(json_member(second->body, "success_rate"), "0.25");

  for (const char* bad :
       {R"({"latency_ms":60001})", R"({"error_rate":1.5})", R"({"enabled":"yes"})",
        R"({"latency":5})", R"({"enabled":true,)", R"([1])", R"({"jitter_ms":null})",
        R"({"enabled":true,"enabled":false})", R"({"slow_rate":1.5})",
        R"({"slow_latency_ms":60001})", R"({"slow_latency_ms":-5})", R"({"reset_rate":"0.1"})"}) {
    auto r = fault("POST", bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad << " -> " << r->body;
    EXPECT_EQ(json_member(r->body, "error"), "\"invalid_request\"");
  }
  auto after = admin_get("/admin/fault-inject");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, second->body) << "an invalid update changed the state";

  auto reset = fault("DELETE", "");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 200);
  EXPECT_EQ(json_member(reset->body, "enabled"), "false");
  EXPECT_EQ(json_member(reset->body, "latency_ms"), "null");
  EXPECT_EQ(json_member(reset->body, "success_rate"), "null");
  EXPECT_TRUE(authd_.process.wait_for_line("fault injection changed", 1000));
}

TEST_F(Admin, MutationsNeedTheTokenAndRotationIsPickedUpWithinTwoSeconds) {
  start({});
  auto none = fault("POST", R"({"enabled":true})", "");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->header("www-authenticate"), "Bearer");
  auto wrong = fault("POST", R"({"enabled":true})", "not-the-token");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->body.find("not-the-token"), std::string::npos);
  auto del = fault("DELETE", "", "");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 401);
  auto right = fault("POST", R"({"enabled":false})");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);

  secrets_.write("ADMIN_TOKEN", "second-token  \n");
  const auto rotated = std::chrono::steady_clock::now();
  int status = 0;
  while (std::chrono::steady_clock::now() - rotated < std::chrono::milliseconds(2000)) {
    status = fault("POST", R"({"enabled":false})", "second-token")->status;
    if (status == 200) break;
    usleep(50'000);
  }
  EXPECT_EQ(status, 200) << "the rotated token did not work within 2 s";
  EXPECT_EQ(fault("POST", R"({"enabled":false})", "first-token")->status, 401);

  // An empty token file later: the last good token stays in force, never none.
  secrets_.write("ADMIN_TOKEN", "\n");
  usleep(1'500'000);
  EXPECT_EQ(fault("POST", R"({"enabled":false})", "second-token")->status, 200);
  EXPECT_EQ(fault("POST", R"({"enabled":false})", "")->status, 401);
  EXPECT_TRUE(authd_.process.wait_for_line("keeping the last good value", 1000));
  const std::string state = admin_get("/admin/state", "second-token")->body;
  EXPECT_EQ(json_member(state, "admin_auth"), "\"bearer_token\"");
  EXPECT_EQ(state.find("second-token"), std::string::npos);
}

TEST_F(Admin, WithATokenReadsOfAdminNeedItTooButMetricsDoNot) {
  start({});
  for (const char* path : {"/admin/state", "/admin/fault-inject"}) {
    auto none = admin_get(path, "");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(none->header("www-authenticate"), "Bearer") << path;
    EXPECT_EQ(json_member(none->body, "error"), "\"unauthorized\"") << path;
    EXPECT_EQ(none->body.find("fault_injection"), std::string::npos) << none->body;
    auto wrong = admin_get(path, "not-the-token");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
    auto right = admin_get(path);
    ASSERT_TRUE(right);
    EXPECT_EQ(right->status, 200) << path;
  }
  // Prometheus scrapes without credentials.
  auto scrape = authd_.get(authd_.admin_port, "/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->status, 200);
  EXPECT_TRUE(authd_.process.wait_for_line("\"reason\":\"missing or wrong bearer token\"", 1000));
}

TEST_F(Admin, MutationsMustBeJsonOrChangeNothing) {
  start({});
  // A browser can POST these cross-origin without a preflight; none may change anything.
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/json; charset=latin1", ""}) {
    const std::string content_type =
        *type == '\0' ? "" : std::string("Content-Type: ") + type + "\r\n";
    const std::string body = R"({"enabled":true,"error_rate":1})";
    auto r = net::testing::http_request(
        authd_.admin_port,
        "POST /admin/fault-inject HTTP/1.1\r\nHost: t\r\n" + bearer("first-token") + content_type +
            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415) << type;
    EXPECT_EQ(json_member(r->body, "error"), "\"unsupported_media_type\"") << type;
  }
  auto del = net::testing::http_request(
      authd_.admin_port,
      "DELETE /admin/fault-inject HTTP/1.1\r\nHost: t\r\n" + bearer("first-token") + "\r\n");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 415);
  EXPECT_EQ(json_member(admin_get("/admin/fault-inject")->body, "enabled"), "false");
  EXPECT_EQ(metric_sum(metrics(), "fault_injection_enabled"), 0);
  // The token is checked first: without it, the same request is a 401.
  auto anonymous =
      net::testing::http_request(authd_.admin_port,
                                 "POST /admin/fault-inject HTTP/1.1\r\nHost: t\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  // With the JSON type (charset utf-8 allowed) it works.
  auto ok = net::testing::http_request(authd_.admin_port,
                                       "POST /admin/fault-inject HTTP/1.1\r\nHost: t\r\n" +
                                           bearer("first-token") +
                                           "Content-Type: Application/JSON; charset=UTF-8\r\n"
                                           "Content-Length: 16\r\n\r\n{\"enabled\":true}");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

// Without a token on a loopback listener, the Host decides: a page in a browser on this
// host that rebinds its own name to 127.0.0.1 sends its own name as Host.
TEST(AdminWithoutToken, ALoopbackListenerNeedsALoopbackHost) {
  Authd authd;
  ASSERT_TRUE(authd.start({{"ADMIN_BIND_ADDR", "127.0.0.1"}})) << authd.process.stderr_text();
  const std::string port = std::to_string(authd.admin_port);
  auto request = [&](const std::string& method, const std::string& path,
                     const std::string& host_line, const std::string& body = "") {
    return net::testing::http_request(authd.admin_port,
                                      method + " " + path + " HTTP/1.1\r\n" + host_line +
                                          "Content-Type: application/json\r\nContent-Length: " +
                                          std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  const std::string enable = R"({"enabled":true,"error_rate":1})";
  for (const std::string& host :
       std::vector<std::string>{"Host: rebound.example:" + port + "\r\n",
                                "Host: rebound.example\r\n", "Host: 127.0.0.1.nip.io\r\n",
                                "Host: localhost.rebound.example\r\n", "Host: 10.0.0.7\r\n"}) {
    for (const auto& [method, path] :
         {std::pair<std::string, std::string>{"POST", "/admin/fault-inject"},
          {"DELETE", "/admin/fault-inject"},
          {"GET", "/admin/fault-inject"},
          {"GET", "/admin/state"}}) {
      auto r = request(method, path, host, method == "POST" ? enable : "");
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 403) << method << " " << path << " " << host;
      EXPECT_EQ(json_member(r->body, "error"), "\"forbidden\"");
    }
  }
  // HTTP/1.0 without any Host.
  auto no_host = net::testing::http_request(authd.admin_port, "GET /admin/state HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(no_host);
  EXPECT_EQ(no_host->status, 403);
  // Nothing changed; /metrics stays open to any Host (it holds no secret).
  auto scrape = request("GET", "/metrics", "Host: rebound.example\r\n");
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->status, 200);
  EXPECT_EQ(metric_sum(scrape->body, "fault_injection_enabled"), 0);

  for (const std::string& host : std::vector<std::string>{
           "127.0.0.1:" + port, "127.0.0.1", "localhost:" + port, "LOCALHOST", "[::1]:" + port}) {
    auto r = request("GET", "/admin/state", "Host: " + host + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << host;
    EXPECT_EQ(json_member(r->body, "admin_auth"), "\"none\"");
  }
  auto set = request("POST", "/admin/fault-inject", "Host: localhost:" + port + "\r\n", enable);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(json_member(set->body, "enabled"), "true");
  EXPECT_EQ(authd.stop(), 0);
}

TEST_F(Admin, LatencyInjectionShowsInResponsesAndTheHistogram) {
  start({{"LATENCY_BASE_MS", "5"}, {"LATENCY_JITTER_MS", "0"}});
  ASSERT_EQ(authd_.authorize(kApproveMe)->status, 200);
  const std::string before = metrics();
  ASSERT_EQ(fault("POST", R"({"enabled":true,"latency_ms":320,"jitter_ms":0})")->status, 200);
  auto slow = authd_.authorize(kApproveMe);
  ASSERT_TRUE(slow);
  ASSERT_EQ(slow->status, 200);
  EXPECT_GE(std::stoi(json_member(slow->body, "latency_ms")), 320);
  const std::string after = metrics();
  const std::string bucket = "auth_request_duration_seconds_bucket";
  EXPECT_EQ(metric_sum(after, bucket, "le=\"0.3\"") - metric_sum(before, bucket, "le=\"0.3\""), 0);
  EXPECT_EQ(metric_sum(after, bucket, "le=\"0.35\"") - metric_sum(before, bucket, "le=\"0.35\""),
            1);
  EXPECT_EQ(metric_sum(after, "fault_injection_enabled"), 1);
  EXPECT_DOUBLE_EQ(metric_sum(after, "fault_injection_latency_seconds"), 0.32);
}

TEST_F(Admin, SlowInjectionDelaysAFractionOfRequests) {
  start({{"LATENCY_BASE_MS", "2"}, {"LATENCY_JITTER_MS", "0"}, {"SUCCESS_RATE", "1"}});
  auto set = fault("POST", R"({"enabled":true,"slow_rate":0.25,"slow_latency_ms":100})");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200) << set->body;
  auto shown = admin_get("/admin/fault-inject");
  ASSERT_TRUE(shown);
  EXPECT_NE(shown->body.find(R"("slow_rate":0.25,"slow_latency_ms":100,"reset_rate":null)"),
            std::string::npos)
      << shown->body;
  constexpr int kRequests = 80;
  int slow = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto r = authd_.authorize(kApproveMe);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const int ms = std::stoi(json_member(r->body, "latency_ms"));
    if (ms >= 100) ++slow;
    EXPECT_LT(ms, 100 + 2 + 50) << "a slow call takes the base plus slow_latency_ms";
  }
  // Binomial(80, 0.25): mean 20, sd 3.9; outside 6..36 once in ~10^5 runs.
  EXPECT_GE(slow, 6);
  EXPECT_LE(slow, 36);
  const std::string text = metrics();
  EXPECT_DOUBLE_EQ(metric_sum(text, "fault_injection_slow_rate"), 0.25);
  EXPECT_DOUBLE_EQ(metric_sum(text, "fault_injection_slow_latency_seconds"), 0.1);
  EXPECT_EQ(metric_sum(text, "auth_request_duration_seconds_bucket", "le=\"0.1\"") +
                static_cast<double>(slow),
            kRequests);
}

TEST_F(Admin, ResetInjectionResetsTheConnection) {
  start({{"LATENCY_BASE_MS", "2"}, {"LATENCY_JITTER_MS", "0"}});
  ASSERT_EQ(fault("POST", R"({"enabled":true,"reset_rate":1})")->status, 200);
  EXPECT_FALSE(authd_.authorize(kApproveMe)) << "a reset connection gives no response";
  EXPECT_DOUBLE_EQ(metric_sum(metrics(), "fault_injection_reset_rate"), 1);
  ASSERT_EQ(fault("POST", R"({"reset_rate":0})")->status, 200);
  auto ok = authd_.authorize(kApproveMe);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(Admin, ErrorInjectionTripsTheBreakerAndItRecovers) {
  start({{"LATENCY_BASE_MS", "2"},
         {"LATENCY_JITTER_MS", "0"},
         {"SUCCESS_RATE", "1"},
         {"CB_FAILURE_THRESHOLD", "3"},
         {"CB_OPEN_TIMEOUT_MS", "800"},
         {"CB_HALF_OPEN_MAX_REQUESTS", "2"}});
  ASSERT_EQ(fault("POST", R"({"enabled":true,"error_rate":1})")->status, 200);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(authd_.authorize(kApproveMe)->status, 502);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(authd_.authorize(kApproveMe)->status, 503);
  std::string text = metrics();
  EXPECT_EQ(metric_sum(text, "circuit_breaker_state"), 2);
  EXPECT_EQ(metric_sum(text, "circuit_breaker_trips_total"), 1);
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "status=\"rejected\""), 4);
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "status=\"error\""), 3);
  auto health = authd_.get(authd_.port, "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json_member(health->body, "status"), "\"unhealthy\"");
  EXPECT_EQ(json_member(health->body, "circuit_breaker"), "\"open\"");

  // The processor heals; after the open period two successful probes close it.
  ASSERT_EQ(fault("DELETE", "")->status, 200);
  usleep(900'000);
  EXPECT_EQ(authd_.authorize(kApproveMe)->status, 200);
  EXPECT_EQ(metric_sum(metrics(), "circuit_breaker_state"), 1);  // half-open
  EXPECT_EQ(authd_.authorize(kApproveMe)->status, 200);
  EXPECT_EQ(metric_sum(metrics(), "circuit_breaker_state"), 0);  // closed again
  EXPECT_EQ(authd_.authorize(kApproveMe)->status, 200);
  EXPECT_TRUE(authd_.process.wait_for_line(R"("from":"half_open","to":"closed")", 1000));
  health = authd_.get(authd_.port, "/health");
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json_member(health->body, "status"), "\"healthy\"");
}

TEST_F(Admin, MetricsCountEveryRequestByStatus) {
  start({{"LATENCY_BASE_MS", "1"},
         {"LATENCY_JITTER_MS", "0"},
         {"SUCCESS_RATE", "0.5"},
         {"REACTORS", "2"},
         {"SERVICE_VERSION", "9.9.9-e2e"}});
  const std::string zero = metrics();
  // Every series exists from start-up, at zero.
  EXPECT_NE(
      zero.find(
          R"(auth_requests_total{version="9.9.9-e2e",status="declined",processor="discover"} 0)"),
      std::string::npos);
  std::map<std::string, int> sent;
  const std::string luhn_bad =
      R"({"card_number":"4111111111111112","currency":"USD","amount":"1","merchant":"S"})";
  for (int i = 0; i < 40; ++i) {
    auto r = authd_.authorize(i % 10 == 9 ? luhn_bad : kApproveMe);
    ASSERT_TRUE(r);
    sent[json_member(r->body, "status")]++;
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(authd_.authorize("{}")->status, 400);
    sent["invalid"]++;
  }
  ASSERT_EQ(authd_.post("/v1/authorize", kApproveMe, "Content-Type: text/plain\r\n")->status, 415);
  sent["invalid"]++;
  const std::string text = metrics();
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "status=\"approved\""), sent["\"approved\""]);
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "status=\"declined\""), sent["\"declined\""]);
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "status=\"invalid\""), sent["invalid"]);
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "status=\"error\""), 0);
  EXPECT_EQ(metric_sum(text, "auth_requests_total", "processor=\"visa\""), 40);
  EXPECT_EQ(metric_sum(text, "auth_request_duration_seconds_count"), 46);
  EXPECT_EQ(metric_sum(text, "reactor_requests_total"), 46);  // public reactors only
  EXPECT_EQ(metric_sum(text, "http_request_errors_total", "code=\"400\""), 5);
  EXPECT_EQ(metric_sum(text, "http_request_errors_total", "code=\"415\""), 1);
  EXPECT_NE(text.find(R"(auth_build_info{version="9.9.9-e2e",revision=")"), std::string::npos);
  EXPECT_EQ(text.find("4111111111111111"), std::string::npos);
  // Not on the public port.
  EXPECT_EQ(authd_.get(authd_.port, "/metrics")->status, 404);
}

TEST_F(Admin, StateShowsTheProcessorCredentialByFingerprintOnly) {
  SecretDir bank;
  bank.write("BANK_API_KEY", "bank-key-1\n");
  start({{"PROCESSOR_API_KEY_FILE", bank.path("BANK_API_KEY")}, {"REACTORS", "3"}});
  auto state = admin_get("/admin/state");
  ASSERT_TRUE(state);
  EXPECT_EQ(json_member(state->body, "reactors"), "3");
  EXPECT_EQ(json_member(state->body, "admin_auth"), "\"bearer_token\"");
  for (std::string_view name : paystream::core::config_variable_names()) {
    std::string member = "\"";  // appended: GCC 12 warns falsely on "…" + string + "…"
    member.append(name).append("\":");
    EXPECT_NE(state->body.find(member), std::string::npos) << name << " missing from /admin/state";
  }
  const std::string first = json_member(state->body, "fingerprint");
  EXPECT_EQ(first.size(), 10u) << state->body;  // 8 hex, quoted
  EXPECT_EQ(state->body.find("bank-key"), std::string::npos);
  bank.write("BANK_API_KEY", "bank-key-2\n");
  usleep(1'800'000);
  state = admin_get("/admin/state");
  EXPECT_NE(json_member(state->body, "fingerprint"), first);
  EXPECT_EQ(state->body.find("bank-key"), std::string::npos);
}

TEST(AdminStartup, UnusableSecretFilesStopStartUp) {
  SecretDir secrets;
  secrets.write("EMPTY", " \n");
  for (const auto& [name, path] :
       {std::pair<std::string, std::string>{"ADMIN_TOKEN_FILE", secrets.path("EMPTY")},
        {"ADMIN_TOKEN_FILE", "/nonexistent/token"},
        {"PROCESSOR_API_KEY_FILE", secrets.path("EMPTY")}}) {
    Authd authd;
    EXPECT_FALSE(authd.start({{name, path}}));
    EXPECT_EQ(authd.process.wait_exit(5000), 2) << name << "=" << path;
    EXPECT_NE(authd.process.stderr_text().find("cannot load secret file"), std::string::npos);
  }
}

}  // namespace
}  // namespace paystream::svc
