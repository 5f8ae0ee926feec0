#include "bench/authload/key_tracker.h"

#include <algorithm>

namespace paystream::bench {
namespace {

constexpr uint64_t kPickSeedSalt = 0x9e3779b97f4a7c15ULL;
constexpr size_t kTypicalBodyBytes = 512;

bool success(int status) {
  return status >= 200 && status <= 299;
}

}  // namespace

KeyTracker::KeyTracker(const KeyTrackerConfig& config)
    : config_(config),
      picker_(config.plan, config.seed),
      rng_(config.seed ^ kPickSeedSalt),
      ring_(std::max<size_t>(1, config.capacity)) {
  // Room for a typical authorize answer, so keeping one does not allocate.
  for (Original& o : ring_) o.body.reserve(kTypicalBodyBytes);
}

KeyTracker::Original* KeyTracker::find(const KeyedRef& ref) {
  Original& o = ring_[ref.slot % ring_.size()];
  return o.state != State::empty && o.key == ref.key ? &o : nullptr;
}

const KeyTracker::Original* KeyTracker::find(const KeyedRef& ref) const {
  const Original& o = ring_[ref.slot % ring_.size()];
  return o.state != State::empty && o.key == ref.key ? &o : nullptr;
}

int KeyTracker::pick_answered() {
  // From the newest half of the ring: a picked original stays in it for at least half the ring
  // (as many originals as the thread has pipeline slots) while its duplicate is in flight.
  const uint64_t window = std::min<uint64_t>(originals_, std::max<size_t>(1, ring_.size() / 2));
  if (window == 0) return -1;
  for (int attempt = 0; attempt < kSequentialTries; ++attempt) {
    const auto slot =
        static_cast<size_t>((originals_ - 1 - rng_.next_below(window)) % ring_.size());
    const Original& o = ring_[slot];
    if (o.state == State::answered && o.replayable) return static_cast<int>(slot);
  }
  return -1;
}

int KeyTracker::pick_in_flight() const {
  const uint64_t look = std::min<uint64_t>({originals_, ring_.size(), kConcurrentLookBack});
  for (uint64_t back = 1; back <= look; ++back) {
    const auto slot = static_cast<size_t>((originals_ - back) % ring_.size());
    if (ring_[slot].state == State::in_flight) return static_cast<int>(slot);
  }
  return -1;
}

DuplicateCounts& KeyTracker::counts_of(KeyRole role) {
  switch (role) {
    case KeyRole::sequential:
      return stats_.sequential;
    case KeyRole::concurrent:
      return stats_.concurrent;
    default:
      return stats_.conflicting;
  }
}

KeyedChoice KeyTracker::next(uint64_t number, uint32_t pool_index, bool measured) {
  return choose(number, pool_index, measured, picker_.next());
}

KeyedChoice KeyTracker::choose(uint64_t number, uint32_t pool_index, bool measured,
                               KeyRole wanted) {
  int slot = -1;
  if (wanted == KeyRole::sequential || wanted == KeyRole::conflicting) slot = pick_answered();
  if (wanted == KeyRole::concurrent) slot = pick_in_flight();
  if (measured) ++stats_.keyed;
  if (slot >= 0) {
    const Original& o = ring_[static_cast<size_t>(slot)];
    if (measured) ++counts_of(wanted).scheduled;
    KeyedChoice choice;
    choice.ref = KeyedRef{o.key, static_cast<uint32_t>(slot), wanted};
    choice.pool_index =
        o.pool_index + (wanted == KeyRole::conflicting ? config_.conflict_offset : 0);
    return choice;
  }
  if (measured) {
    ++stats_.originals;
    if (wanted != KeyRole::original) ++counts_of(wanted).unavailable;
  }
  const auto place = static_cast<uint32_t>(originals_ % ring_.size());
  ++originals_;
  Original& o = ring_[place];
  o.key = number;
  o.pool_index = pool_index;
  o.connection = kNoConnection;
  o.state = State::in_flight;
  o.status = 0;
  o.replayable = false;
  o.executions = 0;
  o.body.clear();
  return KeyedChoice{KeyedRef{number, place, KeyRole::original}, pool_index};
}

void KeyTracker::on_sent(const KeyedRef& ref, uint32_t connection) {
  if (ref.role != KeyRole::original) return;
  if (Original* o = find(ref)) o->connection = connection;
}

uint32_t KeyTracker::original_connection(const KeyedRef& ref) const {
  const Original* o = find(ref);
  return o == nullptr ? kNoConnection : o->connection;
}

void KeyTracker::on_failed(const KeyedRef& ref) {
  if (ref.role != KeyRole::original) return;
  Original* o = find(ref);
  if (o != nullptr && o->state == State::in_flight) o->state = State::failed;
}

void KeyTracker::count_answer(const HttpResponse& response, std::string_view error_code) {
  ++stats_.responses;
  if (response.replayed) ++stats_.replayed;
  if (response.status == 409) {
    ++stats_.http_409;
    if (error_code == "idempotency_key_in_use") {
      ++stats_.in_use;
      if (!response.retry_after) ++stats_.retry_after_missing;
    }
    if (error_code == "idempotency_outcome_unknown") ++stats_.outcome_unknown;
  } else if (response.status == 422) {
    ++stats_.http_422;
    if (error_code == "idempotency_key_reused") ++stats_.reused;
  } else if (response.status == 503 && error_code == "idempotency_store_unavailable") {
    ++stats_.store_unavailable;
    if (!response.retry_after) ++stats_.retry_after_missing;
  }
}

void KeyTracker::on_response(const KeyedRef& ref, const HttpResponse& response, bool measured,
                             bool counted) {
  Original* o = find(ref);
  const bool executed = success(response.status) && !response.replayed;
  if (o != nullptr && executed && ++o->executions == 2 && measured) ++stats_.executed_twice;
  // Error codes only matter for the few non-2xx answers: no search on the common path.
  const std::string_view error_code =
      success(response.status) ? std::string_view() : find_error_code(response.body);
  if (counted) count_answer(response, error_code);

  if (ref.role == KeyRole::original) {
    if (o == nullptr) return;
    o->state = State::answered;
    o->status = response.status;
    o->replayable = success(response.status) && response.body_complete;
    if (o->replayable) o->body.assign(response.body);
    return;
  }
  if (!counted) return;
  DuplicateCounts& counts = counts_of(ref.role);
  ++counts.responses;
  if (o == nullptr) ++stats_.untracked;
  if (response.replayed) {
    ++counts.replayed;
    // A concurrent duplicate can be replayed before its original's answer arrives: then there
    // is nothing to compare yet. A conflicting reuse must never be replayed (failures()).
    if (o != nullptr && ref.role != KeyRole::conflicting && o->state == State::answered &&
        o->replayable) {
      const bool same =
          response.body_complete && response.status == o->status && response.body == o->body;
      ++(same ? counts.matched : counts.mismatched);
    }
  } else if (response.status == 409 && error_code == "idempotency_key_in_use") {
    ++counts.in_use;
  } else if (response.status == 422 && error_code == "idempotency_key_reused") {
    ++counts.reused;
  } else {
    ++counts.other;
  }
}

}  // namespace paystream::bench
