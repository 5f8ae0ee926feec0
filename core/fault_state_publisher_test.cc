// Snapshot publication, including a concurrent test that must pass under ThreadSanitizer.

#include "core/fault_state_publisher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace paystream::core {
namespace {

TEST(FaultStatePublisher, StartsAtGenerationZero) {
  FaultStatePublisher publisher;
  EXPECT_EQ(publisher.current(), FaultSnapshot{});
  EXPECT_EQ(publisher.generation(), 0u);

  FaultStatePublisher preset(FaultState{.enabled = true, .jitter_ms = 3});
  EXPECT_EQ(preset.current().state, (FaultState{.enabled = true, .jitter_ms = 3}));
}

TEST(FaultStatePublisher, PublishesWholeStates) {
  FaultStatePublisher publisher;
  const FaultState state{.enabled = true, .latency_ms = 0, .success_rate = 0.0, .error_rate = 1.0};
  const FaultSnapshot published = publisher.publish(state);
  EXPECT_EQ(published.generation, 1u);
  EXPECT_EQ(published.state, state);
  EXPECT_EQ(publisher.current(), published);
  EXPECT_EQ(publisher.generation(), 1u);
}

TEST(FaultStatePublisher, AppliesPartialUpdatesAndResets) {
  FaultStatePublisher publisher;
  publisher.apply({.enabled = true, .latency_ms = 800});
  const FaultChange change = publisher.apply({.error_rate = 0.5});
  EXPECT_EQ(change.before.generation, 1u);
  EXPECT_EQ(change.before.state, (FaultState{.enabled = true, .latency_ms = 800}));
  EXPECT_EQ(change.after.generation, 2u);
  EXPECT_EQ(change.after.state,
            (FaultState{.enabled = true, .latency_ms = 800, .error_rate = 0.5}));

  const FaultChange slow =
      publisher.apply({.slow_rate = 0.04, .slow_latency_ms = 150, .reset_rate = 0.25});
  EXPECT_EQ(slow.after.state, (FaultState{.enabled = true,
                                          .latency_ms = 800,
                                          .error_rate = 0.5,
                                          .slow_rate = 0.04,
                                          .slow_latency_ms = 150,
                                          .reset_rate = 0.25}));

  const FaultChange cleared = publisher.reset();
  EXPECT_EQ(cleared.before.state, slow.after.state);
  EXPECT_EQ(cleared.after, (FaultSnapshot{4, FaultState{}}));
}

// Odd generations hold `a`, even ones `b`: a reader that ever sees a mix of the two, or a state
// that does not belong to its generation, saw a torn snapshot.
TEST(FaultStatePublisher, ReadersNeverSeeATornSnapshot) {
  const FaultState a{.enabled = true,
                     .latency_ms = 1111,
                     .jitter_ms = 11,
                     .success_rate = 0.25,
                     .error_rate = 0.75,
                     .slow_rate = 0.125,
                     .slow_latency_ms = 33,
                     .reset_rate = 0.0625};
  const FaultState b{.enabled = false, .latency_ms = 2222, .success_rate = 0.5};
  constexpr int kPublications = 20'000;
  constexpr int kReaders = 4;

  FaultStatePublisher publisher(b);
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      uint64_t last_generation = 0;
      uint64_t count = 0;
      while (!done.load(std::memory_order_acquire)) {
        const FaultSnapshot snapshot = publisher.current();
        const FaultState& expected = snapshot.generation % 2 == 1 ? a : b;
        if (snapshot.state != expected || snapshot.generation < last_generation) {
          torn.fetch_add(1);
        }
        last_generation = snapshot.generation;
        if (++count == 1) started.fetch_add(1);
      }
      reads.fetch_add(count);
    });
  }
  while (started.load() < kReaders) std::this_thread::yield();
  for (int i = 1; i <= kPublications; ++i) publisher.publish(i % 2 == 1 ? a : b);
  done.store(true, std::memory_order_release);
  for (std::thread& reader : readers) reader.join();

  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(publisher.current().generation, static_cast<uint64_t>(kPublications));
}

}  // namespace
}  // namespace paystream::core
