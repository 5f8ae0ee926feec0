#include "core/secret_reload.h"

#include <utility>

#include "core/secret_text.h"

namespace paystream::core {
namespace {

std::string_view digest_view(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

}  // namespace

std::string_view secret_problem_message(SecretProblem problem) {
  switch (problem) {
    case SecretProblem::unreadable:
      return "secret file is missing or unreadable";
    case SecretProblem::empty:
      return "secret file is empty";
  }
  return "";
}

std::string_view secret_poll_event_name(SecretPollEvent event) {
  switch (event) {
    case SecretPollEvent::not_due:
      return "not_due";
    case SecretPollEvent::unchanged:
      return "unchanged";
    case SecretPollEvent::rotated:
      return "rotated";
    case SecretPollEvent::recovered:
      return "recovered";
    case SecretPollEvent::unreadable:
      return "unreadable";
    case SecretPollEvent::empty:
      return "empty";
  }
  return "";
}

SecretLoadResult SecretReloader::load(SecretFileAccess access, uint64_t now_ms) {
  const std::optional<FileIdentity> identity = access.stat();
  if (!identity) return {std::nullopt, SecretProblem::unreadable};
  const std::optional<std::string> content = access.read();
  if (!content) return {std::nullopt, SecretProblem::unreadable};
  const std::optional<std::string_view> secret = secret_from_file_content(*content);
  if (!secret) return {std::nullopt, SecretProblem::empty};
  return {SecretReloader(std::move(access), identity, *secret, now_ms), std::nullopt};
}

SecretReloader::SecretReloader(SecretFileAccess access, std::optional<FileIdentity> identity,
                               std::string_view secret, uint64_t now_ms)
    : access_(std::move(access)), identity_(identity), last_attempt_ms_(now_ms) {
  adopt(secret, now_ms);
}

void SecretReloader::adopt(std::string_view secret, uint64_t now_ms) {
  secret_.assign(secret);
  digest_ = sha256(secret);
  fingerprint_ = core::fingerprint(secret);
  last_changed_ms_ = now_ms;
}

SecretPollEvent SecretReloader::fail(SecretPollEvent event) {
  ++consecutive_failures_;
  return event;
}

SecretPollEvent SecretReloader::poll(uint64_t now_ms) {
  const std::optional<FileIdentity> identity = access_.stat();
  const bool due = now_ms < last_attempt_ms_ || now_ms - last_attempt_ms_ >= kRecheckIntervalMs;
  if (!due && identity == identity_) return SecretPollEvent::not_due;

  last_attempt_ms_ = now_ms;
  identity_ = identity;
  if (!identity) return fail(SecretPollEvent::unreadable);
  const std::optional<std::string> content = access_.read();
  if (!content) return fail(SecretPollEvent::unreadable);
  const std::optional<std::string_view> secret = secret_from_file_content(*content);
  if (!secret) return fail(SecretPollEvent::empty);

  const bool was_failing = consecutive_failures_ > 0;
  consecutive_failures_ = 0;
  if (*secret != secret_) {
    adopt(*secret, now_ms);
    return SecretPollEvent::rotated;
  }
  return was_failing ? SecretPollEvent::recovered : SecretPollEvent::unchanged;
}

bool SecretReloader::matches(std::string_view presented) const {
  return constant_time_equals(digest_view(sha256(presented)), digest_view(digest_));
}

}  // namespace paystream::core
