#pragma once
// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.

#include <cstddef>
#include <string_view>

namespace paystream::base {

// Length (1-4) of the valid UTF-8 sequence starting at text[pos], or 0 if it is invalid.
size_t utf8_sequence_length(std::string_view text, size_t pos);

bool is_valid_utf8(std::string_view text);

}  // namespace paystream::base
