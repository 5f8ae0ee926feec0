#include "core/idempotency_store.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>

namespace paystream::core {
namespace {

constexpr uint32_t kNil = std::numeric_limits<uint32_t>::max();
// Expired entries a claim of a new key reclaims from the fronts of its shard's lists at most:
// more than one, so reclaiming keeps ahead of claims, and bounded, so a claim stays O(1).
constexpr int kReclaimPerClaim = 2;
// A bound on slots per shard: slot indexes and index tags are 32-bit.
constexpr size_t kMaxSlotsPerShard = size_t{1} << 30;

static_assert(sizeof(EmbeddedStore::Slot) == 64 + kMaxStoreValueBytes);
static_assert(offsetof(EmbeddedStore::Slot, value) == 64);
static_assert(kMaxStoreValueBytes <= std::numeric_limits<uint16_t>::max());
static_assert(std::has_single_bit(kStoreShards));

// One index position: the low 32 bits of the key's hash (the position is tag & mask, so a
// backward shift needs no slot read) and the slot's index plus one (0: an empty position).
struct IndexEntry {
  uint32_t tag;
  uint32_t slot_plus_one;
};

// The first 8 bytes as a little-endian integer (one load on x86).
uint64_t key_hash(const StoreKey& key) {
  uint64_t h = 0;
  for (size_t i = 0; i < 8; ++i) h |= uint64_t{key[i]} << (8 * i);
  return h;
}

uint64_t expiry(uint64_t now_ms, uint64_t ttl_ms) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  return ttl_ms > max - now_ms ? max : now_ms + ttl_ms;
}

size_t index_positions(size_t slots) {
  return slots == 0 ? 0 : std::bit_ceil(2 * slots);
}

struct List {
  uint32_t head = kNil;
  uint32_t tail = kNil;
};

}  // namespace

struct alignas(64) EmbeddedStore::Shard {
  mutable std::mutex mutex;
  Slot* slots = nullptr;
  IndexEntry* index = nullptr;
  uint32_t capacity = 0;
  uint32_t mask = 0;
  uint32_t used = 0;  // slots [0, used) have been handed out at least once
  uint32_t free_head = kNil;
  List pinned_list;     // claims, in claim order
  List completed_list;  // completed entries, in completion order: the eviction order
  uint32_t entries = 0;
  uint32_t pinned = 0;
  uint64_t evictions = 0;
  uint64_t expirations = 0;

  static bool expired(const Slot& slot, uint64_t now_ms) { return now_ms >= slot.expires_at_ms; }

  static bool holds(const Slot& slot, std::string_view value) {
    return slot.length == value.size() &&
           (value.empty() || std::memcmp(slot.value, value.data(), value.size()) == 0);
  }

  // The key's slot (kNil when absent); `pos` is its index position, or else the empty position
  // that ends the probe.
  uint32_t find(const StoreKey& key, uint64_t hash, size_t& pos) const {
    const auto tag = static_cast<uint32_t>(hash);
    for (pos = tag & mask;; pos = (pos + 1) & mask) {
      const IndexEntry e = index[pos];
      if (e.slot_plus_one == 0) return kNil;
      if (e.tag == tag &&
          std::memcmp(slots[e.slot_plus_one - 1].key.data(), key.data(), kStoreKeyBytes) == 0) {
        return e.slot_plus_one - 1;
      }
    }
  }

  size_t empty_position(uint32_t tag) const {
    size_t pos = tag & mask;
    while (index[pos].slot_plus_one != 0) pos = (pos + 1) & mask;
    return pos;
  }

  size_t position_of(uint32_t slot) const {
    const auto tag = static_cast<uint32_t>(key_hash(slots[slot].key));
    size_t pos = tag & mask;
    while (index[pos].slot_plus_one != slot + 1) pos = (pos + 1) & mask;
    return pos;
  }

  // Backward-shift deletion: the entries after `pos` in its run move back when that brings them
  // no further from their home position, so every probe still reaches its key without tombstones.
  void index_erase(size_t pos) {
    size_t hole = pos;
    for (size_t j = (pos + 1) & mask;; j = (j + 1) & mask) {
      const IndexEntry e = index[j];
      if (e.slot_plus_one == 0) break;
      const size_t home = e.tag & mask;
      // e may fill the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[hole] = e;
        hole = j;
      }
    }
    index[hole] = IndexEntry{0, 0};
  }

  List& list_of(const Slot& slot) { return slot.pinned ? pinned_list : completed_list; }

  // The head's prev link is never read (nothing is ever inserted before the head), so removing
  // the head leaves its successor's prev stale instead of touching that slot (a cache miss).
  void push_back(List& list, uint32_t s) {
    Slot& slot = slots[s];
    slot.prev = list.tail;
    slot.next = kNil;
    if (list.tail == kNil) {
      list.head = s;
    } else {
      slots[list.tail].next = s;
    }
    list.tail = s;
  }

  void unlink(uint32_t s) {
    Slot& slot = slots[s];
    List& list = list_of(slot);
    const bool head = list.head == s;
    if (head) {
      list.head = slot.next;
    } else {
      slots[slot.prev].next = slot.next;
    }
    if (list.tail == s) {
      list.tail = head ? kNil : slot.prev;
    } else if (!head) {
      slots[slot.next].prev = slot.prev;
    }
  }

  // Removes the entry in slot `s` (at index position `pos`) and frees its slot.
  void drop(uint32_t s, size_t pos) {
    Slot& slot = slots[s];
    unlink(s);
    index_erase(pos);
    --entries;
    if (slot.pinned) --pinned;
    slot.next = free_head;
    free_head = s;
  }

  void expire(uint32_t s, size_t pos) {
    drop(s, pos);
    ++expirations;
  }

  // The live entry of `key` when it holds exactly `expected`, else kNil (an expired one is
  // reclaimed on the way).
  uint32_t find_holding(const StoreKey& key, std::string_view expected, uint64_t now_ms,
                        size_t& pos) {
    const uint32_t s = find(key, key_hash(key), pos);
    if (s == kNil) return kNil;
    if (expired(slots[s], now_ms)) {
      expire(s, pos);
      return kNil;
    }
    return holds(slots[s], expected) ? s : kNil;
  }

  // A free slot for a new entry: expired entries at the fronts of the lists are reclaimed first,
  // then a free or never-used slot is taken, else the oldest completed entry is evicted.
  uint32_t take_slot(uint64_t now_ms) {
    int reclaimed = 0;
    for (List* list : {&completed_list, &pinned_list}) {
      while (reclaimed < kReclaimPerClaim && list->head != kNil &&
             expired(slots[list->head], now_ms)) {
        const uint32_t s = list->head;
        expire(s, position_of(s));
        ++reclaimed;
      }
    }
    if (free_head != kNil) {
      const uint32_t s = free_head;
      free_head = slots[s].next;
      return s;
    }
    if (used < capacity) return used++;
    if (completed_list.head == kNil) return kNil;
    const uint32_t s = completed_list.head;
    drop(s, position_of(s));
    ++evictions;
    free_head = slots[s].next;
    // The next claim in this shard will read the new oldest entry.
    if (completed_list.head != kNil) __builtin_prefetch(&slots[completed_list.head]);
    return s;
  }

  static void store_value(Slot& slot, std::string_view value, uint64_t ttl_ms, uint64_t now_ms) {
    if (!value.empty()) std::memcpy(slot.value, value.data(), value.size());
    slot.length = static_cast<uint16_t>(value.size());
    slot.expires_at_ms = expiry(now_ms, ttl_ms);
    slot.stored_at_ms = now_ms;
  }
};

EmbeddedStore::EmbeddedStore(size_t max_bytes) {
  if (max_bytes < memory_for(1)) return;  // no slot fits: nothing is allocated, claims are full
  // The largest slot count per shard whose memory fits (memory_for grows with it).
  size_t low = 1;
  size_t high = std::min(kMaxSlotsPerShard, max_bytes / (kStoreShards * sizeof(Slot)));
  while (low < high) {
    const size_t mid = low + (high - low + 1) / 2;
    if (memory_for(mid) <= max_bytes) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  slots_per_shard_ = low;
  index_per_shard_ = index_positions(low);
  memory_bytes_ = memory_for(low);

  shards_ = std::make_unique<Shard[]>(kStoreShards);
  // The slots are not written here and are handed out in order, so slot pages the store never
  // uses stay unbacked. The index (2-4% of the memory) is calloc'ed: glibc leaves fresh mmap'ed
  // pages alone, mimalloc zeroes them (measured at 32 MiB: +16 KiB RSS with glibc, +1 MiB with
  // mimalloc).
  slots_.reset(static_cast<Slot*>(::operator new (kStoreShards* slots_per_shard_ * sizeof(Slot),
                                                  std::align_val_t{alignof(Slot)})));
  void* index = std::calloc(kStoreShards * index_per_shard_, sizeof(IndexEntry));
  if (index == nullptr) throw std::bad_alloc();
  index_.reset(index);
  for (size_t i = 0; i < kStoreShards; ++i) {
    Shard& shard = shards_[i];
    shard.slots = slots_.get() + i * slots_per_shard_;
    shard.index = static_cast<IndexEntry*>(index) + i * index_per_shard_;
    shard.capacity = static_cast<uint32_t>(slots_per_shard_);
    shard.mask = static_cast<uint32_t>(index_per_shard_ - 1);
  }
}

EmbeddedStore::~EmbeddedStore() = default;

void EmbeddedStore::FreeSlots::operator()(Slot* p) const {
  ::operator delete (p, std::align_val_t{alignof(Slot)});
}

void EmbeddedStore::FreeIndex::operator()(void* p) const {
  std::free(p);
}

size_t EmbeddedStore::shard_of(const StoreKey& key) {
  return key_hash(key) >> (64 - std::countr_zero(kStoreShards));
}

size_t EmbeddedStore::memory_for(size_t slots_per_shard) {
  return sizeof(EmbeddedStore) + kStoreShards * sizeof(Shard) +
         kStoreShards * slots_per_shard * sizeof(Slot) +
         kStoreShards * index_positions(slots_per_shard) * sizeof(IndexEntry);
}

EmbeddedStore::ClaimResult EmbeddedStore::claim(const StoreKey& key, std::string_view value,
                                                uint64_t ttl_ms, uint64_t now_ms,
                                                std::string& existing) {
  existing.clear();
  if (value.size() > kMaxStoreValueBytes || slots_per_shard_ == 0) return ClaimResult::full;
  const uint64_t hash = key_hash(key);
  Shard& shard = shards_[shard_of(key)];
  __builtin_prefetch(&shard.index[hash & shard.mask]);
  const std::lock_guard lock(shard.mutex);
  // A new key reads the oldest completed entry and its index position (to reclaim or evict it):
  // both are fetched while the key's own probe runs.
  if (const uint32_t oldest = shard.completed_list.head; oldest != kNil) {
    __builtin_prefetch(&shard.index[key_hash(shard.slots[oldest].key) & shard.mask]);
  }
  size_t pos = 0;
  uint32_t s = shard.find(key, hash, pos);
  if (s != kNil) {
    Slot& slot = shard.slots[s];
    if (!Shard::expired(slot, now_ms)) {
      existing.assign(reinterpret_cast<const char*>(slot.value), slot.length);
      return ClaimResult::exists;
    }
    // The same key, expired: its slot and index position are reused in place.
    shard.unlink(s);
    if (!slot.pinned) ++shard.pinned;
    ++shard.expirations;
  } else {
    s = shard.take_slot(now_ms);
    if (s == kNil) return ClaimResult::full;
    const auto tag = static_cast<uint32_t>(hash);
    shard.index[shard.empty_position(tag)] = IndexEntry{tag, s + 1};
    shard.slots[s].key = key;
    ++shard.entries;
    ++shard.pinned;
  }
  Slot& slot = shard.slots[s];
  slot.pinned = 1;
  Shard::store_value(slot, value, ttl_ms, now_ms);
  shard.push_back(shard.pinned_list, s);
  return ClaimResult::claimed;
}

bool EmbeddedStore::complete(const StoreKey& key, std::string_view expected, std::string_view value,
                             uint64_t ttl_ms, uint64_t now_ms) {
  if (value.size() > kMaxStoreValueBytes || slots_per_shard_ == 0) return false;
  Shard& shard = shards_[shard_of(key)];
  const std::lock_guard lock(shard.mutex);
  size_t pos = 0;
  const uint32_t s = shard.find_holding(key, expected, now_ms, pos);
  if (s == kNil) return false;
  Slot& slot = shard.slots[s];
  shard.unlink(s);
  if (slot.pinned) --shard.pinned;
  slot.pinned = 0;
  Shard::store_value(slot, value, ttl_ms, now_ms);
  shard.push_back(shard.completed_list, s);
  return true;
}

bool EmbeddedStore::release(const StoreKey& key, std::string_view expected, uint64_t now_ms) {
  if (slots_per_shard_ == 0) return false;
  Shard& shard = shards_[shard_of(key)];
  const std::lock_guard lock(shard.mutex);
  size_t pos = 0;
  const uint32_t s = shard.find_holding(key, expected, now_ms, pos);
  if (s == kNil) return false;
  shard.drop(s, pos);
  return true;
}

EmbeddedStore::Stats EmbeddedStore::stats(uint64_t now_ms) const {
  Stats stats;
  stats.capacity = kStoreShards * slots_per_shard_;
  stats.memory_bytes = memory_bytes_;
  if (slots_per_shard_ == 0) return stats;
  for (size_t i = 0; i < kStoreShards; ++i) {
    const Shard& shard = shards_[i];
    const std::lock_guard lock(shard.mutex);
    stats.entries += shard.entries;
    stats.pinned += shard.pinned;
    stats.evictions += shard.evictions;
    stats.expirations += shard.expirations;
    if (shard.completed_list.head != kNil) {
      const uint64_t stored = shard.slots[shard.completed_list.head].stored_at_ms;
      if (now_ms > stored) {
        stats.oldest_completed_age_ms = std::max(stats.oldest_completed_age_ms, now_ms - stored);
      }
    }
  }
  return stats;
}

}  // namespace paystream::core
