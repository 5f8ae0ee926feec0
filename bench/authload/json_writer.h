#pragma once
// A minimal streaming JSON writer for the report: objects, arrays, strings, numbers, booleans,
// with the commas and escaping done for the caller. Output is compact, one key per line.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace paystream::bench {

class JsonWriter {
 public:
  JsonWriter& begin_object(std::string_view key = {});
  JsonWriter& end_object();
  JsonWriter& begin_array(std::string_view key = {});
  JsonWriter& end_array();
  JsonWriter& string(std::string_view key, std::string_view value);
  JsonWriter& number(std::string_view key, double value);  // 3 decimals at most; NaN as null
  JsonWriter& integer(std::string_view key, uint64_t value);
  JsonWriter& boolean(std::string_view key, bool value);
  JsonWriter& null(std::string_view key);
  // Array elements: pass an empty key.
  const std::string& text() const { return text_; }

 private:
  void prefix(std::string_view key);
  void quoted(std::string_view value);
  void open(std::string_view key, char bracket);
  void close(char bracket);

  std::string text_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
};

}  // namespace paystream::bench
