#pragma once
// Counters a reactor keeps about its connections and requests. One writer (the
// reactor's thread) uses relaxed loads and stores, no read-modify-write; scrapes
// on other threads read them relaxed and sum over reactors.

#include <array>
#include <atomic>
#include <cstdint>

namespace paystream::net {

// Error statuses counted per reactor (metric label values): those the HTTP layer
// answers itself and those handlers answer. Others are not counted.
inline constexpr std::array<int, 17> kHttpErrorCodes = {400, 401, 404, 405, 408, 413, 415, 417, 431,
                                                        500, 502, 503, 504, 505, 429, 409, 422};

class ReactorStats {
 public:
  void add_request() { bump(requests_); }
  void connection_opened() { bump(connections_active_); }
  void connection_closed() { drop(connections_active_); }
  void connection_rejected() { bump(connections_rejected_); }
  void http_error(int status) {
    for (size_t i = 0; i < kHttpErrorCodes.size(); ++i) {
      if (kHttpErrorCodes[i] == status) bump(errors_[i]);
    }
  }

  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t connections_active() const {
    return connections_active_.load(std::memory_order_relaxed);
  }
  uint64_t connections_rejected() const {
    return connections_rejected_.load(std::memory_order_relaxed);
  }
  uint64_t http_errors(size_t code_index) const {
    return errors_[code_index].load(std::memory_order_relaxed);
  }

 private:
  static void bump(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  static void drop(std::atomic<uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_active_{0};
  std::atomic<uint64_t> connections_rejected_{0};
  std::array<std::atomic<uint64_t>, kHttpErrorCodes.size()> errors_{};
};

}  // namespace paystream::net
