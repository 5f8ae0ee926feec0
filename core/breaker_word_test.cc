#include "core/breaker_word.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace paystream::core {
namespace {

BreakerWord word(BreakerState state, uint32_t generation, uint32_t deadline, uint8_t requests,
                 uint8_t successes, uint8_t failures) {
  BreakerWord w;
  w.state = state;
  w.generation = generation;
  w.deadline = deadline;
  w.requests = requests;
  w.successes = successes;
  w.failures = failures;
  return w;
}

TEST(BreakerWord, RoundTripsEveryStateAtItsExtremes) {
  const BreakerWord cases[] = {
      {},
      word(BreakerState::closed, kBreakerGenerationMask, 0xFFFFFFFF, 0, 255, 0),
      word(BreakerState::closed, 1, 0xFFFFFFFF, 0, 0, 255),
      word(BreakerState::closed, 12345, 1, 0, 0, 1),
      word(BreakerState::open, kBreakerGenerationMask, 0xFFFFFFFF, 0, 0, 0),
      word(BreakerState::open, 0, 0, 0, 0, 0),
      word(BreakerState::half_open, kBreakerGenerationMask, 0, 255, 255, 0),
      word(BreakerState::half_open, 7, 0, 3, 2, 0),
  };
  for (const BreakerWord& w : cases) {
    EXPECT_EQ(BreakerWord::unpack(w.pack()), w);
  }
}

TEST(BreakerWord, RandomWordsRoundTrip) {
  Xoshiro256 rng(17);
  for (int i = 0; i < 100000; ++i) {
    BreakerWord w;
    w.state = static_cast<BreakerState>(rng.next_below(3));
    w.generation = static_cast<uint32_t>(rng.next()) & kBreakerGenerationMask;
    if (w.state != BreakerState::half_open) w.deadline = static_cast<uint32_t>(rng.next());
    if (w.state == BreakerState::half_open) {
      w.requests = static_cast<uint8_t>(rng.next());
      w.successes = static_cast<uint8_t>(rng.next());
    } else if (w.state == BreakerState::closed) {
      // Consecutive successes and failures are never both non-zero.
      (rng.next() & 1 ? w.successes : w.failures) = static_cast<uint8_t>(rng.next());
    }
    ASSERT_EQ(BreakerWord::unpack(w.pack()), w);
  }
}

TEST(BreakerWord, FieldsDoNotOverlap) {
  // Changing one field changes the packed word and no other field.
  const BreakerWord base = word(BreakerState::closed, 5, 1000, 0, 0, 3);
  BreakerWord other = base;
  other.generation = 6;
  EXPECT_NE(other.pack(), base.pack());
  EXPECT_EQ(BreakerWord::unpack(other.pack()).failures, 3);
  EXPECT_EQ(BreakerWord::unpack(other.pack()).deadline, 1000u);
  other = base;
  other.deadline = 0xFFFFFFFF;
  EXPECT_EQ(BreakerWord::unpack(other.pack()).generation, 5u);
  EXPECT_EQ(BreakerWord::unpack(other.pack()).failures, 3);
  EXPECT_EQ(BreakerWord::unpack(other.pack()).state, BreakerState::closed);
}

}  // namespace
}  // namespace paystream::core
