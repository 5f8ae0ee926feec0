#include "core/secret_reload.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "core/secret_text.h"

namespace paystream::core {
namespace {

// A file the test rewrites: content and identity, or missing.
struct FakeFile {
  std::optional<std::string> content = "token-1\n";
  FileIdentity identity{1, 100, 8, 1};
  int reads = 0;

  // Kubernetes' rotation: a new file (inode) behind the same path.
  void replace(std::string text) {
    content = std::move(text);
    identity.inode += 1;
    identity.size = static_cast<int64_t>(content->size());
  }
};

SecretFileAccess access_to(const std::shared_ptr<FakeFile>& file) {
  return {
      [file]() -> std::optional<FileIdentity> {
        if (!file->content) return std::nullopt;
        return file->identity;
      },
      [file]() -> std::optional<std::string> {
        ++file->reads;
        return file->content;
      },
  };
}

constexpr uint64_t kStart = 1'700'000'000'000;

SecretReloader loaded(const std::shared_ptr<FakeFile>& file) {
  SecretLoadResult result = SecretReloader::load(access_to(file), kStart);
  EXPECT_TRUE(result.reloader);
  return std::move(*result.reloader);
}

TEST(SecretReloader, LoadsTheTrimmedContent) {
  auto file = std::make_shared<FakeFile>();
  SecretReloader reloader = loaded(file);
  EXPECT_TRUE(reloader.matches("token-1"));
  EXPECT_FALSE(reloader.matches("token-1\n"));
  EXPECT_FALSE(reloader.matches("token-"));
  EXPECT_FALSE(reloader.matches(""));
  EXPECT_EQ(reloader.expose_for_processor(), "token-1");
  EXPECT_EQ(reloader.fingerprint(), fingerprint("token-1"));
  EXPECT_EQ(reloader.last_changed_ms(), kStart);
}

TEST(SecretReloader, StartUpFailsWhenMissingOrEmpty) {
  auto file = std::make_shared<FakeFile>();
  file->content = std::nullopt;
  SecretLoadResult result = SecretReloader::load(access_to(file), kStart);
  EXPECT_FALSE(result.reloader);
  EXPECT_EQ(result.problem, SecretProblem::unreadable);

  file->content = " \r\n";
  result = SecretReloader::load(access_to(file), kStart);
  EXPECT_FALSE(result.reloader);
  EXPECT_EQ(result.problem, SecretProblem::empty);
  EXPECT_EQ(secret_problem_message(SecretProblem::empty), "secret file is empty");
}

TEST(SecretReloader, RotationIsPickedUpWithinTwoSeconds) {
  auto file = std::make_shared<FakeFile>();
  SecretReloader reloader = loaded(file);
  const int reads_after_load = file->reads;

  // Polled every 250 ms as an admin loop timer would; nothing is re-read before it is due.
  EXPECT_EQ(reloader.poll(kStart + 250), SecretPollEvent::not_due);
  EXPECT_EQ(file->reads, reads_after_load);

  file->replace("token-2\n");
  uint64_t now = kStart + 250;
  SecretPollEvent event = SecretPollEvent::not_due;
  while (event != SecretPollEvent::rotated && now < kStart + 2'250) {
    now += 250;
    event = reloader.poll(now);
  }
  EXPECT_EQ(event, SecretPollEvent::rotated);
  EXPECT_LE(now - (kStart + 250), 2'000u);
  EXPECT_TRUE(reloader.matches("token-2"));
  EXPECT_FALSE(reloader.matches("token-1"));
  EXPECT_EQ(reloader.fingerprint(), fingerprint("token-2"));
  EXPECT_EQ(reloader.last_changed_ms(), now);
}

TEST(SecretReloader, RewriteInPlaceIsSeenAtTheNextSecond) {
  auto file = std::make_shared<FakeFile>();
  SecretReloader reloader = loaded(file);
  file->content = "token-9\n";  // same identity (mtime granularity), new content
  EXPECT_EQ(reloader.poll(kStart + 999), SecretPollEvent::not_due);
  EXPECT_EQ(reloader.poll(kStart + 1'000), SecretPollEvent::rotated);
  EXPECT_EQ(reloader.poll(kStart + 2'000), SecretPollEvent::unchanged);
}

TEST(SecretReloader, UnreadableOrEmptyLaterKeepsTheLastGoodSecret) {
  auto file = std::make_shared<FakeFile>();
  SecretReloader reloader = loaded(file);

  file->content = std::nullopt;
  EXPECT_EQ(reloader.poll(kStart + 100), SecretPollEvent::unreadable);  // identity changed
  EXPECT_EQ(reloader.consecutive_failures(), 1u);
  EXPECT_EQ(reloader.poll(kStart + 200), SecretPollEvent::not_due);
  EXPECT_EQ(reloader.poll(kStart + 1'100), SecretPollEvent::unreadable);
  EXPECT_EQ(reloader.consecutive_failures(), 2u);
  EXPECT_TRUE(reloader.matches("token-1"));

  file->replace("\n");
  EXPECT_EQ(reloader.poll(kStart + 1'200), SecretPollEvent::empty);
  EXPECT_TRUE(reloader.matches("token-1"));
  EXPECT_FALSE(reloader.matches(""));
  EXPECT_EQ(reloader.last_changed_ms(), kStart);

  file->replace("token-1");
  EXPECT_EQ(reloader.poll(kStart + 1'300), SecretPollEvent::recovered);
  EXPECT_EQ(reloader.consecutive_failures(), 0u);
  EXPECT_EQ(reloader.last_changed_ms(), kStart);
}

TEST(SecretReloader, ClockGoingBackwardsIsDue) {
  auto file = std::make_shared<FakeFile>();
  SecretReloader reloader = loaded(file);
  EXPECT_EQ(reloader.poll(kStart - 5'000), SecretPollEvent::unchanged);
}

}  // namespace
}  // namespace paystream::core
