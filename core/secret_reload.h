#pragma once
// Keeps a secret file's value current (Kubernetes rotates mounted secrets by swapping a `..data`
// symlink). Pure state machine: the clock and the file access are injected, so tests need no
// files. Never falls open: once loaded, a secret is only ever replaced by another valid one.
//
// Not thread-safe: one owner (the admin thread) calls poll() and matches().

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/sha256.h"

namespace paystream::core {

// What stat() tells apart: a rewrite in place (size, mtime) or a new file behind the path
// (device, inode).
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;

  bool operator==(const FileIdentity&) const = default;
};

struct SecretFileAccess {
  // The identity of the file the path leads to now (symlinks followed); nullopt when missing.
  std::function<std::optional<FileIdentity>()> stat;
  // The file's whole content; nullopt when it cannot be read.
  std::function<std::optional<std::string>()> read;
};

enum class SecretProblem : uint8_t {
  unreadable,  // missing, unreadable or too large
  empty,       // nothing left after trimming trailing whitespace
};

// Static text naming the problem, never the secret: "secret file is unreadable", ...
std::string_view secret_problem_message(SecretProblem problem);

enum class SecretPollEvent : uint8_t {
  not_due,     // the file's identity is unchanged and it was read less than a second ago
  unchanged,   // re-read: the same secret
  rotated,     // re-read: a new secret is in use from now on
  recovered,   // re-read after failures: the same secret as before them
  unreadable,  // re-read failed: the last good secret stays in use
  empty,       // the file is empty now: the last good secret stays in use
};

std::string_view secret_poll_event_name(SecretPollEvent event);

struct SecretLoadResult;

class SecretReloader {
 public:
  static constexpr uint64_t kRecheckIntervalMs = 1000;

  // The start-up read. A missing, unreadable or empty file is a failure (exit 2 at start-up).
  // now_ms: any millisecond clock; a wall clock makes last_changed_ms() meaningful to humans.
  static SecretLoadResult load(SecretFileAccess access, uint64_t now_ms);

  SecretReloader(SecretReloader&&) = default;
  SecretReloader& operator=(SecretReloader&&) = default;
  SecretReloader(const SecretReloader&) = delete;
  SecretReloader& operator=(const SecretReloader&) = delete;

  // Re-reads when the file's identity changed, or at least every kRecheckIntervalMs (a clock
  // that went backwards counts as due). Failures keep the last good secret.
  SecretPollEvent poll(uint64_t now_ms);

  // Whether `presented` is the secret. Compares SHA-256 digests in constant time, so the
  // secret's length does not leak either.
  bool matches(std::string_view presented) const;

  // The secret itself, for the one consumer that must send it (the processor client).
  // Never log, echo or store it elsewhere.
  std::string_view expose_for_processor() const { return secret_; }

  // First 8 hex characters of the secret's SHA-256.
  const std::string& fingerprint() const { return fingerprint_; }
  // now_ms of the load, or of the last rotation.
  uint64_t last_changed_ms() const { return last_changed_ms_; }
  // Failed re-reads since the last good one (0: healthy). Lets callers log a failure once.
  uint32_t consecutive_failures() const { return consecutive_failures_; }

 private:
  SecretReloader(SecretFileAccess access, std::optional<FileIdentity> identity,
                 std::string_view secret, uint64_t now_ms);
  void adopt(std::string_view secret, uint64_t now_ms);
  SecretPollEvent fail(SecretPollEvent event);

  SecretFileAccess access_;
  std::optional<FileIdentity> identity_;  // of the last read attempt's file
  uint64_t last_attempt_ms_ = 0;
  std::string secret_;
  Sha256Digest digest_{};
  std::string fingerprint_;
  uint64_t last_changed_ms_ = 0;
  uint32_t consecutive_failures_ = 0;
};

struct SecretLoadResult {
  std::optional<SecretReloader> reloader;  // set on success
  std::optional<SecretProblem> problem;    // set on failure
};

}  // namespace paystream::core
