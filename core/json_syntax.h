#pragma once
// Checks of JSON scalar tokens that simdjson On-Demand does not validate when it skips them.

#include <string_view>

namespace paystream::core {

// RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view token);

// `token` without trailing JSON whitespace (space, tab, line feed, carriage return).
std::string_view trim_json_whitespace_right(std::string_view token);

}  // namespace paystream::core
