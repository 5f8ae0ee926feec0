#include "svc/runtime_info.h"

#include <simdjson.h>
#include <cstdlib>
#include <memory>

#include "project_version.h"
#include "revision.h"

#if PAYSTREAM_HAS_MIMALLOC
#include <mimalloc.h>
#endif

namespace paystream::svc {

#define PAYSTREAM_STRINGIFY_(x) #x
#define PAYSTREAM_STRINGIFY(x) PAYSTREAM_STRINGIFY_(x)

AllocatorInfo check_allocator() {
  AllocatorInfo info;
#if PAYSTREAM_HAS_MIMALLOC
  info.linked = true;
  const int v = mi_version();
  info.version =
      std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  // Fresh blocks from both entry points must come from mimalloc's heap, or the
  // override did not take (wrong link order, a preloaded allocator...).
  void* from_malloc = std::malloc(64);
  auto from_new = std::make_unique<char[]>(64);
  info.overrides = mi_is_in_heap_region(from_malloc) && mi_is_in_heap_region(from_new.get());
  std::free(from_malloc);
#endif
  return info;
}

std::string_view simdjson_kernel() {
  // Debian's shared library always reports "fallback" from builtin_implementation();
  // the On-Demand code inlined here runs the kernel this macro names.
  return PAYSTREAM_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

std::string simdjson_active_kernel() {
  return std::string(simdjson::get_active_implementation()->name());
}

std::string simdjson_version() {
  return PAYSTREAM_STRINGIFY(SIMDJSON_VERSION);
}

std::string_view service_version_default() {
  return PAYSTREAM_VERSION;
}

std::string_view revision() {
  return PAYSTREAM_REVISION;
}

}  // namespace paystream::svc
