#pragma once
// Starts the real paystream-authd for an end-to-end test, on ephemeral ports.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <optional>
#include <string>

#include "net/testing/child_process.h"
#include "net/testing/raw_client.h"

namespace paystream::svc::testing {

using net::testing::EnvVars;
using net::testing::ParsedResponse;

class Authd {
 public:
  // Starts with PORT=0 ADMIN_PORT=0 and `env`; false when it did not come up.
  bool start(EnvVars env = {}) {
    const net::testing::ListeningPorts ports =
        net::testing::start_on_ephemeral_ports(process, "PAYSTREAM_AUTHD", std::move(env));
    port = ports.port;
    admin_port = ports.admin_port;
    return port > 0 && admin_port > 0;
  }

  // Stops with SIGTERM; the exit code (0 on a clean drain).
  int stop() {
    process.send_signal(SIGTERM);
    return process.wait_exit();
  }

  std::optional<ParsedResponse> post(
      const std::string& path, const std::string& body,
      const std::string& extra_headers = "Content-Type: application/json\r\n") const {
    return net::testing::http_request(
        port, "POST " + path + " HTTP/1.1\r\nHost: t\r\n" + extra_headers +
                  "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  std::optional<ParsedResponse> authorize(const std::string& body) const {
    return post("/v1/authorize", body);
  }

  std::optional<ParsedResponse> get(int on_port, const std::string& path,
                                    const std::string& extra_headers = "") const {
    return net::testing::http_request(
        on_port, "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n");
  }

  net::testing::ChildProcess process;
  int port = -1;
  int admin_port = -1;
};

// One series' value in a Prometheus text page ("name{labels}" as written), -1 when absent.
inline long metric_value(const std::string& page, const std::string& series) {
  const size_t at = page.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::atol(page.c_str() + at + series.size() + 2);
}

// One series' value from the admin port's /metrics, -1 when absent.
inline long metric(const Authd& authd, const std::string& series) {
  const auto page = authd.get(authd.admin_port, "/metrics");
  return page ? metric_value(page->body, series) : -1;
}

// Writes `content` and a newline to a file of this test process (name + pid) and returns its
// path. Replaced by a rename, so a process re-reading it (a secret rotation) never sees it
// half-written.
inline std::string write_test_file(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name + "-" + std::to_string(getpid());
  std::ofstream(path + ".tmp") << content << "\n";
  std::rename((path + ".tmp").c_str(), path.c_str());
  return path;
}

// The value of a top-level JSON member as raw text ("\"approved\"", "2450.00"), or empty.
inline std::string json_member(const std::string& body, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  size_t at = body.find(key);
  if (at == std::string::npos) return {};
  at += key.size();
  size_t end = at;
  if (body[at] == '"') {
    end = body.find('"', at + 1) + 1;
  } else {
    while (end < body.size() && body[end] != ',' && body[end] != '}') ++end;
  }
  return body.substr(at, end - at);
}

}  // namespace paystream::svc::testing
