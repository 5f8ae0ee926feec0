#include "svc/processor_sim/sim_handler.h"

#include "base/clock.h"
#include "base/file.h"
#include "base/json_escape.h"
#include "core/secret_text.h"

namespace paystream::svc::sim {
namespace {

constexpr uint64_t kKeyReloadMs = 1000;
constexpr uint64_t kDuplicatePollMs = 2;
constexpr size_t kMaxKeyFileBytes = 4096;
constexpr size_t kMaxIdempotencyKeyBytes = 255;
// Not the contract: valid HTTP, status 200, a body the service must refuse.
constexpr std::string_view kGarbageBody = "<html><body>upstream says hello</body></html>";

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string_view digest_view(const core::Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

SimHandler::Call::Call(net::Reactor& reactor, SimHandler& owner)
    : timer(reactor, [&owner, this] { waiting ? owner.poll(*this) : owner.finish(*this); }) {}

SimHandler::SimHandler(net::Reactor& reactor, SimShared& shared, uint64_t seed)
    : reactor_(reactor), shared_(shared), rng_(seed) {
  if (!shared_.options.api_key_file.empty()) {
    reload_key();
    key_timer_ = std::make_unique<net::ReactorTimer>(reactor_, [this] { reload_key(); });
    key_timer_->set_background();
    key_timer_->start(kKeyReloadMs, kKeyReloadMs);
  }
}

void SimHandler::reload_key() {
  // A failed read keeps the last good key: a rotation never opens the door.
  const std::optional<std::string> content =
      base::read_small_file(shared_.options.api_key_file.c_str(), kMaxKeyFileBytes);
  if (!content) return;
  const std::optional<std::string_view> key = core::secret_from_file_content(*content);
  if (key) key_digest_ = core::sha256(*key);
}

bool SimHandler::authorized(const net::Request& request) {
  if (shared_.options.api_key_file.empty()) return true;
  if (!key_digest_) return false;
  const std::optional<std::string_view> token =
      core::parse_bearer_token(request.header("authorization"));
  if (!token) return false;
  return core::constant_time_equals(digest_view(core::sha256(*token)), digest_view(*key_digest_));
}

SimHandler::Call& SimHandler::acquire() {
  if (free_.empty()) {
    calls_.push_back(std::make_unique<Call>(reactor_, *this));
    free_.push_back(calls_.back().get());
  }
  Call* call = free_.back();
  free_.pop_back();
  return *call;
}

void SimHandler::release(Call& call) {
  call.waiting = false;
  call.fault = Fault::none;
  free_.push_back(&call);
}

void SimHandler::reject(const net::Responder& responder, int status, std::string_view code,
                        std::string_view message, std::string_view field) {
  SimStats::bump(shared_.stats.rejected);
  answer_error(responder, status, code, message, field);
}

void SimHandler::answer_error(const net::Responder& responder, int status, std::string_view code,
                              std::string_view message, std::string_view field) {
  body_ = "{\"error\":";
  base::append_json_string(body_, code);
  body_ += ",\"message\":";
  if (field.empty()) {
    base::append_json_string(body_, message);
  } else {
    std::string text(field);
    text += ' ';
    text += message;
    base::append_json_string(body_, text);
    body_ += ",\"field\":";
    base::append_json_string(body_, field);
  }
  body_ += '}';
  responder.respond(net::Response{.status = status, .body = body_});
}

void SimHandler::handle(const net::Request& request, const net::Responder& responder) {
  SimStats::bump(shared_.stats.requests);
  if (!authorized(request)) {
    reject(responder, 401, "unauthorized", "missing or wrong Authorization: Bearer key");
    return;
  }
  std::string_view key;
  size_t keys = 0;
  for (const net::Header& header : request.headers) {
    if (header.name.size() != core::kProcessorIdempotencyHeader.size()) continue;
    bool same = true;
    for (size_t i = 0; i < header.name.size() && same; ++i) {
      same = (header.name[i] | 0x20) == (core::kProcessorIdempotencyHeader[i] | 0x20);
    }
    if (same && keys++ == 0) key = header.value;
  }
  if (keys != 1 || !valid_key(key)) {
    reject(responder, 400, "invalid_request",
           keys == 0  ? "the Idempotency-Key header is required"
           : keys > 1 ? "the Idempotency-Key header appears more than once"
                      : "the Idempotency-Key header must be 1-255 visible ASCII characters");
    return;
  }
  const core::DecodeError error = decoder_.decode(request.body, request_);
  if (!error.ok()) {
    reject(responder, 400, "invalid_request", error.message, error.field);
    return;
  }
  Call& call = acquire();
  call.responder = responder;
  call.key.assign(key);
  call.fingerprint = core::request_fingerprint(request_);
  const auto found = shared_.dedupe.begin(call.key, call.fingerprint, base::monotonic_ms(), body_);
  switch (found.outcome) {
    case core::ProcessorDedupe::Outcome::execute:
      execute(call);
      return;
    case core::ProcessorDedupe::Outcome::replay:
      release(call);
      reply_replay(responder, found.status);
      return;
    case core::ProcessorDedupe::Outcome::pending:
      SimStats::bump(shared_.stats.in_flight_duplicates);
      call.waiting = true;
      call.timer.start(kDuplicatePollMs);
      return;
    case core::ProcessorDedupe::Outcome::conflict:
      release(call);
      reject(responder, 422, "idempotency_key_reused",
             "the Idempotency-Key was used with a different request");
      return;
  }
}

void SimHandler::reply_replay(const net::Responder& responder, int status) {
  SimStats::bump(shared_.stats.duplicates);
  static constexpr net::ResponseHeader kReplayed[] = {{"Idempotent-Replayed", "true"}};
  responder.respond(net::Response{.status = status, .body = body_, .headers = kReplayed});
}

void SimHandler::poll(Call& call) {
  const auto found = shared_.dedupe.begin(call.key, call.fingerprint, base::monotonic_ms(), body_);
  switch (found.outcome) {
    case core::ProcessorDedupe::Outcome::pending:
      call.timer.start(kDuplicatePollMs);
      return;
    case core::ProcessorDedupe::Outcome::replay:
      reply_replay(call.responder, found.status);
      release(call);
      return;
    case core::ProcessorDedupe::Outcome::execute:  // the first failed undecided: decide now
      call.waiting = false;
      execute(call);
      return;
    case core::ProcessorDedupe::Outcome::conflict:  // cannot happen: same fingerprint
      reject(call.responder, 422, "idempotency_key_reused",
             "the Idempotency-Key was used with a different request");
      release(call);
      return;
  }
}

void SimHandler::execute(Call& call) {
  const EffectiveFaults faults = shared_.faults.effective();
  const core::ProcessorParameters& p = faults.parameters;
  const uint32_t latency = core::simulated_latency_ms({.base_ms = p.latency_ms,
                                                       .jitter_ms = p.jitter_ms,
                                                       .slow_rate = p.slow_rate,
                                                       .slow_ms = p.slow_latency_ms},
                                                      rng_);
  call.decision = core::simulate_processor(
      {.success_rate = p.success_rate, .error_rate = p.error_rate}, core::draw_processor(rng_));
  // Fault draws only for rates in force, so seeded runs without faults are unchanged.
  const auto hit = [this](double rate) { return rate > 0 && rng_.next_unit() < rate; };
  call.fault = hit(p.reset_rate)           ? Fault::reset
               : hit(faults.truncate_rate) ? Fault::truncate
               : hit(faults.garbage_rate)  ? Fault::garbage
                                           : Fault::none;
  if (latency == 0) {
    finish(call);
  } else {
    call.timer.start(latency);
  }
}

void SimHandler::finish(Call& call) {
  SimStats& stats = shared_.stats;
  const net::Responder responder = call.responder;
  if (call.decision.verdict == core::Verdict::processor_error || call.fault == Fault::garbage) {
    // No decision was made: the key is forgotten and a resend is decided afresh.
    shared_.dedupe.abandon(call.key);
    SimStats::bump(stats.errors);
    if (call.fault == Fault::garbage) {
      responder.respond(
          net::Response{.status = 200, .content_type = "text/html", .body = kGarbageBody});
    } else {
      answer_error(responder, 500, "processor_error", "simulated processor error");
    }
    release(call);
    return;
  }
  // Decided and remembered: a reset or a cut loses the answer on the wire, not the decision.
  core::encode_processor_answer(call.decision, body_);
  shared_.dedupe.complete(call.key, 200, body_);
  SimStats::bump(stats.executed);
  SimStats::bump(call.decision.verdict == core::Verdict::approved ? stats.approved
                                                                  : stats.declined);
  switch (call.fault) {
    case Fault::reset:
      SimStats::bump(stats.errors);
      responder.reset();
      break;
    case Fault::truncate: {
      SimStats::bump(stats.errors);
      std::string cut = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ";
      cut += std::to_string(body_.size());
      cut += "\r\n\r\n";
      cut.append(body_, 0, body_.size() / 2);
      responder.send_raw_then_reset(cut);
      break;
    }
    default:
      responder.respond(net::Response{.status = 200, .body = body_});
  }
  release(call);
}

}  // namespace paystream::svc::sim
