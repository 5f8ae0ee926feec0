#pragma once
// The embedded idempotency store: a bounded in-process key-value store shared by every reactor of
// one process, with the three conditional operations of the idempotency protocol (claim =
// SET NX GET, complete = compare-and-set, release = compare-and-delete), the same semantics as
// the Redis backend's commands. Pure logic: no I/O, no allocation once constructed.
//
// Layout. Memory is allocated once, in the constructor, and never grows: fixed-size slots (the
// 32-byte key, the value inline up to kMaxStoreValueBytes, its length, expiry, pinned flag and
// list links) and, per shard, an open-addressing index (linear probing, load <= 1/2, deletion by
// backward shift: no tombstones). Slots are handed out in address order, so slot pages never
// used cost no resident memory. The capacity is whatever fits in max_bytes (memory_for()).
//
// Sharding and the lock. Keys are HMAC-SHA-256 digests (uniform bytes): the first 8 bytes are
// the hash; its top 6 bits choose one of kStoreShards shards, its low bits the index position.
// Each shard has its own mutex, held only for one O(1) operation (a probe, a list splice and a
// copy of at most kMaxStoreValueBytes). With N reactors two requests meet on a shard with
// probability about N/64 per overlap, and an uncontended mutex is one atomic exchange each way.
// The alternative without a lock, an owner reactor per key, costs every keyed request a
// cross-thread hop (a queue push plus a wakeup: an eventfd write and a context switch), far more
// than the lock; a lock-free table with 768-byte values replaced in place would need seqlocks and
// deferred reclamation for no measurable gain. A mutex rather than a spinlock: with more threads
// than cores a preempted holder must not make the others spin.
//
// Expiry and eviction (the rule clients are told):
// - An entry whose expiry has passed (now_ms >= expiry) is absent for every operation; a late
//   complete or release of an expired claim returns false.
// - Expired entries are reclaimed first: a lookup that meets one reclaims it, and every claim of
//   a new key first reclaims up to two expired entries from the fronts of its shard's lists.
// - A claim is pinned: never evicted (it still expires at its own TTL). A completed entry is
//   evictable; when a claim needs a slot and its shard has none free, the shard's oldest
//   completed entry (first completed: completion order is expiry order for one TTL) is evicted.
// - When every slot of the shard is pinned (or the value is too large), claim returns full.
// Eviction is per shard (1/kStoreShards of the capacity), which for uniform keys is the global
// oldest-first order to within the spread between shards.
//
// now_ms is a monotonic millisecond clock with one origin for all threads. Every method may be
// called from any thread at the same time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace paystream::core {

inline constexpr size_t kStoreKeyBytes = 32;
using StoreKey = std::array<uint8_t, kStoreKeyBytes>;  // an HMAC-SHA-256 digest: uniform bytes
inline constexpr size_t kMaxStoreValueBytes = 768;
inline constexpr size_t kStoreShards = 64;

class EmbeddedStore {
 public:
  // max_bytes: everything the store allocates (slots, index, shards) stays within it. Below
  // memory_for(1) the store has no slot and every claim is full.
  explicit EmbeddedStore(size_t max_bytes);
  ~EmbeddedStore();
  EmbeddedStore(const EmbeddedStore&) = delete;
  EmbeddedStore& operator=(const EmbeddedStore&) = delete;

  enum class ClaimResult : uint8_t { claimed, exists, full };

  // SET NX GET: if `key` is absent or expired, stores `value` pinned (never evicted; it still
  // expires at now_ms + ttl_ms) and returns claimed. Otherwise copies the live value into
  // `existing` (its capacity reused: no allocation once it holds kMaxStoreValueBytes) and returns
  // exists. full: no free slot, nothing expired and nothing evictable (every entry of the shard
  // pinned), or value longer than kMaxStoreValueBytes. `existing` is cleared unless exists.
  ClaimResult claim(const StoreKey& key, std::string_view value, uint64_t ttl_ms, uint64_t now_ms,
                    std::string& existing);

  // If the live value equals `expected` byte for byte: replaces it with `value`, no longer pinned
  // (evictable, the newest in eviction order), expiring at now_ms + ttl_ms (the TTL counts from
  // here); returns true. Else (absent, expired, different, or `value` too long: nothing changes)
  // false.
  bool complete(const StoreKey& key, std::string_view expected, std::string_view value,
                uint64_t ttl_ms, uint64_t now_ms);

  // If the live value equals `expected`: deletes it; true. Else false.
  bool release(const StoreKey& key, std::string_view expected, uint64_t now_ms);

  struct Stats {
    uint64_t entries = 0;      // slots holding an entry (expired ones not yet reclaimed included)
    uint64_t pinned = 0;       // of which claims (pinned)
    uint64_t capacity = 0;     // slots in all
    uint64_t evictions = 0;    // completed entries dropped to make room, since construction
    uint64_t expirations = 0;  // expired entries reclaimed, since construction
    uint64_t oldest_completed_age_ms = 0;  // since the completion of the oldest completed entry
    size_t memory_bytes = 0;               // allocated at construction (<= max_bytes)
  };
  Stats stats(uint64_t now_ms) const;  // any thread; locks each shard in turn

  // The shard a key belongs to (the top 6 bits of its hash, the first 8 bytes as little-endian).
  static size_t shard_of(const StoreKey& key);
  // The bytes a store with `slots_per_shard` slots in each shard allocates.
  static size_t memory_for(size_t slots_per_shard);
  // Slots in each shard.
  size_t shard_capacity() const { return slots_per_shard_; }

  // One slot: the header fills one cache line, the value follows inline.
  struct alignas(64) Slot {
    StoreKey key;
    uint64_t expires_at_ms;
    uint64_t stored_at_ms;  // when the value was claimed or completed
    uint32_t prev;          // list links (slot indexes within the shard)
    uint32_t next;
    uint16_t length;
    uint8_t pinned;
    uint8_t padding[5];
    uint8_t value[kMaxStoreValueBytes];
  };

 private:
  struct Shard;

  size_t slots_per_shard_ = 0;
  size_t index_per_shard_ = 0;  // index positions per shard (a power of two)
  size_t memory_bytes_ = 0;
  std::unique_ptr<Shard[]> shards_;
  struct FreeSlots {
    void operator()(Slot* p) const;
  };
  std::unique_ptr<Slot, FreeSlots> slots_;
  struct FreeIndex {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, FreeIndex> index_;
};

}  // namespace paystream::core
