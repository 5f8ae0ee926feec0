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
// The kernel compiled into our inlined On-Demand code (SIMDJSON_BUILTIN_IMPLEMENTATION).
std::string_view simdjson_kernel();
// The kernel Debian's libsimdjson chose for this CPU at run time (the first pass).
std::string simdjson_active_kernel();
std::string simdjson_version();
std::string_view service_version_default();
std::string_view revision();

}  // namespace paystream::svc
