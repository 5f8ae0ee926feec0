#include "bench/authload/idempotency_stats.h"

namespace paystream::bench {

void DuplicateCounts::merge(const DuplicateCounts& o) {
  scheduled += o.scheduled;
  unavailable += o.unavailable;
  responses += o.responses;
  replayed += o.replayed;
  matched += o.matched;
  mismatched += o.mismatched;
  in_use += o.in_use;
  reused += o.reused;
  other += o.other;
}

uint64_t IdempotencyStats::failures() const {
  return sequential.mismatched + concurrent.mismatched + conflicting.replayed + executed_twice;
}

void IdempotencyStats::merge(const IdempotencyStats& o) {
  keyed += o.keyed;
  originals += o.originals;
  responses += o.responses;
  replayed += o.replayed;
  http_409 += o.http_409;
  in_use += o.in_use;
  outcome_unknown += o.outcome_unknown;
  http_422 += o.http_422;
  reused += o.reused;
  store_unavailable += o.store_unavailable;
  retry_after_missing += o.retry_after_missing;
  executed_twice += o.executed_twice;
  untracked += o.untracked;
  sequential.merge(o.sequential);
  concurrent.merge(o.concurrent);
  conflicting.merge(o.conflicting);
}

}  // namespace paystream::bench
