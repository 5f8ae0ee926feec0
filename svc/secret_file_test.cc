// core::SecretReloader over real files, rotated the way Kubernetes does it: the mounted path is
// a symlink through `..data`, which is swapped atomically to a new directory.

#include "svc/secret_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace paystream::svc {
namespace {

namespace fs = std::filesystem;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/secret-file-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const fs::path& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  // Kubernetes' atomic writer: a new timestamped directory, then `..data` renamed onto it.
  void publish(const std::string& version, const std::string& content) {
    fs::create_directory(dir_ / version);
    write(dir_ / version / "token", content);
    fs::create_directory_symlink(version, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
    if (!fs::exists(dir_ / "token", ec_)) fs::create_symlink("..data/token", dir_ / "token");
  }

  fs::path dir_;
  std::error_code ec_;
};

TEST_F(SecretFileTest, FollowsAKubernetesRotation) {
  publish("..2024_01", "token-1\n");
  core::SecretLoadResult load = core::SecretReloader::load(secret_file_access(dir_ / "token"), 0);
  ASSERT_TRUE(load.reloader);
  core::SecretReloader& reloader = *load.reloader;
  EXPECT_TRUE(reloader.matches("token-1"));

  publish("..2024_02", "token-2\n");
  EXPECT_EQ(reloader.poll(10), core::SecretPollEvent::rotated);  // new inode: not waiting 1 s
  EXPECT_TRUE(reloader.matches("token-2"));
  EXPECT_FALSE(reloader.matches("token-1"));
}

TEST_F(SecretFileTest, MissingEmptyOrHugeFilesAreRefused) {
  EXPECT_EQ(core::SecretReloader::load(secret_file_access(dir_ / "absent"), 0).problem,
            core::SecretProblem::unreadable);
  write(dir_ / "empty", " \n");
  EXPECT_EQ(core::SecretReloader::load(secret_file_access(dir_ / "empty"), 0).problem,
            core::SecretProblem::empty);
  write(dir_ / "huge", std::string(kMaxSecretFileBytes + 1, 'x'));
  EXPECT_EQ(core::SecretReloader::load(secret_file_access(dir_ / "huge"), 0).problem,
            core::SecretProblem::unreadable);
}

TEST_F(SecretFileTest, DeletedLaterKeepsTheLastGoodSecret) {
  write(dir_ / "token", "token-1");
  core::SecretLoadResult load = core::SecretReloader::load(secret_file_access(dir_ / "token"), 0);
  ASSERT_TRUE(load.reloader);
  fs::remove(dir_ / "token");
  EXPECT_EQ(load.reloader->poll(1'000), core::SecretPollEvent::unreadable);
  EXPECT_TRUE(load.reloader->matches("token-1"));
}

}  // namespace
}  // namespace paystream::svc
