#include "net/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "base/json_escape.h"
#include "net/log_queue.h"

namespace paystream::net::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};

// Lines waiting for the writer: about a thousand typical lines. Never destroyed, so
// the writer thread (detached) can outlive static destruction at exit.
constexpr size_t kQueueBytes = 256 * 1024;
LogQueue& queue() {
  static LogQueue* q = new LogQueue(kQueueBytes);
  return *q;
}

// True when all of `text` reached stderr.
bool write_all(const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // nowhere else to report it
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// The only thread that writes log lines: it may block on stderr, the loggers never do.
void writer_loop() {
  std::vector<std::string> batch;
  std::string out;
  for (;;) {
    queue().take(batch, std::chrono::seconds(60));
    if (batch.empty()) continue;
    out.clear();
    for (const std::string& line : batch) out += line;
    queue().written(write_all(out) ? 0 : batch.size());
  }
}

void flush_at_exit() {
  flush(std::chrono::milliseconds(1000));
}

void submit(std::string line) {
  static std::once_flag started;
  std::call_once(started, [] {
    std::thread(writer_loop).detach();
    std::atexit(flush_at_exit);
  });
  queue().push(std::move(line));
}

void append_timestamp(std::string& out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[32];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  out.append(buf, n);
  const auto millis = static_cast<int>(ts.tv_nsec / 1000000);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

}  // namespace

void set_level(Level level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

bool flush(std::chrono::milliseconds timeout) {
  return queue().wait_drained(timeout);
}

bool admit(RateLimiter& limiter, std::string_view kind, uint64_t now_ms) {
  const RateLimiter::Decision d = limiter.admit(now_ms);
  if (d.suppressed > 0) {
    warn("log lines suppressed").str("kind", kind).num("count", static_cast<int64_t>(d.suppressed));
  }
  return d.write;
}

uint64_t lines_dropped() {
  return queue().dropped();
}

Line::Line(Level level, std::string_view msg) : on_(enabled(level)) {
  if (!on_) return;
  text_.reserve(256);
  text_ += "{\"ts\":\"";
  append_timestamp(text_);
  text_ += "\",\"level\":\"";
  text_ += base::log_level_name(level);
  text_ += "\",\"msg\":";
  base::append_json_string(text_, msg);
}

Line::~Line() {
  if (!on_) return;
  text_ += "}\n";
  submit(std::move(text_));
}

Line& Line::key(std::string_view k) {
  text_ += ',';
  base::append_json_string(text_, k);
  text_ += ':';
  return *this;
}

Line& Line::str(std::string_view k, std::string_view value) {
  if (on_) base::append_json_string(key(k).text_, value);
  return *this;
}

Line& Line::num(std::string_view k, int64_t value) {
  if (on_) key(k).text_ += std::to_string(value);
  return *this;
}

Line& Line::real(std::string_view k, double value) {
  if (!on_) return *this;
  key(k);
  if (!std::isfinite(value)) {
    text_ += "null";
    return *this;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  text_.append(buf, end);
  return *this;
}

Line& Line::boolean(std::string_view k, bool value) {
  if (on_) key(k).text_ += value ? "true" : "false";
  return *this;
}

Line& Line::raw(std::string_view k, std::string_view json) {
  if (on_) key(k).text_ += json;
  return *this;
}

}  // namespace paystream::net::log
