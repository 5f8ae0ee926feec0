#include "core/request_headers.h"

#include "base/ascii.h"

namespace paystream::core {
namespace {

using base::equals_ignore_case;

std::string_view trim(std::string_view s) {
  return base::trim(s, base::kSpaceTab);
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (!base::is_digit(c)) return false;
  }
  return true;
}

}  // namespace

bool is_loopback_host(std::string_view value) {
  value = trim(value);
  std::string_view host = value;
  std::string_view rest;
  if (value.starts_with('[')) {
    const size_t close = value.find(']');
    if (close == std::string_view::npos) return false;
    host = value.substr(1, close - 1);
    rest = value.substr(close + 1);
    if (host != "::1") return false;
  } else {
    const size_t colon = value.find(':');
    if (colon != std::string_view::npos) {
      host = value.substr(0, colon);
      rest = value.substr(colon);
    }
    if (host != "127.0.0.1" && !equals_ignore_case(host, "localhost")) return false;
  }
  return rest.empty() || (rest.front() == ':' && is_port(rest.substr(1)));
}

bool is_json_utf8_content_type(std::string_view value) {
  size_t semicolon = value.find(';');
  if (!equals_ignore_case(trim(value.substr(0, semicolon)), "application/json")) return false;
  while (semicolon != std::string_view::npos) {
    value.remove_prefix(semicolon + 1);
    semicolon = value.find(';');
    const std::string_view param = trim(value.substr(0, semicolon));
    if (param.empty()) continue;
    const size_t equals = param.find('=');
    if (equals == std::string_view::npos) return false;  // a parameter without a value
    if (!equals_ignore_case(trim(param.substr(0, equals)), "charset")) continue;
    std::string_view charset = trim(param.substr(equals + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    if (!equals_ignore_case(charset, "utf-8")) return false;
  }
  return true;
}

bool is_valid_request_id(std::string_view value) {
  if (value.empty() || value.size() > kMaxRequestIdLength) return false;
  for (char c : value) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

void format_request_id(uint64_t high, uint64_t low, char* out) {
  for (int i = 0; i < 16; ++i) out[i] = base::kHexDigits[(high >> (60 - 4 * i)) & 15];
  for (int i = 0; i < 16; ++i) out[16 + i] = base::kHexDigits[(low >> (60 - 4 * i)) & 15];
}

}  // namespace paystream::core
