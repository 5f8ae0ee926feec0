#pragma once
// A string stored inline with a fixed capacity: copying request fields costs no allocation.

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace paystream::core {

template <size_t Capacity>
class InlineString {
 public:
  static constexpr size_t kCapacity = Capacity;

  std::string_view view() const { return {data_.data(), size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // False (and left empty) when `text` is longer than the capacity.
  bool assign(std::string_view text) {
    if (text.size() > Capacity) {
      size_ = 0;
      return false;
    }
    if (!text.empty()) std::memcpy(data_.data(), text.data(), text.size());
    size_ = text.size();
    return true;
  }
  void clear() { size_ = 0; }

 private:
  std::array<char, Capacity> data_{};
  size_t size_ = 0;
};

}  // namespace paystream::core
