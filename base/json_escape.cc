#include "base/json_escape.h"

#include <cstdint>

#include "base/ascii.h"
#include "base/utf8.h"

namespace paystream::base {
namespace {

bool needs_escape(uint8_t byte) {
  return byte < 0x20 || byte == '"' || byte == '\\';
}

void append_control_escape(std::string& out, uint8_t byte) {
  switch (byte) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  const char escaped[] = {'\\', 'u', '0', '0', kHexDigits[byte >> 4], kHexDigits[byte & 0xF]};
  out.append(escaped, sizeof escaped);
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // Copy the longest run of bytes that need no escaping in one append.
    size_t run_end = pos;
    while (run_end < text.size()) {
      const auto byte = static_cast<uint8_t>(text[run_end]);
      if (byte >= 0x80 || needs_escape(byte)) break;
      ++run_end;
    }
    out.append(text.data() + pos, run_end - pos);
    pos = run_end;
    if (pos == text.size()) break;

    const auto byte = static_cast<uint8_t>(text[pos]);
    if (byte < 0x80) {
      append_control_escape(out, byte);
      ++pos;
      continue;
    }
    const size_t length = utf8_sequence_length(text, pos);
    if (length == 0) {
      out += "\\ufffd";
      ++pos;
    } else {
      out.append(text.data() + pos, length);
      pos += length;
    }
  }
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

}  // namespace paystream::base
