#pragma once
// Hands the admin thread's fault state to every reactor as one consistent snapshot.
//
// A seqlock over the state packed in eight atomic words: writers make the sequence odd, store the
// words with release, then make it even (release); readers load it with acquire, load the words
// with acquire, and retry if the sequence moved. Any word a reader sees from a newer publication
// therefore comes with a changed sequence, so a snapshot is never torn. Chosen over an atomic
// pointer to immutable snapshots because memory stays fixed however often operators (or a chaos
// script) publish, with nothing to reclaim; a read is ten plain loads on x86.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/fault_state.h"

namespace paystream::core {

struct FaultSnapshot {
  uint64_t generation = 0;  // publications so far; 0 is the initial state
  FaultState state;

  bool operator==(const FaultSnapshot&) const = default;
};

struct FaultChange {
  FaultSnapshot before;
  FaultSnapshot after;
};

class FaultStatePublisher {
 public:
  // Generation 0 holds `initial` (by default disabled, no overrides).
  explicit FaultStatePublisher(const FaultState& initial = {});
  FaultStatePublisher(const FaultStatePublisher&) = delete;
  FaultStatePublisher& operator=(const FaultStatePublisher&) = delete;

  // Any thread, lock-free, no allocation. Spins only while a publication is in progress.
  FaultSnapshot current() const;
  // One acquire load: lets a reactor keep its copy until the generation moves.
  uint64_t generation() const { return sequence_.load(std::memory_order_acquire) / 2; }

  // Writers (the admin thread) are serialized by a mutex that readers never touch.
  FaultSnapshot publish(const FaultState& state);
  // Read, modify and publish as one step; `before` and `after` are for the change log line.
  FaultChange apply(const FaultUpdate& update);
  FaultChange reset();

 private:
  using Words = std::array<uint64_t, 8>;

  void store(const FaultState& state);  // with writer_ held

  std::atomic<uint64_t> sequence_{0};  // odd while a publication is in progress
  std::array<std::atomic<uint64_t>, 8> words_{};
  std::mutex writer_;
};

}  // namespace paystream::core
