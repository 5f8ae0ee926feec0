#pragma once
// Handling of secret values (bearer tokens, API keys) read from files. Pure: no I/O (the
// digest and the constant-time comparison come from OpenSSL's libcrypto).
// A secret never leaves through these functions except as a fingerprint.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace paystream::core {

// `content` without trailing spaces, tabs, carriage returns and line feeds.
std::string_view trim_trailing_whitespace(std::string_view content);

// The secret a file's content holds: the content with trailing whitespace trimmed; nullopt when
// nothing is left (an empty secret is never valid).
std::optional<std::string_view> secret_from_file_content(std::string_view content);

// Equality whose running time depends only on the two lengths, never on where the bytes differ.
// Different lengths compare unequal, and the time reveals the lengths: by design, callers that
// must hide the secret's length compare fixed-size digests instead (SecretReloader::matches).
bool constant_time_equals(std::string_view a, std::string_view b);

// The token of an `Authorization` header value `Bearer <token>`: the scheme compared
// case-insensitively, then one or more spaces, then a non-empty token (trailing spaces and tabs
// trimmed). nullopt for another scheme, a missing or empty token, or a token containing
// whitespace.
std::optional<std::string_view> parse_bearer_token(std::string_view authorization);

inline constexpr size_t kFingerprintLength = 8;

// The first 8 lowercase hex characters of the secret's SHA-256: enough to tell versions apart in
// /admin/state and logs, useless to recover the secret.
std::string fingerprint(std::string_view secret);

}  // namespace paystream::core
