#include "bench/authload/json_writer.h"

#include <cmath>
#include <cstdio>

#include "base/json_escape.h"

namespace paystream::bench {

void JsonWriter::quoted(std::string_view value) {
  base::append_json_string(text_, value);
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

void JsonWriter::open(std::string_view key, char bracket) {
  prefix(key);
  text_ += bracket;
  first_.push_back(true);
}

void JsonWriter::close(char bracket) {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) {
    text_ += '\n';
    text_.append(first_.size() * 2, ' ');
  }
  text_ += bracket;
}

JsonWriter& JsonWriter::begin_object(std::string_view key) {
  open(key, '{');
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  close('}');
  if (first_.empty()) text_ += '\n';
  return *this;
}

JsonWriter& JsonWriter::begin_array(std::string_view key) {
  open(key, '[');
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(']');
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
