#include "core/json_syntax.h"

#include "base/ascii.h"

namespace paystream::core {
namespace {

// Advances `pos` over digits; true if there was at least one.
bool skip_digits(std::string_view token, size_t& pos) {
  const size_t start = pos;
  while (pos < token.size() && base::is_digit(token[pos])) ++pos;
  return pos > start;
}

}  // namespace

bool is_json_number(std::string_view token) {
  size_t pos = 0;
  if (pos < token.size() && token[pos] == '-') ++pos;
  if (pos < token.size() && token[pos] == '0') {
    ++pos;
  } else if (!skip_digits(token, pos)) {
    return false;
  }
  if (pos < token.size() && token[pos] == '.') {
    ++pos;
    if (!skip_digits(token, pos)) return false;
  }
  if (pos < token.size() && (token[pos] == 'e' || token[pos] == 'E')) {
    ++pos;
    if (pos < token.size() && (token[pos] == '+' || token[pos] == '-')) ++pos;
    if (!skip_digits(token, pos)) return false;
  }
  return pos == token.size();
}

std::string_view trim_json_whitespace_right(std::string_view token) {
  return base::trim_right(token, base::kWhitespace);
}

}  // namespace paystream::core
