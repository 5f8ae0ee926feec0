#include "core/decision.h"

namespace paystream::core {
namespace {

struct WeightedDecline {
  DeclineCode code;
  double cumulative;  // upper bound of its slice of [0, 1)
};

constexpr std::array<WeightedDecline, 6> kDeclineWeights = {{
    {DeclineCode::insufficient_funds, 0.40},
    {DeclineCode::do_not_honor, 0.65},
    {DeclineCode::card_expired, 0.77},
    {DeclineCode::suspected_fraud, 0.85},
    {DeclineCode::restricted_card, 0.93},
    {DeclineCode::limit_exceeded, 1.00},
}};

constexpr std::string_view kCodeAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

}  // namespace

std::string_view decline_code_name(DeclineCode code) {
  switch (code) {
    case DeclineCode::insufficient_funds:
      return "insufficient_funds";
    case DeclineCode::do_not_honor:
      return "do_not_honor";
    case DeclineCode::card_expired:
      return "card_expired";
    case DeclineCode::suspected_fraud:
      return "suspected_fraud";
    case DeclineCode::restricted_card:
      return "restricted_card";
    case DeclineCode::limit_exceeded:
      return "limit_exceeded";
    case DeclineCode::invalid_card_number:
      return "invalid_card_number";
  }
  return "";
}

ProcessorDraws draw_processor(Xoshiro256& rng) {
  ProcessorDraws draws;
  draws.error = rng.next_unit();
  draws.approval = rng.next_unit();
  draws.decline = rng.next_unit();
  draws.code_bits = rng.next();
  return draws;
}

DeclineCode weighted_decline_code(double draw) {
  for (const WeightedDecline& entry : kDeclineWeights) {
    if (draw < entry.cumulative) return entry.code;
  }
  return kDeclineWeights.back().code;
}

AuthorizationCode authorization_code_from_bits(uint64_t bits) {
  // 36^6 is about 2^31, so the modulo bias over 64 bits is negligible.
  AuthorizationCode code;
  for (char& c : code) {
    c = kCodeAlphabet[bits % kCodeAlphabet.size()];
    bits /= kCodeAlphabet.size();
  }
  return code;
}

Decision simulate_processor(const ProcessorSettings& settings, const ProcessorDraws& draws) {
  Decision decision;
  decision.processor_called = true;
  if (draws.error < settings.error_rate) {
    decision.verdict = Verdict::processor_error;
  } else if (draws.approval < settings.success_rate) {
    decision.verdict = Verdict::approved;
    decision.authorization_code = authorization_code_from_bits(draws.code_bits);
  } else {
    decision.verdict = Verdict::declined;
    decision.decline_code = weighted_decline_code(draws.decline);
  }
  return decision;
}

bool declined_before_processor(const AuthorizeRequest& request) {
  return !request.luhn_valid;
}

Decision decide(const AuthorizeRequest& request, const ProcessorSettings& settings,
                Xoshiro256& rng) {
  if (declined_before_processor(request)) {
    Decision decision;
    decision.verdict = Verdict::declined;
    decision.decline_code = DeclineCode::invalid_card_number;
    return decision;
  }
  return simulate_processor(settings, draw_processor(rng));
}

uint32_t simulated_latency_ms(const LatencySettings& settings, Xoshiro256& rng) {
  const uint64_t span = 2 * static_cast<uint64_t>(settings.jitter_ms) + 1;
  const int64_t offset = static_cast<int64_t>(rng.next_below(span)) - settings.jitter_ms;
  const int64_t latency = static_cast<int64_t>(settings.base_ms) + offset;
  const uint32_t drawn = latency < 0 ? 0 : static_cast<uint32_t>(latency);
  if (settings.slow_rate > 0.0 && rng.next_unit() < settings.slow_rate) {
    return drawn + settings.slow_ms;
  }
  return drawn;
}

}  // namespace paystream::core
