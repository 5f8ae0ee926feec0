#pragma once
// Which keyed requests are deliberate duplicates: each request independently, from a seeded
// generator, so a run with the same seed picks the same requests.

#include <cstdint>
#include <string_view>

#include "bench/authload/idempotency_keys.h"
#include "core/random.h"

namespace paystream::bench {

enum class DuplicateMode : uint8_t { sequential, concurrent, mixed };
std::string_view duplicate_mode_name(DuplicateMode mode);

struct DuplicatePlan {
  double duplicate_fraction = 0;              // sequential or concurrent duplicates
  DuplicateMode mode = DuplicateMode::mixed;  // mixed: half of each
  double conflict_fraction = 0;               // same key, another amount
};

class DuplicatePicker {
 public:
  DuplicatePicker(const DuplicatePlan& plan, uint64_t seed) : plan_(plan), rng_(seed) {}
  // The role the next keyed request is meant to have (the tracker falls back to `original`
  // when no earlier request fits).
  KeyRole next();

 private:
  DuplicatePlan plan_;
  core::Xoshiro256 rng_;
};

}  // namespace paystream::bench
