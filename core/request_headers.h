#pragma once
// Checks of request headers (the authorize request's, the admin port's): pure
// functions over header values.

#include <cstdint>
#include <string_view>

namespace paystream::core {

// `application/json` (media type case-insensitive), parameters ignored except
// `charset`, which when present must be utf-8 (quoted or not, any case).
bool is_json_utf8_content_type(std::string_view value);

// A Host naming this machine's loopback: `127.0.0.1`, `localhost` (any case) or
// `[::1]`, each with an optional `:port` (1-5 digits). Anything else, empty included,
// is not: a DNS name another site can rebind to 127.0.0.1 must not pass.
bool is_loopback_host(std::string_view value);

inline constexpr size_t kMaxRequestIdLength = 64;

// 1-64 of [A-Za-z0-9-]: safe to echo in headers and logs.
bool is_valid_request_id(std::string_view value);

// 32 lowercase hex characters from two random words (a generated X-Request-Id).
inline constexpr size_t kGeneratedRequestIdLength = 32;
void format_request_id(uint64_t high, uint64_t low, char* out);

}  // namespace paystream::core
