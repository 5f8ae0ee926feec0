#pragma once
// The error texts both JSON body decoders (authorize, fault injection) share, so a
// client sees the same words for the same mistake on either endpoint.

#include <cstddef>
#include <string_view>

namespace paystream::core {

inline constexpr std::string_view kBodyNotJson = "body is not valid JSON";
inline constexpr std::string_view kBodyNotObject = "body must be a JSON object";
inline constexpr std::string_view kKeyRepeated = "appears more than once";
// A repeated or unknown key is named in the error, cut to this many bytes.
inline constexpr size_t kMaxReportedKeyBytes = 64;

}  // namespace paystream::core
