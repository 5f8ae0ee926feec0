#include "base/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace paystream::base {
namespace {

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/base_file_test_XXXXXX";
    const int fd = mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const char* path() const { return path_.c_str(); }

 private:
  std::string path_;
};

TEST(ReadSmallFile, WholeContentWithAnyBytes) {
  const std::string content("line\n\0\xff end", 12);
  const TempFile file(content);
  EXPECT_EQ(read_small_file(file.path(), 64), content);
  EXPECT_EQ(read_small_file(file.path(), content.size()), content);
}

TEST(ReadSmallFile, LargerThanTheLimitIsRefused) {
  const TempFile file(std::string(10'000, 'x'));
  EXPECT_EQ(read_small_file(file.path(), 9'999), std::nullopt);
  EXPECT_EQ(read_small_file(file.path(), 10'000)->size(), 10'000u);
}

TEST(ReadSmallFile, MissingFileOrDirectory) {
  EXPECT_EQ(read_small_file("/nonexistent/base_file_test", 64), std::nullopt);
  EXPECT_EQ(read_small_file("/", 64), std::nullopt);
}

TEST(ReadSmallFile, ProcFilesWhoseSizeIsZero) {
  const std::optional<std::string> stat = read_small_file("/proc/self/stat", 64 * 1024);
  ASSERT_TRUE(stat.has_value());
  EXPECT_FALSE(stat->empty());
}

}  // namespace
}  // namespace paystream::base
