#include "svc/idempotency_backend.h"

#include <charconv>

namespace paystream::svc {
namespace {

// KEYS[1]: the store key; ARGV[1]: our claim; ARGV[2]: the answer; ARGV[3]: its TTL (ms).
constexpr std::string_view kCompleteScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
// KEYS[1]: the store key; ARGV[1]: our claim.
constexpr std::string_view kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
constexpr size_t kCompleteScriptIndex = 0;
constexpr size_t kReleaseScriptIndex = 1;

// The operation and the call index travel in the Redis command's tag.
uint64_t tag_of(core::StoreOp op, uint32_t index) {
  return (static_cast<uint64_t>(op) << 32) | index;
}

}  // namespace

std::vector<std::string> idempotency_redis_scripts() {
  return {std::string(kCompleteScript), std::string(kReleaseScript)};
}

IdempotencyBackend::IdempotencyBackend(core::EmbeddedStore& store, ReplyCallback callback,
                                       void* owner)
    : embedded_(&store), callback_(callback), owner_(owner) {
  existing_.reserve(core::kMaxStoreValueBytes);
}

IdempotencyBackend::IdempotencyBackend(net::RedisClient& redis, ReplyCallback callback, void* owner)
    : redis_(&redis), callback_(callback), owner_(owner) {}

void IdempotencyBackend::run(const core::StoreCall& call, uint32_t index) {
  if (embedded_ != nullptr) {
    run_embedded(call, index);
  } else {
    run_redis(call, index);
  }
}

void IdempotencyBackend::run_embedded(const core::StoreCall& call, uint32_t index) {
  const uint64_t now_ms = call.now_ms;  // the pipeline's clock: no second read
  core::StoreReply reply;
  switch (call.op) {
    case core::StoreOp::claim:
      switch (embedded_->claim(call.key, call.claim, call.ttl_ms, now_ms, existing_)) {
        case core::EmbeddedStore::ClaimResult::claimed:
          reply.kind = core::StoreReply::Kind::done;
          break;
        case core::EmbeddedStore::ClaimResult::exists:
          reply.kind = core::StoreReply::Kind::exists;
          reply.existing = existing_;
          break;
        case core::EmbeddedStore::ClaimResult::full:
          reply.kind = core::StoreReply::Kind::failed;
          break;
      }
      break;
    case core::StoreOp::complete:
      reply.kind = embedded_->complete(call.key, call.claim, call.answer, call.ttl_ms, now_ms)
                       ? core::StoreReply::Kind::done
                       : core::StoreReply::Kind::refused;
      break;
    case core::StoreOp::release:
      reply.kind = embedded_->release(call.key, call.claim, now_ms)
                       ? core::StoreReply::Kind::done
                       : core::StoreReply::Kind::refused;
      break;
  }
  callback_(owner_, index, reply);
}

void IdempotencyBackend::run_redis(const core::StoreCall& call, uint32_t index) {
  char key[core::kStoreKeyTextBytes];
  core::format_store_key(call.key, key);
  char ttl[24];
  const std::string_view ttl_text(ttl, std::to_chars(ttl, ttl + sizeof ttl, call.ttl_ms).ptr);
  const std::string_view key_text(key, sizeof key);
  const uint64_t tag = tag_of(call.op, index);
  switch (call.op) {
    case core::StoreOp::claim: {
      // SET NX with GET (Redis 7): one round trip claims or reads the existing value.
      const std::string_view args[] = {"SET", key_text, call.claim, "NX", "PX", ttl_text, "GET"};
      redis_->command(args, on_redis_reply, this, tag);
      break;
    }
    case core::StoreOp::complete: {
      const std::string_view args[] = {"EVALSHA",  redis_->script_sha(kCompleteScriptIndex),
                                       "1",        key_text,
                                       call.claim, call.answer,
                                       ttl_text};
      redis_->command(args, on_redis_reply, this, tag);
      break;
    }
    case core::StoreOp::release: {
      const std::string_view args[] = {"EVALSHA", redis_->script_sha(kReleaseScriptIndex), "1",
                                       key_text, call.claim};
      redis_->command(args, on_redis_reply, this, tag);
      break;
    }
  }
}

void IdempotencyBackend::on_redis_reply(void* context, uint64_t tag, const net::RedisReply& reply) {
  auto* self = static_cast<IdempotencyBackend*>(context);
  const auto op = static_cast<core::StoreOp>(tag >> 32);
  const auto index = static_cast<uint32_t>(tag);
  core::StoreReply out;  // failed unless Redis answered as the protocol expects
  using Kind = net::RedisReply::Kind;
  if (op == core::StoreOp::claim) {
    if (reply.kind == Kind::nil) {
      out.kind = core::StoreReply::Kind::done;
    } else if (reply.kind == Kind::string) {
      out.kind = core::StoreReply::Kind::exists;
      out.existing = reply.text;
    }
  } else if (reply.kind == Kind::integer) {
    out.kind = reply.integer == 1 ? core::StoreReply::Kind::done : core::StoreReply::Kind::refused;
  }
  self->callback_(self->owner_, index, out);
}

}  // namespace paystream::svc
