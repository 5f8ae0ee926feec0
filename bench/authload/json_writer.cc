#include "bench/authload/json_writer.h"

#include <cmath>
#include <cstdio>

namespace paystream::bench {

void JsonWriter::quoted(std::string_view value) {
  text_ += '"';
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      text_ += '\\';
      text_ += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      text_ += escaped;
    } else {
      text_ += c;
    }
  }
  text_ += '"';
}

void JsonWriter::prefix(std::string_view key) {
  if (!first_.empty()) {
    if (!first_.back()) text_ += ',';
    first_.back() = false;
    text_ += '\n';
    text_.append(first_.size() * 2, ' ');
  }
  if (!key.empty()) {
    quoted(key);
    text_ += ": ";
  }
}

JsonWriter& JsonWriter::begin_object(std::string_view key) {
  prefix(key);
  text_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) {
    text_ += '\n';
    text_.append(first_.size() * 2, ' ');
  }
  text_ += '}';
  if (first_.empty()) text_ += '\n';
  return *this;
}

JsonWriter& JsonWriter::begin_array(std::string_view key) {
  prefix(key);
  text_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) {
    text_ += '\n';
    text_.append(first_.size() * 2, ' ');
  }
  text_ += ']';
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view key, std::string_view value) {
  prefix(key);
  quoted(value);
  return *this;
}

JsonWriter& JsonWriter::number(std::string_view key, double value) {
  prefix(key);
  if (!std::isfinite(value)) {
    text_ += "null";
    return *this;
  }
  char digits[64];
  std::snprintf(digits, sizeof digits, "%.3f", value);
  std::string_view shown(digits);
  // Drop trailing zeros (and a trailing point): 12.500 -> 12.5, 3.000 -> 3.
  while (shown.ends_with('0')) shown.remove_suffix(1);
  if (shown.ends_with('.')) shown.remove_suffix(1);
  if (shown == "-0") shown = "0";
  text_ += shown;
  return *this;
}

JsonWriter& JsonWriter::integer(std::string_view key, uint64_t value) {
  prefix(key);
  text_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::null(std::string_view key) {
  prefix(key);
  text_ += "null";
  return *this;
}

JsonWriter& JsonWriter::boolean(std::string_view key, bool value) {
  prefix(key);
  text_ += value ? "true" : "false";
  return *this;
}

}  // namespace paystream::bench
