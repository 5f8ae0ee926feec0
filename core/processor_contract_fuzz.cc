// libFuzzer target: the processor contract's two decoders. The input is an answer body (as the
// service receives it) and, the same bytes, a request body (as the simulator receives it).
//
// Invariants: both decoders are deterministic on reused instances; an accepted answer is
// approved with 6 characters of [0-9A-Z] or declined with a code the processor may send, and
// encoding it back decodes to the same answer; a refused request names no field or one of the
// contract's members with a message; an accepted request, encoded again, decodes to the same
// request.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/processor_contract.h"
#include "core/processor_dedupe.h"

namespace {

using namespace paystream::core;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

bool same(const ProcessorAnswer& a, const ProcessorAnswer& b) {
  return a.kind == b.kind &&
         (a.kind != ProcessorAnswer::Kind::approved ||
          a.authorization_code == b.authorization_code) &&
         (a.kind != ProcessorAnswer::Kind::declined || a.decline_code == b.decline_code);
}

void check_answer(std::string_view body) {
  static ProcessorAnswerDecoder decoder;
  const ProcessorAnswer answer = decoder.decode(200, body);
  check(same(answer, decoder.decode(200, body)), "answer decoding is not deterministic");
  check(decoder.decode(500, body).kind == ProcessorAnswer::Kind::invalid, "a 500 was accepted");
  if (answer.kind == ProcessorAnswer::Kind::invalid) return;
  check(body.size() <= kMaxProcessorAnswerBytes, "an oversized answer was accepted");
  Decision decision;
  if (answer.kind == ProcessorAnswer::Kind::approved) {
    for (char c : answer.authorization_code) {
      check((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'), "bad authorization code");
    }
    decision.verdict = Verdict::approved;
    decision.authorization_code = answer.authorization_code;
  } else {
    check(answer.decline_code != DeclineCode::invalid_card_number, "invalid_card_number accepted");
    decision.verdict = Verdict::declined;
    decision.decline_code = answer.decline_code;
  }
  std::string encoded;
  encode_processor_answer(decision, encoded);
  check(same(answer, decoder.decode(200, encoded)), "an accepted answer does not round-trip");
}

void check_request(std::string_view body) {
  static ProcessorRequestDecoder decoder;
  ProcessorRequest request;
  const DecodeError error = decoder.decode(body, request);
  ProcessorRequest again;
  const DecodeError second = decoder.decode(body, again);
  check(error.ok() == second.ok() && error.field == second.field && error.message == second.message,
        "request decoding is not deterministic");
  if (!error.ok()) {
    constexpr std::string_view kMembers[] = {
        "",         "transaction_id", "amount", "currency", "card_number",
        "merchant", "merchant_id",    "network"};
    bool known = false;
    for (std::string_view m : kMembers) known = known || error.field == m;
    check(known, "an error names an unknown field");
    return;
  }
  check(request_fingerprint(request) == request_fingerprint(again), "fingerprint differs");
  AuthorizeRequest authorize;
  check(authorize.card.assign(request.card.digits()), "accepted card digits do not assign");
  authorize.network = request.network;
  authorize.luhn_valid = true;
  authorize.currency = request.currency;
  authorize.amount_minor = request.amount_minor;
  authorize.merchant.assign(request.merchant.view());
  authorize.merchant_id.assign(request.merchant_id.view());
  std::string encoded;
  encode_processor_request(authorize, request.transaction_id_view(), encoded);
  ProcessorRequest decoded;
  check(decoder.decode(encoded, decoded).ok(), "an accepted request does not encode validly");
  check(request_fingerprint(decoded) == request_fingerprint(request),
        "an accepted request does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check_answer(body);
  check_request(body);
  return 0;
}
