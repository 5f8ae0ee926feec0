#pragma once
// Everything counted for one target during the measured phase (warm-up requests are not
// counted). One per target per client thread, merged at the end.

#include <array>
#include <cstdint>
#include <string_view>

#include "bench/authload/histogram.h"

namespace paystream::bench {

// Why a request got no HTTP response. Every request ends in exactly one response or one error.
enum class ErrorKind : uint8_t {
  connect,   // its target had no connection and every attempt to open one was failing
  timeout,   // no response within --timeout of its scheduled send time (sent or not)
  closed,    // the server closed or reset the connection while it was in flight
  protocol,  // the bytes that came back were not HTTP (or an answer nobody asked for)
};
inline constexpr size_t kErrorKindCount = 4;
std::string_view error_kind_name(ErrorKind kind);

// The status classes whose latency is also kept apart (2xx, 3xx, 4xx, 5xx): fast rejections
// (a 503 at once) and slow successes then each have their own percentiles.
inline constexpr int kFirstStatusClass = 2;
inline constexpr size_t kStatusClassCount = 4;

struct TargetStats {
  static constexpr int kMaxStatus = 999;

  Histogram latency;  // scheduled send time → response, every HTTP response
  // The same, by status class: [0] 2xx … [3] 5xx (other statuses only in `latency`).
  std::array<Histogram, kStatusClassCount> latency_by_class;
  Histogram send_lag;  // actual − scheduled send time, every request sent
  uint64_t scheduled = 0;
  uint64_t sent = 0;                   // each request once, however often it was sent
  uint64_t resent = 0;                 // sent again after a `Connection: close` answer ahead of it
  uint64_t waited_for_connection = 0;  // found every connection busy when it came due
  uint64_t responses = 0;
  std::array<uint64_t, kMaxStatus + 1> by_status{};
  std::array<uint64_t, kErrorKindCount> errors{};
  uint64_t late_responses = 0;  // answers to requests already counted as timeouts
  uint64_t approved = 0;
  uint64_t declined = 0;
  uint64_t last_send_ns = 0;  // monotonic time of the last measured send

  // Connection events during the whole run, warm-up included.
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t closed_by_peer = 0;            // EOF or reset from the server, in flight or idle
  uint64_t closed_by_server_request = 0;  // after a `Connection: close` answer

  void record_response(int status, uint64_t latency_ns);
  void record_error(ErrorKind kind) { ++errors[static_cast<size_t>(kind)]; }
  uint64_t error_count(ErrorKind kind) const { return errors[static_cast<size_t>(kind)]; }
  // Responses whose status is not 2xx (1xx never reach here).
  uint64_t non_2xx() const;
  // Transport errors plus non-2xx responses.
  uint64_t total_errors() const;
  void merge(const TargetStats& other);
};

}  // namespace paystream::bench
