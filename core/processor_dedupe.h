#pragma once
// The simulated processor's idempotency store: Idempotency-Key -> the first decided answer,
// with a fingerprint of the request it answered. Socket-free and thread-safe (sharded, one
// mutex per shard), bounded in keys and in time.
//
// A key goes through: absent -> pending (its first request is being decided) -> answered. A
// pending key whose attempt fails without a decision (a fault) is abandoned: it becomes absent
// again, so a resend is decided afresh. Only decided answers are remembered.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/processor_contract.h"
#include "core/sha256.h"

namespace paystream::core {

using RequestFingerprint = Sha256Digest;

// SHA-256 over the decoded request's fields (not its bytes: member order and escaping do not
// matter). Holds no card number itself, but derives from one: never logged.
RequestFingerprint request_fingerprint(const ProcessorRequest& request);

struct ProcessorDedupeOptions {
  uint64_t ttl_ms = 86'400'000;  // a key is forgotten this long after its first request
  size_t max_keys = 1'000'000;   // beyond: the shard's oldest key is evicted
};

class ProcessorDedupe {
 public:
  enum class Outcome : uint8_t {
    execute,   // new key (now pending): decide, then complete() or abandon()
    replay,    // answered: `status` and `body` hold the first answer
    pending,   // the first request is still being decided: ask again later
    conflict,  // the key was used with a different request
  };
  struct Result {
    Outcome outcome = Outcome::execute;
    int status = 0;  // replay only
  };

  explicit ProcessorDedupe(const ProcessorDedupeOptions& options);
  ProcessorDedupe(const ProcessorDedupe&) = delete;
  ProcessorDedupe& operator=(const ProcessorDedupe&) = delete;

  // Looks the key up and, when absent or expired, makes it pending. On replay the first
  // answer's body is copied into `body` (which does not allocate once large enough).
  Result begin(std::string_view key, const RequestFingerprint& fingerprint, uint64_t now_ms,
               std::string& body);
  // Records the decided answer of a pending key (no effect when the key is gone: evicted).
  void complete(std::string_view key, int status, std::string_view body);
  // Forgets a pending key whose attempt failed without a decision.
  void abandon(std::string_view key);

  size_t keys() const { return keys_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  size_t shard_count() const { return shards_.size(); }

 private:
  struct Entry {
    RequestFingerprint fingerprint{};
    uint64_t created_ms = 0;
    uint64_t serial = 0;  // matches its place in the shard's order
    bool answered = false;
    int status = 0;
    std::string body;
  };
  struct Ordered {
    std::string key;
    uint64_t serial;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using Map = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;
  struct Shard {
    std::mutex mutex;
    Map entries;
    std::deque<Ordered> order;  // creation order; records of erased keys are skipped
    uint64_t next_serial = 0;
  };

  Shard& shard_of(std::string_view key);
  // With the shard's mutex held: drops expired keys from the front of its order, then the
  // oldest while the shard is full.
  void prune(Shard& shard, uint64_t now_ms);
  void erase(Shard& shard, Map::iterator it);

  const ProcessorDedupeOptions options_;
  size_t per_shard_ = 0;
  std::unique_ptr<Shard[]> shard_storage_;
  std::span<Shard> shards_;
  std::atomic<size_t> keys_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace paystream::core
