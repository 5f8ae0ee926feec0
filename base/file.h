#pragma once
// Whole-file reads (/proc and cgroup entries, mounted secrets, request bodies), without
// iostreams. The only I/O in base/.

#include <cstddef>
#include <optional>
#include <string>

namespace paystream::base {

// The file's content; nullopt when it cannot be opened or read, or is larger than max_bytes.
// Works for /proc files, whose stat size is 0.
std::optional<std::string> read_small_file(const char* path, size_t max_bytes);

}  // namespace paystream::base
