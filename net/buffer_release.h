#pragma once
// Buffers keep their capacity for reuse, up to a small size: one that grew larger
// (a big body, a burst of pipelined answers) is released once drained.

#include <cstddef>
#include <string>

namespace paystream::net {

inline constexpr size_t kKeptBufferBytes = 16 * 1024;

inline void release_if_large(std::string& buffer) {
  if (buffer.empty() && buffer.capacity() > kKeptBufferBytes) std::string().swap(buffer);
}

}  // namespace paystream::net
