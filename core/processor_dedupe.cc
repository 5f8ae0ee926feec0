#include "core/processor_dedupe.h"

#include <algorithm>
#include <cstring>

namespace paystream::core {
namespace {

// Enough shards that reactors rarely meet on one mutex; fewer for a small store, so the
// bound per shard stays meaningful.
constexpr size_t kMaxShards = 64;
constexpr size_t kMinKeysPerShard = 1024;

// Fixed storage for the serialized fields (each bounded by its InlineString or format).
class FieldWriter {
 public:
  void bytes(const void* data, size_t size) {
    std::memcpy(buffer_.data() + size_, data, size);
    size_ += size;
  }
  // Length-prefixed: no two different requests share a serialization.
  void field(std::string_view text) {
    const auto size = static_cast<uint32_t>(text.size());
    bytes(&size, sizeof size);
    bytes(text.data(), text.size());
  }
  std::string_view view() const { return {buffer_.data(), size_}; }

 private:
  std::array<char, 512> buffer_;
  size_t size_ = 0;
};

}  // namespace

RequestFingerprint request_fingerprint(const ProcessorRequest& request) {
  FieldWriter w;
  w.field(request.transaction_id_view());
  const int64_t amount = request.amount_minor;
  w.bytes(&amount, sizeof amount);
  w.field(request.currency != nullptr ? request.currency->code : "");
  w.field(request.card.digits());
  w.field(network_name(request.network));
  w.field(request.merchant.view());
  w.field(request.merchant_id.view());
  return sha256(w.view());
}

ProcessorDedupe::ProcessorDedupe(const ProcessorDedupeOptions& options) : options_(options) {
  const size_t max_keys = std::max<size_t>(options.max_keys, 1);
  const size_t count = std::clamp<size_t>(max_keys / kMinKeysPerShard, 1, kMaxShards);
  per_shard_ = max_keys / count;  // the total never exceeds max_keys
  shard_storage_ = std::make_unique<Shard[]>(count);
  shards_ = std::span<Shard>(shard_storage_.get(), count);
}

ProcessorDedupe::Shard& ProcessorDedupe::shard_of(std::string_view key) {
  // The map hashes the key too; a different mix here keeps shard and bucket independent.
  uint64_t hash = 1469598103934665603ULL;
  for (char c : key) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return shards_[hash % shards_.size()];
}

void ProcessorDedupe::erase(Shard& shard, Map::iterator it) {
  shard.entries.erase(it);
  keys_.fetch_sub(1, std::memory_order_relaxed);
}

void ProcessorDedupe::prune(Shard& shard, uint64_t now_ms) {
  while (!shard.order.empty()) {
    const Ordered& oldest = shard.order.front();
    auto it = shard.entries.find(oldest.key);
    if (it == shard.entries.end() || it->second.serial != oldest.serial) {
      shard.order.pop_front();  // erased (abandoned or replaced) meanwhile
      continue;
    }
    const bool expired = now_ms >= it->second.created_ms + options_.ttl_ms;
    if (!expired && shard.entries.size() < per_shard_) return;
    if (!expired) evictions_.fetch_add(1, std::memory_order_relaxed);
    erase(shard, it);
    shard.order.pop_front();
  }
}

ProcessorDedupe::Result ProcessorDedupe::begin(std::string_view key,
                                               const RequestFingerprint& fingerprint,
                                               uint64_t now_ms, std::string& body) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end() && now_ms >= it->second.created_ms + options_.ttl_ms) {
    erase(shard, it);  // its order record is skipped later
    it = shard.entries.end();
  }
  if (it != shard.entries.end()) {
    const Entry& entry = it->second;
    if (entry.fingerprint != fingerprint) return {Outcome::conflict};
    if (!entry.answered) return {Outcome::pending};
    body.assign(entry.body);
    return {Outcome::replay, entry.status};
  }
  prune(shard, now_ms);
  const uint64_t serial = shard.next_serial++;
  Entry& entry = shard.entries[std::string(key)];
  entry.fingerprint = fingerprint;
  entry.created_ms = now_ms;
  entry.serial = serial;
  shard.order.push_back({std::string(key), serial});
  keys_.fetch_add(1, std::memory_order_relaxed);
  return {Outcome::execute};
}

void ProcessorDedupe::complete(std::string_view key, int status, std::string_view body) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end() || it->second.answered) return;
  it->second.answered = true;
  it->second.status = status;
  it->second.body.assign(body);
}

void ProcessorDedupe::abandon(std::string_view key) {
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end() && !it->second.answered) erase(shard, it);
}

}  // namespace paystream::core
