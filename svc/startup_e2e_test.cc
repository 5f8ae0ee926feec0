// paystream-authd start-up: flags, configuration errors, the start-up log, probes.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include "net/cpu_count.h"
#include "net/testing/child_process.h"
#include "net/testing/raw_client.h"

namespace {

using paystream::net::testing::binary_from_env;
using paystream::net::testing::ChildProcess;
using paystream::net::testing::http_request;

std::string authd() {
  return binary_from_env("PAYSTREAM_AUTHD");
}

TEST(Startup, VersionNamesVersionAndRevision) {
  std::string out;
  FILE* pipe = popen((authd() + " --version").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::array<char, 256> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(pclose(pipe), 0);
  // "paystream-authd <version> (revision <revision>)\n"
  const std::string prefix = "paystream-authd ";
  ASSERT_EQ(out.rfind(prefix, 0), 0u) << out;
  const size_t open = out.find(" (revision ");
  ASSERT_NE(open, std::string::npos) << out;
  EXPECT_GT(open, prefix.size()) << "no version: " << out;
  EXPECT_GT(out.size(), open + std::string(" (revision )\n").size()) << "no revision: " << out;
  EXPECT_EQ(out.substr(out.size() - 2), ")\n") << out;
}

struct BadEnv {
  const char* name;
  const char* value;
  const char* expected;
};

TEST(Startup, InvalidConfigurationExitsTwoNamingTheVariable) {
  const BadEnv cases[] = {
      {"PORT", "http", "PORT must be 0-65535"},
      {"REACTORS", "-1", "REACTORS must be"},
      {"SUCCESS_RATE", "2", "SUCCESS_RATE must be 0-1"},
      {"LOG_LEVEL", "loud", "LOG_LEVEL must be debug, info, warn, error"},
      {"ADMIN_BIND_ADDR", "0.0.0.0", "needs ADMIN_TOKEN_FILE"},
      {"PROCESSOR_MODE", "http", "PROCESSOR_URL is required when PROCESSOR_MODE is http"},
      {"PROCESSOR_URL", "https://processor.example/v1", "PROCESSOR_URL must be http://"},
  };
  for (const BadEnv& c : cases) {
    ChildProcess p;
    ASSERT_TRUE(p.start(authd(), {{c.name, c.value}, {"PORT", "0"}, {"ADMIN_PORT", "0"}}));
    EXPECT_EQ(p.wait_exit(5000), 2) << c.name;
    EXPECT_NE(p.stderr_text().find(c.expected), std::string::npos) << p.stderr_text();
  }
}

TEST(Startup, LogsWhatItRunsWithAndServesProbes) {
  ChildProcess p;
  ASSERT_TRUE(p.start(authd(), {{"PORT", "0"}, {"ADMIN_PORT", "0"}}));
  auto line = p.wait_for_line("\"msg\":\"listening\"");
  ASSERT_TRUE(line) << p.stderr_text();
  const int port = p.wait_for_number("\"msg\":\"listening\"", "port");
  const int admin_port = p.wait_for_number("\"msg\":\"listening\"", "admin_port");
  EXPECT_GT(port, 0);
  EXPECT_GT(admin_port, 0);
  EXPECT_EQ(p.wait_for_number("\"msg\":\"listening\"", "reactors"), paystream::net::usable_cpus());
  EXPECT_GT(p.wait_for_number("\"msg\":\"listening\"", "connection_cap"), 0);
  EXPECT_NE(line->find("\"libuv\":\"1."), std::string::npos) << *line;
  EXPECT_NE(line->find("\"llhttp\":\"8.1."), std::string::npos) << *line;
  EXPECT_NE(line->find(R"("simdjson":{"version":"3.)"), std::string::npos) << *line;
  EXPECT_NE(line->find(R"(","kernel":")"), std::string::npos) << *line;
  // A release build must really run on mimalloc; sanitizer builds go without it.
  if (line->find("\"mimalloc\":{\"linked\":true") != std::string::npos) {
    EXPECT_NE(line->find(R"("override":true})"), std::string::npos) << *line;
  }
  // The development default, said loudly: nothing real is authorized.
  const auto simulated = p.wait_for_line("processor is SIMULATED");
  ASSERT_TRUE(simulated) << p.stderr_text();
  EXPECT_NE(simulated->find(R"("level":"warn")"), std::string::npos) << *simulated;
  auto live = http_request(port, "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  auto ready = http_request(port, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  auto not_on_admin = http_request(admin_port, "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(not_on_admin);
  EXPECT_EQ(not_on_admin->status, 404);
  p.send_signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0);
  EXPECT_EQ(p.sanitizer_report(), "");
}

TEST(Startup, ASigtermAtAnyInstantOfStartUpDrainsAndExitsZero) {
  // Blocked at exec, so a signal sent at 0 us waits for main; the delays walk
  // through configuration, binding and the start of the loops.
  for (const int delay_us : {0, 300, 700, 1500, 2500, 4000, 6000, 9000, 14000, 22000, 35000}) {
    ChildProcess p;
    p.block_termination_signals_at_start();
    ASSERT_TRUE(p.start(authd(), {{"PORT", "0"}, {"ADMIN_PORT", "0"}, {"REACTORS", "2"}}));
    usleep(static_cast<useconds_t>(delay_us));
    p.send_signal(SIGTERM);
    EXPECT_EQ(p.wait_exit(5000), 0) << delay_us << " us: " << p.stderr_text();
    EXPECT_TRUE(p.wait_for_line("shutdown: draining", 10)) << delay_us << " us";
    EXPECT_EQ(p.sanitizer_report(), "");
  }
  // And right after "listening", as a test or the kubelet may send it.
  ChildProcess p;
  ASSERT_TRUE(p.start(authd(), {{"PORT", "0"}, {"ADMIN_PORT", "0"}, {"REACTORS", "2"}}));
  ASSERT_TRUE(p.wait_for_line("\"msg\":\"listening\""));
  p.send_signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(5000), 0) << p.stderr_text();
  EXPECT_EQ(p.sanitizer_report(), "");
}

}  // namespace
