#include "net/memory_bound.h"

#include <charconv>
#include <limits>

#include "net/http_types.h"

namespace paystream::net {

ConnectionBound connection_bound(const SessionLimits& limits, size_t largest_response_bytes) {
  const size_t response = largest_response_bytes + kResponseHeadBytes;
  ConnectionBound b;
  // The head's text and the body are each capped; every header adds one index entry.
  b.parser = limits.parse.max_header_bytes + limits.parse.max_body_bytes +
             limits.parse.max_headers * (sizeof(Header) + 2 * sizeof(uint64_t));
  // Parsing stops between requests and keeps the rest of the read; resuming moves it
  // aside while the tail that still does not fit is kept again: two reads at most.
  b.unparsed = 2 * kReadBufferBytes;
  // Parsing stops once unsent output passes the threshold; requests already parsed
  // can still each add their answer.
  b.output = limits.max_unsent_bytes + limits.max_in_flight * response;
  b.responses = limits.max_in_flight * response + largest_response_bytes;
  b.kernel = 2 * static_cast<size_t>(kSocketSendBufferBytes + kSocketReceiveBufferBytes) +
             2 * kSocketQueueOvershootBytes;
  b.fixed = kConnectionObjectBytes;
  return b;
}

MemoryLimit parse_memory_max(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text == "max") return {MemoryLimitKind::unlimited, 0};
  uint64_t bytes = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bytes);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return {};
  return {MemoryLimitKind::limited, bytes};
}

MemoryBudget memory_budget(uint64_t connections, uint64_t per_connection_bytes,
                           const MemoryLimit& limit) {
  MemoryBudget budget;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  budget.worst_case_bytes = per_connection_bytes != 0 && connections > kMax / per_connection_bytes
                                ? kMax
                                : connections * per_connection_bytes;
  budget.exceeds_limit =
      limit.kind == MemoryLimitKind::limited && budget.worst_case_bytes > limit.bytes;
  return budget;
}

}  // namespace paystream::net
