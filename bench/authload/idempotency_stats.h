#pragma once
// What keyed requests got back, counted in the measured phase by each client thread's
// KeyTracker and merged at the end.

#include <cstdint>

namespace paystream::bench {

struct DuplicateCounts {
  uint64_t scheduled = 0;    // requests sent as this kind of duplicate
  uint64_t unavailable = 0;  // picked, but no earlier request fitted: sent with a fresh key
  uint64_t responses = 0;
  uint64_t replayed = 0;    // answered with Idempotent-Replayed: true
  uint64_t matched = 0;     // replayed, status and body byte for byte the original's
  uint64_t mismatched = 0;  // replayed, status or body different from the original's
  uint64_t in_use = 0;      // 409 idempotency_key_in_use
  uint64_t reused = 0;      // 422 idempotency_key_reused
  uint64_t other = 0;       // any other answer without the replay header

  void merge(const DuplicateCounts& o);
};

struct IdempotencyStats {
  uint64_t keyed = 0;      // measured requests sent with a key (originals and duplicates)
  uint64_t originals = 0;  // of which with a fresh key
  uint64_t responses = 0;  // answers to keyed requests
  uint64_t replayed = 0;   // answers with Idempotent-Replayed: true
  uint64_t http_409 = 0;
  uint64_t in_use = 0;           // 409 idempotency_key_in_use
  uint64_t outcome_unknown = 0;  // 409 idempotency_outcome_unknown
  uint64_t http_422 = 0;
  uint64_t reused = 0;               // 422 idempotency_key_reused
  uint64_t store_unavailable = 0;    // 503 idempotency_store_unavailable
  uint64_t retry_after_missing = 0;  // 409 in_use or 503 store_unavailable without Retry-After
  // A key that got two 2xx answers without Idempotent-Replayed: the server executed it twice.
  uint64_t executed_twice = 0;
  // Duplicates whose original had left the ring (overwritten by newer originals): not checked.
  uint64_t untracked = 0;
  DuplicateCounts sequential;
  DuplicateCounts concurrent;
  DuplicateCounts conflicting;

  // Mismatched replays, replayed conflicting reuses, and keys executed twice.
  uint64_t failures() const;
  void merge(const IdempotencyStats& o);
};

}  // namespace paystream::bench
