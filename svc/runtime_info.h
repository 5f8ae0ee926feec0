#pragma once
// What this binary really runs with, checked at start-up and logged: the
// allocator in use and the simdjson kernel chosen at compile time.

#include <string>
#include <string_view>

namespace paystream::svc {

struct AllocatorInfo {
  bool linked = false;     // built with mimalloc (sanitizer builds are not)
  bool overrides = false;  // malloc and new really return mimalloc blocks
  std::string version;     // e.g. "2.0.9"
};

AllocatorInfo check_allocator();
std::string_view simdjson_kernel();
std::string simdjson_version();
std::string libuv_version();
std::string llhttp_version();
std::string_view service_version_default();
std::string_view revision();

}  // namespace paystream::svc
