#include "bench/authload/target_stats.h"

#include <algorithm>

namespace paystream::bench {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::closed:
      return "closed";
    case ErrorKind::protocol:
      return "protocol";
  }
  return "protocol";
}

void TargetStats::record_response(int status, uint64_t latency_ns) {
  ++responses;
  ++by_status[static_cast<size_t>(std::clamp(status, 0, kMaxStatus))];
  latency.record(latency_ns);
  const int status_class = status / 100 - kFirstStatusClass;
  if (status_class >= 0 && status_class < static_cast<int>(kStatusClassCount)) {
    latency_by_class[static_cast<size_t>(status_class)].record(latency_ns);
  }
}

uint64_t TargetStats::non_2xx() const {
  uint64_t n = 0;
  for (size_t code = 0; code < by_status.size(); ++code) {
    if (code < 200 || code > 299) n += by_status[code];
  }
  return n;
}

uint64_t TargetStats::total_errors() const {
  uint64_t n = non_2xx();
  for (uint64_t e : errors) n += e;
  return n;
}

void TargetStats::merge(const TargetStats& other) {
  latency.merge(other.latency);
  for (size_t i = 0; i < kStatusClassCount; ++i)
    latency_by_class[i].merge(other.latency_by_class[i]);
  send_lag.merge(other.send_lag);
  scheduled += other.scheduled;
  sent += other.sent;
  resent += other.resent;
  waited_for_connection += other.waited_for_connection;
  responses += other.responses;
  for (size_t i = 0; i < by_status.size(); ++i) by_status[i] += other.by_status[i];
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += other.errors[i];
  late_responses += other.late_responses;
  approved += other.approved;
  declined += other.declined;
  last_send_ns = std::max(last_send_ns, other.last_send_ns);
  connects += other.connects;
  connect_failures += other.connect_failures;
  closed_by_peer += other.closed_by_peer;
  closed_by_server_request += other.closed_by_server_request;
}

}  // namespace paystream::bench
