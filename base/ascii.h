#pragma once
// ASCII text helpers for protocol text (HTTP headers, secret files, JSON tokens): no locale, no
// allocation. Bytes outside ASCII are never letters and never whitespace.

#include <string_view>

namespace paystream::base {

// HTTP optional whitespace (RFC 9110 OWS): the blanks around header values and parameters.
inline constexpr std::string_view kSpaceTab = " \t";
// Space, tab, carriage return and line feed: JSON's insignificant whitespace, and what a file
// written by an editor or `echo` ends with.
inline constexpr std::string_view kWhitespace = " \t\r\n";

// Lowercase hexadecimal digits, indexed by nibble.
inline constexpr char kHexDigits[] = "0123456789abcdef";

// A loop rather than set.find(): with the set a constant, it inlines to one compare per member
// instead of a memchr call (the header parser calls it per header).
constexpr bool is_one_of(char c, std::string_view set) {
  for (char member : set) {
    if (c == member) return true;
  }
  return false;
}

constexpr std::string_view trim_left(std::string_view s, std::string_view set) {
  while (!s.empty() && is_one_of(s.front(), set)) s.remove_prefix(1);
  return s;
}

constexpr std::string_view trim_right(std::string_view s, std::string_view set) {
  while (!s.empty() && is_one_of(s.back(), set)) s.remove_suffix(1);
  return s;
}

constexpr std::string_view trim(std::string_view s, std::string_view set) {
  return trim_right(trim_left(s, set), set);
}

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII case-insensitive equality: 'A'-'Z' match 'a'-'z'; every other byte only itself.
constexpr bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace paystream::base
