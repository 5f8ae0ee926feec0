// docs/config.md is the binary's --help text: this fails when they drift apart.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "net/testing/child_process.h"

namespace {

std::string run_help(const std::string& binary) {
  std::string out;
  FILE* pipe = popen((binary + " --help").c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

TEST(ConfigDoc, MatchesHelpOutput) {
  const std::string binary = paystream::net::testing::binary_from_env("PAYSTREAM_AUTHD");
  const std::string root = paystream::net::testing::binary_from_env("PAYSTREAM_SOURCE_ROOT");
  ASSERT_FALSE(binary.empty());
  std::ifstream doc(root + "/docs/config.md");
  ASSERT_TRUE(doc) << "docs/config.md missing";
  std::stringstream text;
  text << doc.rdbuf();
  const std::string help = run_help(binary);
  ASSERT_FALSE(help.empty());
  EXPECT_EQ(text.str(), help) << "regenerate with: " << binary << " --help > docs/config.md";
}

}  // namespace
