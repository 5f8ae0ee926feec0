#pragma once
// Runs the authorize pipeline's idempotency store operations (core::StoreCall) on the
// configured store: the embedded store shared by the process's reactors, or this reactor's
// Redis connection. It turns each operation into the store's own call (for Redis: one
// command on one key) and the store's answer into a core::StoreReply, delivered to the
// handler's callback on the reactor's thread: at once for the embedded store (and for a
// Redis command that cannot be sent), later for a Redis reply.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/authorize_pipeline.h"
#include "core/idempotency_store.h"
#include "net/redis_client.h"

namespace paystream::svc {

// The Lua scripts loaded on every Redis connection, in this order: complete, release.
// Each writes only while the key still holds the caller's own claim.
std::vector<std::string> idempotency_redis_scripts();

class IdempotencyBackend {
 public:
  using ReplyCallback = void (*)(void* owner, uint32_t call, const core::StoreReply& reply);

  IdempotencyBackend(core::EmbeddedStore& store, ReplyCallback callback, void* owner);
  IdempotencyBackend(net::RedisClient& redis, ReplyCallback callback, void* owner);
  IdempotencyBackend(const IdempotencyBackend&) = delete;
  IdempotencyBackend& operator=(const IdempotencyBackend&) = delete;

  void run(const core::StoreCall& call, uint32_t index);

 private:
  struct Pending {
    uint32_t index = 0;
    core::StoreOp op = core::StoreOp::claim;
  };

  void run_embedded(const core::StoreCall& call, uint32_t index);
  void run_redis(const core::StoreCall& call, uint32_t index);
  static void on_redis_reply(void* context, uint64_t tag, const net::RedisReply& reply);

  core::EmbeddedStore* embedded_ = nullptr;
  net::RedisClient* redis_ = nullptr;
  ReplyCallback callback_;
  void* owner_;
  std::string existing_;  // the embedded store's copy of an existing value; capacity reused
};

}  // namespace paystream::svc
