// Clients that pipeline requests and never read: the real binary's peak RSS stays
// within idle RSS plus the documented per-connection bound, and every answer
// arrives, in order, once the clients read.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "net/memory_bound.h"
#include "svc/testing/authd.h"

namespace paystream::svc {
namespace {

using Clock = std::chrono::steady_clock;
using net::testing::RawClient;

// kB value of a /proc/<pid>/status field (VmRSS, VmHWM), or -1.
long status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// One block of the pipelined stream: `path` three times, then a 404, so the order of
// the answers can be checked.
struct Stream {
  std::string block;
  size_t per_block = 4;
  explicit Stream(const std::string& path) {
    for (int i = 0; i < 3; ++i) block += "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    block += "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  }
};

struct Pipeliner {
  RawClient client;
  uint64_t sent = 0;  // bytes of the endless stream of blocks
};

// Sends without reading until every socket stays full for a while or `max_ms` passes.
// At most `max_bytes` per connection.
void fill(std::vector<Pipeliner>& conns, const Stream& stream, int max_ms, uint64_t max_bytes) {
  std::string many;
  for (int i = 0; i < 33; ++i) many += stream.block;  // 32 blocks from any offset
  const size_t span = 32 * stream.block.size();
  const auto end = Clock::now() + std::chrono::milliseconds(max_ms);
  auto last_progress = Clock::now();
  while (Clock::now() < end && Clock::now() - last_progress < std::chrono::milliseconds(500)) {
    bool progress = false;
    for (Pipeliner& p : conns) {
      for (int i = 0; i < 4; ++i) {
        if (p.sent >= max_bytes) break;
        const size_t at = p.sent % stream.block.size();
        ssize_t n = ::send(p.client.fd(), many.data() + at, span, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) break;
        p.sent += static_cast<uint64_t>(n);
        progress = true;
      }
    }
    if (progress) last_progress = Clock::now();
    ::usleep(2000);
  }
}

// Completes the last block, reads every answer and checks their order.
void read_all_in_order(Pipeliner& p, const Stream& stream, int status) {
  const std::string twice = stream.block + stream.block;
  uint64_t remaining = (stream.block.size() - p.sent % stream.block.size()) % stream.block.size();
  const uint64_t expected = (p.sent + remaining) / stream.block.size() * stream.per_block;
  std::string buffer;
  uint64_t got = 0;
  const auto end = Clock::now() + std::chrono::seconds(20);
  char chunk[65536];
  while (got < expected && Clock::now() < end) {
    pollfd pfd{p.client.fd(), static_cast<short>(POLLIN | (remaining > 0 ? POLLOUT : 0)), 0};
    if (::poll(&pfd, 1, 1000) <= 0) continue;
    if (remaining > 0 && (pfd.revents & POLLOUT)) {
      const size_t at = p.sent % stream.block.size();
      ssize_t n = ::send(p.client.fd(), twice.data() + at, remaining, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        p.sent += static_cast<uint64_t>(n);
        remaining -= static_cast<uint64_t>(n);
      }
    }
    if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = ::recv(p.client.fd(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0) {
      ADD_FAILURE() << "closed by the server after " << got << " answers";
      break;
    }
    if (n < 0) continue;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t consumed = 0;
    for (const auto& r : net::testing::parse_responses(buffer, &consumed)) {
      const int want = got % stream.per_block == stream.per_block - 1 ? 404 : status;
      ASSERT_EQ(r.status, want) << "answer " << got << " out of order";
      ++got;
    }
    buffer.erase(0, consumed);
  }
  EXPECT_EQ(got, expected);
}

void run(bool admin, size_t connections, const std::string& path) {
  testing::Authd authd;
  ASSERT_TRUE(authd.start({{"REACTORS", "1"}}));
  const int port = admin ? authd.admin_port : authd.port;
  const auto warm = authd.get(port, path);
  ASSERT_TRUE(warm && warm->status == 200);
  const pid_t pid = authd.process.pid();
  const long idle_kb = status_kb(pid, "VmRSS");
  ASSERT_GT(idle_kb, 0);

  Stream stream(path);
  std::vector<Pipeliner> conns(connections);
  for (Pipeliner& p : conns) {
    ASSERT_TRUE(p.client.connect(port));
    const int small = 64 * 1024;  // keeps the test's own buffering (and run time) small
    ::setsockopt(p.client.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    // Full-sized segments, as a real pipelining client sends (a stream of tiny
    // segments fills a capped receive buffer with overhead and stalls on TCP's
    // zero-window probes).
    const int off = 0;
    ::setsockopt(p.client.fd(), IPPROTO_TCP, TCP_NODELAY, &off, sizeof off);
  }
  // A scrape costs far more than a probe: the admin clients send fewer requests (still
  // several MiB of answers), then wait without reading.
  const uint64_t max_bytes = admin ? 30 * stream.block.size() : UINT64_MAX;
  fill(conns, stream, 3000, max_bytes);
  if (admin) ::usleep(1500 * 1000);
  const long hwm_kb = status_kb(pid, "VmHWM");
#if defined(__SANITIZE_ADDRESS__)
  // ASan's shadow memory and quarantine make RSS meaningless: only the order is checked.
  const bool check_rss = false;
#else
  const bool check_rss = true;
#endif
  // The admin port's largest answer is a scrape (counted twice its size: it grows a little
  // as samples arrive).
  const size_t largest = admin ? 2 * warm->body.size() : net::kLargestPublicResponseBytes;
  const size_t per_connection = net::connection_bound(net::SessionLimits{}, largest).user();
  const long slack_kb = 4 * 1024;  // allocator and stack pages touched on the way
  const long bound_kb = idle_kb + static_cast<long>(connections * per_connection / 1024) + slack_kb;
  if (check_rss) {
    EXPECT_LT(hwm_kb, bound_kb) << "idle " << idle_kb << " kB, " << connections << " connections x "
                                << per_connection / 1024 << " kB";
    EXPECT_LT(hwm_kb, 64 * 1024);
  }
  for (Pipeliner& p : conns) {
    // Requests (public) or answers (admin) beyond what the server may hold.
    if (!admin) {
      EXPECT_GT(p.sent, 64u * 1024) << "the client should have outrun the server";
    }
    read_all_in_order(p, stream, 200);
  }
  EXPECT_EQ(authd.stop(), 0);
  if (::testing::Test::HasFailure()) std::cerr << authd.process.stderr_text();
}

TEST(MemoryBound, AClientThatReadsNothingIsClosedAfterTheWriteTimeout) {
  testing::Authd authd;
  ASSERT_TRUE(authd.start({{"REACTORS", "1"}, {"WRITE_TIMEOUT_MS", "300"}}));
  // Start-up states the per-connection bound against the cgroup limit.
  const auto line = authd.process.wait_for_line("connection memory bound");
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("\"per_connection_bytes\":"), std::string::npos) << *line;
  EXPECT_NE(line->find("\"memory_max"), std::string::npos) << *line;

  Stream stream("/livez");
  std::vector<Pipeliner> conns(1);
  ASSERT_TRUE(conns[0].client.connect(authd.port));
  fill(conns, stream, 3000, UINT64_MAX);
  // Without reading a byte: the server ends the connection (FIN or RST).
  bool closed = false;
  const auto end = Clock::now() + std::chrono::seconds(10);
  while (!closed && Clock::now() < end) {
    pollfd pfd{conns[0].client.fd(), POLLRDHUP, 0};
    if (::poll(&pfd, 1, 200) > 0) closed = (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(authd.stop(), 0);
}

TEST(MemoryBound, PipeliningClientsThatDoNotReadHoldBoundedMemory) {
  run(false, 20, "/livez");
}

TEST(MemoryBound, AdminPipelinedMetricsAreAnsweredAScrapeAtATime) {
  run(true, 5, "/metrics");
}

}  // namespace
}  // namespace paystream::svc
