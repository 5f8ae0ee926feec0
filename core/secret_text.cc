#include "core/secret_text.h"

#include "core/sha256.h"

namespace paystream::core {
namespace {

bool is_trailing_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view trim_trailing_whitespace(std::string_view content) {
  size_t end = content.size();
  while (end > 0 && is_trailing_whitespace(content[end - 1])) --end;
  return content.substr(0, end);
}

std::optional<std::string_view> secret_from_file_content(std::string_view content) {
  const std::string_view secret = trim_trailing_whitespace(content);
  if (secret.empty()) return std::nullopt;
  return secret;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Accumulate every difference; no branch depends on the bytes.
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

std::optional<std::string_view> parse_bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !equals_ignoring_case(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  for (char c : token) {
    if (c == ' ' || c == '\t') return std::nullopt;
  }
  return token;
}

std::string fingerprint(std::string_view secret) {
  return sha256_hex(secret).substr(0, kFingerprintLength);
}

}  // namespace paystream::core
