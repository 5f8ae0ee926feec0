#pragma once
// The worst case of memory one connection can hold, and that bound times the
// connection cap set against the cgroup's memory limit. Arithmetic only, no I/O.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/http_session.h"

namespace paystream::net {

// Socket buffer sizes set on each accepted connection; the kernel doubles them.
inline constexpr int kSocketSendBufferBytes = 64 * 1024;
inline constexpr int kSocketReceiveBufferBytes = 64 * 1024;
// The kernel checks a queue against its limit before it adds a segment, so each queue can
// pass its doubled size by one segment: up to 64 KiB with segmentation offload (loopback
// and veth send 64 KiB segments).
inline constexpr size_t kSocketQueueOvershootBytes = 64 * 1024;
// One read's buffer (per reactor, shared by its connections).
inline constexpr size_t kReadBufferBytes = 64 * 1024;
// A response's status line, Date, Content-Type, Content-Length and extra headers.
inline constexpr size_t kResponseHeadBytes = 512;
// The Connection object with its libuv handles and the session's fixed fields.
inline constexpr size_t kConnectionObjectBytes = 4096;
// The largest response the public routes produce (authorize, probes, errors).
inline constexpr size_t kLargestPublicResponseBytes = 4096;

struct ConnectionBound {
  size_t parser = 0;     // head text, body, header index
  size_t unparsed = 0;   // received bytes set aside while output drains
  size_t output = 0;     // unsent output, including the bytes being written
  size_t responses = 0;  // answers waiting for their turn, and the one being built
  size_t kernel = 0;     // socket send and receive queues (not in RSS)
  size_t fixed = 0;
  size_t user() const { return parser + unparsed + output + responses + fixed; }
  size_t total() const { return user() + kernel; }
};

ConnectionBound connection_bound(const SessionLimits& limits, size_t largest_response_bytes);

enum class MemoryLimitKind { limited, unlimited, unknown };
struct MemoryLimit {
  MemoryLimitKind kind = MemoryLimitKind::unknown;
  uint64_t bytes = 0;
};

// cgroup v2 memory.max: a byte count, or "max" (unlimited). Anything else: unknown.
MemoryLimit parse_memory_max(std::string_view text);

struct MemoryBudget {
  uint64_t worst_case_bytes = 0;  // connections x per-connection bound, saturating
  bool exceeds_limit = false;     // only for a known limit
};

MemoryBudget memory_budget(uint64_t connections, uint64_t per_connection_bytes,
                           const MemoryLimit& limit);

}  // namespace paystream::net
