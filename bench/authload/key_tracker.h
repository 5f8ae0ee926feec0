#pragma once
// One client thread's idempotency bookkeeping: gives each keyed request its key and body
// (a fresh key, or a deliberate duplicate of an earlier original), remembers the recent
// originals in a fixed ring, and checks what duplicates get back against their original.
// Single-threaded, no I/O; memory bounded by the ring (`capacity` originals, each with the
// body of its answer).

#include <cstdint>
#include <string>
#include <vector>

#include "bench/authload/duplicate_picker.h"
#include "bench/authload/idempotency_keys.h"
#include "bench/authload/idempotency_stats.h"
#include "bench/authload/response_reader.h"
#include "core/random.h"

namespace paystream::bench {

struct KeyTrackerConfig {
  size_t capacity = 1024;  // originals remembered
  DuplicatePlan plan;
  uint64_t seed = 1;
  // The prepared request with an original's body and another amount sits this far after it.
  uint32_t conflict_offset = 0;
};

struct KeyedChoice {
  KeyedRef ref;
  uint32_t pool_index = 0;  // which prepared request to send
};

class KeyTracker {
 public:
  static constexpr uint32_t kNoConnection = UINT32_MAX;
  // Originals looked at, newest first, for one still in flight to duplicate concurrently.
  static constexpr size_t kConcurrentLookBack = 16;
  // Random places in the newest half of the ring tried for an answered original to duplicate
  // sequentially or to reuse with another amount.
  static constexpr int kSequentialTries = 8;

  explicit KeyTracker(const KeyTrackerConfig& config);

  // The key and body of global request `number`, whose body would otherwise be `pool_index`.
  // `measured`: counted (not warm-up).
  KeyedChoice next(uint64_t number, uint32_t pool_index, bool measured);
  // The same with the role chosen by the caller instead of the picker.
  KeyedChoice choose(uint64_t number, uint32_t pool_index, bool measured, KeyRole wanted);
  // The request went out on `connection` (an id unique in its thread).
  void on_sent(const KeyedRef& ref, uint32_t connection);
  // For a concurrent duplicate: the connection its original went out on, or kNoConnection.
  uint32_t original_connection(const KeyedRef& ref) const;
  // Every answer to a keyed request. `counted`: the lane counted it as a measured response
  // (not warm-up, not after its timeout).
  void on_response(const KeyedRef& ref, const HttpResponse& response, bool measured, bool counted);
  // The request ended without an answer (it may still come, late).
  void on_failed(const KeyedRef& ref);

  const IdempotencyStats& stats() const { return stats_; }

 private:
  enum class State : uint8_t { empty, in_flight, answered, failed };
  struct Original {
    uint64_t key = 0;
    uint32_t pool_index = 0;
    uint32_t connection = kNoConnection;
    State state = State::empty;
    int status = 0;
    bool replayable = false;  // answered 2xx with its whole body kept
    uint8_t executions = 0;   // 2xx answers without the replay header to this key
    std::string body;         // capacity kept when the place is reused
  };

  Original* find(const KeyedRef& ref);
  const Original* find(const KeyedRef& ref) const;
  int pick_answered();
  int pick_in_flight() const;
  DuplicateCounts& counts_of(KeyRole role);
  void count_answer(const HttpResponse& response, std::string_view error_code);

  KeyTrackerConfig config_;
  DuplicatePicker picker_;
  core::Xoshiro256 rng_;
  std::vector<Original> ring_;
  uint64_t originals_ = 0;  // ever added: the newest sits at (originals_ - 1) % capacity
  IdempotencyStats stats_;
};

}  // namespace paystream::bench
