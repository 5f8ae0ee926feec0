#include "svc/processor_link.h"

#include <utility>

#include "core/processor_contract.h"

namespace paystream::svc {

ProcessorLink::ProcessorLink(net::HttpClient& client, std::string target,
                             const ProcessorCredential* credential, ReplyCallback on_reply,
                             void* context)
    : client_(client),
      target_(std::move(target)),
      credential_(credential),
      on_reply_(on_reply),
      context_(context) {}

void ProcessorLink::send(const core::ProcessorCall& processor_call, uint32_t call) {
  if (credential_ != nullptr) credential_->refresh(credential_seen_, authorization_);
  const net::HttpHeaderField headers[3] = {
      {"Content-Type", "application/json"},
      {core::kProcessorIdempotencyHeader, processor_call.idempotency_key},
      {"Authorization", authorization_},
  };
  const size_t count = authorization_.empty() ? 2 : 3;
  // The processor dedupes by our transaction id, so the client may send the call a second
  // time after a connect failure or a stale keep-alive connection (DESIGN.md).
  client_.call({.method = "POST",
                .target = target_,
                .headers = std::span<const net::HttpHeaderField>(headers, count),
                .body = processor_call.body,
                .timeout_ms = processor_call.timeout_ms,
                .may_retry = true},
               on_result, this, call);
}

core::ProcessorReply ProcessorLink::reply_for(const net::HttpResult& result) {
  using Kind = net::HttpResult::Kind;
  core::ProcessorReply reply;
  reply.upstream_us = result.upstream_us;
  switch (result.kind) {
    case Kind::response:
      reply.kind = core::ProcessorReply::Kind::answered;
      reply.status = result.status;
      reply.body = result.body;
      break;
    case Kind::busy:
      reply.kind = core::ProcessorReply::Kind::busy;
      break;
    case Kind::timeout:
      reply.kind = core::ProcessorReply::Kind::timeout;
      break;
    case Kind::connect_failed:
    case Kind::closed:
    case Kind::malformed:
    case Kind::too_large:
    case Kind::shutdown:
      reply.kind = core::ProcessorReply::Kind::failed;
      break;
  }
  return reply;
}

void ProcessorLink::on_result(void* self, uint64_t tag, const net::HttpResult& result) {
  auto& link = *static_cast<ProcessorLink*>(self);
  link.on_reply_(link.context_, static_cast<uint32_t>(tag), reply_for(result));
}

}  // namespace paystream::svc
