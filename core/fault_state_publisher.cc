#include "core/fault_state_publisher.h"

#include <bit>
#include <thread>

namespace paystream::core {
namespace {

constexpr uint64_t kEnabled = 1;
constexpr uint64_t kHasLatency = 2;
constexpr uint64_t kHasJitter = 4;
constexpr uint64_t kHasSuccessRate = 8;
constexpr uint64_t kHasErrorRate = 16;
constexpr uint64_t kHasSlowRate = 32;
constexpr uint64_t kHasSlowLatency = 64;
constexpr uint64_t kHasResetRate = 128;

std::array<uint64_t, 8> encode(const FaultState& state) {
  uint64_t flags = state.enabled ? kEnabled : 0;
  if (state.latency_ms) flags |= kHasLatency;
  if (state.jitter_ms) flags |= kHasJitter;
  if (state.success_rate) flags |= kHasSuccessRate;
  if (state.error_rate) flags |= kHasErrorRate;
  if (state.slow_rate) flags |= kHasSlowRate;
  if (state.slow_latency_ms) flags |= kHasSlowLatency;
  if (state.reset_rate) flags |= kHasResetRate;
  return {flags,
          state.latency_ms.value_or(0),
          state.jitter_ms.value_or(0),
          std::bit_cast<uint64_t>(state.success_rate.value_or(0.0)),
          std::bit_cast<uint64_t>(state.error_rate.value_or(0.0)),
          std::bit_cast<uint64_t>(state.slow_rate.value_or(0.0)),
          state.slow_latency_ms.value_or(0),
          std::bit_cast<uint64_t>(state.reset_rate.value_or(0.0))};
}

FaultState decode(const std::array<uint64_t, 8>& words) {
  const uint64_t flags = words[0];
  FaultState state;
  state.enabled = (flags & kEnabled) != 0;
  if (flags & kHasLatency) state.latency_ms = static_cast<uint32_t>(words[1]);
  if (flags & kHasJitter) state.jitter_ms = static_cast<uint32_t>(words[2]);
  if (flags & kHasSuccessRate) state.success_rate = std::bit_cast<double>(words[3]);
  if (flags & kHasErrorRate) state.error_rate = std::bit_cast<double>(words[4]);
  if (flags & kHasSlowRate) state.slow_rate = std::bit_cast<double>(words[5]);
  if (flags & kHasSlowLatency) state.slow_latency_ms = static_cast<uint32_t>(words[6]);
  if (flags & kHasResetRate) state.reset_rate = std::bit_cast<double>(words[7]);
  return state;
}

}  // namespace

FaultStatePublisher::FaultStatePublisher(const FaultState& initial) {
  const Words words = encode(initial);
  for (size_t i = 0; i < words.size(); ++i) words_[i].store(words[i], std::memory_order_relaxed);
}

FaultSnapshot FaultStatePublisher::current() const {
  while (true) {
    const uint64_t before = sequence_.load(std::memory_order_acquire);
    if (before % 2 != 0) {
      std::this_thread::yield();
      continue;
    }
    Words words;
    for (size_t i = 0; i < words.size(); ++i) {
      words[i] = words_[i].load(std::memory_order_acquire);
    }
    if (sequence_.load(std::memory_order_relaxed) == before) return {before / 2, decode(words)};
  }
}

void FaultStatePublisher::store(const FaultState& state) {
  const uint64_t sequence = sequence_.load(std::memory_order_relaxed);
  sequence_.store(sequence + 1, std::memory_order_relaxed);
  const Words words = encode(state);
  // Release: whoever sees one of these words also sees the odd sequence above.
  for (size_t i = 0; i < words.size(); ++i) words_[i].store(words[i], std::memory_order_release);
  sequence_.store(sequence + 2, std::memory_order_release);
}

FaultSnapshot FaultStatePublisher::publish(const FaultState& state) {
  const std::lock_guard lock(writer_);
  store(state);
  return current();
}

FaultChange FaultStatePublisher::apply(const FaultUpdate& update) {
  const std::lock_guard lock(writer_);
  FaultChange change{current(), {}};
  FaultState next = change.before.state;
  next.apply(update);
  store(next);
  change.after = current();
  return change;
}

FaultChange FaultStatePublisher::reset() {
  const std::lock_guard lock(writer_);
  FaultChange change{current(), {}};
  store(FaultState{});
  change.after = current();
  return change;
}

}  // namespace paystream::core
