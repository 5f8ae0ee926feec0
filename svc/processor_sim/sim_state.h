#pragma once
// What every reactor of paystream-processor-sim shares: the settings, the dedupe store, the
// fault state (the service's fields plus the simulator's own) and the counters.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/fault_state.h"
#include "core/fault_state_publisher.h"
#include "core/processor_dedupe.h"
#include "svc/processor_sim/sim_options.h"

namespace paystream::svc::sim {

// Relaxed counters, written by every reactor, read by the admin thread.
struct SimStats {
  std::atomic<uint64_t> requests{0};              // POSTs to the contract path
  std::atomic<uint64_t> executed{0};              // distinct keys decided
  std::atomic<uint64_t> duplicates{0};            // answered from the dedupe store
  std::atomic<uint64_t> in_flight_duplicates{0};  // of those (or not), arrived while pending
  std::atomic<uint64_t> approved{0};
  std::atomic<uint64_t> declined{0};
  std::atomic<uint64_t> errors{0};    // 500, garbage, reset or cut instead of an answer
  std::atomic<uint64_t> rejected{0};  // 400, 401, 422

  static void bump(std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
};

// The simulator-only faults, in force (like the service's fields) only while enabled.
struct SimFaultExtras {
  std::optional<double> garbage_rate;   // 200 with a body that is not the contract
  std::optional<double> truncate_rate;  // part of the answer, then a reset
};

struct EffectiveFaults {
  core::ProcessorParameters parameters;
  double garbage_rate = 0;
  double truncate_rate = 0;
};

class SimFaults {
 public:
  explicit SimFaults(const core::ProcessorParameters& environment) : environment_(environment) {}

  // Any thread: the parameters in force (no allocation, no lock).
  EffectiveFaults effective() const;

  // Admin thread. A PUT body: the service's fault JSON plus garbage_rate and truncate_rate.
  // On error: 400 text with the field (empty: the whole body), and nothing changes.
  struct UpdateError {
    std::string field;
    std::string message;
  };
  std::optional<UpdateError> update(std::string_view json_body);
  void reset();
  // {"enabled":…,"latency_ms":…|null,…,"garbage_rate":…|null,"truncate_rate":…|null,
  //  "effective":{"latency_ms":…,…,"garbage_rate":…,"truncate_rate":…}}
  std::string json() const;

 private:
  void publish_extras();  // with mutex_ held

  const core::ProcessorParameters environment_;
  core::FaultStatePublisher publisher_;
  mutable std::mutex mutex_;  // admin writers
  SimFaultExtras extras_;
  std::atomic<double> garbage_effective_{0};
  std::atomic<double> truncate_effective_{0};
};

struct SimShared {
  SimShared(const SimOptions& o, const core::ProcessorParameters& environment)
      : options(o),
        dedupe({.ttl_ms = o.dedupe_ttl_s * 1000, .max_keys = o.dedupe_max_keys}),
        faults(environment) {}

  const SimOptions options;
  core::ProcessorDedupe dedupe;
  SimFaults faults;
  SimStats stats;

  // {"requests":N,"executed":N,"duplicates":N,"in_flight_duplicates":N,"approved":N,
  //  "declined":N,"errors":N,"keys":N,"evictions":N,"rejected":N}
  std::string stats_json() const;
  std::string metrics_text() const;
};

}  // namespace paystream::svc::sim
