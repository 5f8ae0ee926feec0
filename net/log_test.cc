#include "net/log.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace paystream::net::log {
namespace {

// Runs `write_lines` with stderr redirected to a file and returns what was written.
template <typename F>
std::string captured_stderr(F write_lines) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/net_log_test_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  write_lines();
  EXPECT_TRUE(flush(std::chrono::seconds(10)));  // the writer thread is asynchronous
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string text;
  char buffer[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  close(fd);
  std::remove(path.c_str());
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  EXPECT_EQ(start, text.size()) << "the output ends in the middle of a line";
  return lines;
}

// What a client controls and the service may log: every byte value, invalid UTF-8 (stray
// continuation bytes, truncated sequences, overlong forms, surrogates, above U+10FFFF), control
// bytes, quotes and backslashes, and random bytes.
std::vector<std::string> hostile_values() {
  std::vector<std::string> values = {
      std::string("nul\0inside", 10),
      "\x80",
      "\xbf\xbf",
      "\xc3",
      "\xe2\x82",
      "\xf0\x9f\x98",
      "\xc0\xaf",
      "\xe0\x80\xaf",
      "\xed\xa0\x80",
      "\xf4\x90\x80\x80",
      "\xfe\xff",
      "\x01\x1f\x7f\x1b[31m",
      "quote\" backslash\\ slash/ \b\f\n\r\t",
      "\\u0000 \\ud800",
      "Carlos L\xc3\xb3pez \xf0\x9f\x98\x80",
  };
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  values.push_back(all_bytes);
  std::mt19937 random(12345);
  for (int i = 0; i < 200; ++i) {
    std::string value(random() % 40, '\0');
    for (char& c : value) c = static_cast<char>(random());
    values.push_back(value);
  }
  return values;
}

TEST(LogLine, IsValidJsonWhateverBytesItCarries) {
  const std::vector<std::string> values = hostile_values();
  set_level(Level::debug);
  const std::string text = captured_stderr([&] {
    for (const std::string& v : values) {
      warn(v).str("value", v).str(v, "as a key").num("n", -1).real("r", 0.5).boolean("b", true);
    }
  });
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), values.size());
  simdjson::dom::parser parser;
  for (size_t i = 0; i < lines.size(); ++i) {
    // simdjson validates the whole document, UTF-8 included.
    simdjson::dom::element line;
    const auto error = parser.parse(lines[i]).get(line);
    ASSERT_EQ(error, simdjson::SUCCESS) << "line " << i << ": " << lines[i];
    std::string_view level;
    ASSERT_EQ(line["level"].get(level), simdjson::SUCCESS);
    EXPECT_EQ(level, "warn");
    int64_t n = 0;
    ASSERT_EQ(line["n"].get(n), simdjson::SUCCESS);
    EXPECT_EQ(n, -1);
  }
}

TEST(LogLine, ValidTextRoundTripsExactly) {
  const std::string value = "quote\" backslash\\ \x01\n\t Carlos L\xc3\xb3pez \xf0\x9f\x98\x80";
  set_level(Level::info);
  const std::string text = captured_stderr([&] { info("round trip").str("value", value); });
  simdjson::dom::parser parser;
  std::string_view parsed;
  ASSERT_EQ(parser.parse(text)["value"].get(parsed), simdjson::SUCCESS) << text;
  EXPECT_EQ(parsed, value);
}

TEST(LogLine, InvalidUtf8BecomesReplacementCharacters) {
  set_level(Level::info);
  const std::string text = captured_stderr([] {
    info("m").str("value",
                  "a\xff"
                  "b\xc3");
  });
  EXPECT_NE(text.find(R"("value":"a\ufffdb\ufffd")"), std::string::npos) << text;
}

TEST(LogLine, BelowTheLevelWritesNothing) {
  set_level(Level::error);
  EXPECT_EQ(captured_stderr([] { warn("hidden").str("k", "v"); }), "");
  set_level(Level::info);
}

// stderr is a pipe that nobody reads: logging returns at once, the lines that do not fit
// are dropped and counted, and the ones kept arrive whole once someone reads.
TEST(LogLine, AStderrNobodyReadsDropsLinesInsteadOfBlocking) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  const uint64_t before = lines_dropped();
  const std::string filler(200, 'x');
  constexpr int kLines = 20'000;  // about 4.6 MB: far beyond the queue and the pipe
  for (int i = 0; i < kLines; ++i) warn("filler").num("i", i).str("x", filler);
  const uint64_t dropped = lines_dropped() - before;
  EXPECT_GT(dropped, static_cast<uint64_t>(kLines / 2));
  EXPECT_LT(dropped, static_cast<uint64_t>(kLines));

  std::string text;
  std::thread reader([&] {
    char buffer[65536];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  });
  EXPECT_TRUE(flush(std::chrono::seconds(10)));
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fds[1]);
  reader.join();
  close(fds[0]);
  const std::vector<std::string> lines = lines_of(text);
  EXPECT_EQ(lines.size() + dropped, static_cast<size_t>(kLines));
  for (const std::string& line : lines) {
    ASSERT_EQ(line.rfind(R"({"ts":")", 0), 0u) << line;
    ASSERT_NE(line.find(filler), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace paystream::net::log
