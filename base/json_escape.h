#pragma once
// JSON string escaping (RFC 8259) into a caller-owned std::string: appends never allocate once
// the string's capacity suffices, so a reused buffer keeps the warm path allocation-free.

#include <string>
#include <string_view>

namespace paystream::base {

// Appends `text` escaped for use inside a JSON string, without quotes: '"', '\\' and control
// characters are escaped; invalid UTF-8 bytes become \ufffd, so the output is always valid.
void append_json_escaped(std::string& out, std::string_view text);

// Appends `text` as a complete JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);

}  // namespace paystream::base
