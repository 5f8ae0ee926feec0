#include "core/secret_text.h"

#include <openssl/crypto.h>

#include "base/ascii.h"
#include "core/sha256.h"

namespace paystream::core {

std::string_view trim_trailing_whitespace(std::string_view content) {
  return base::trim_right(content, base::kWhitespace);
}

std::optional<std::string_view> secret_from_file_content(std::string_view content) {
  const std::string_view secret = trim_trailing_whitespace(content);
  if (secret.empty()) return std::nullopt;
  return secret;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string_view> parse_bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !base::equals_ignore_case(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  token = base::trim_right(base::trim_left(token, " "), base::kSpaceTab);
  if (token.empty() || token.find_first_of(base::kSpaceTab) != std::string_view::npos) {
    return std::nullopt;
  }
  return token;
}

std::string fingerprint(std::string_view secret) {
  return sha256_hex(secret).substr(0, kFingerprintLength);
}

}  // namespace paystream::core
