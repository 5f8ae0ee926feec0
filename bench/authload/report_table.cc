#include "bench/authload/report_table.h"

#include <cstdio>

namespace paystream::bench {
namespace {

template <typename... Args>
std::string format(const char* pattern, Args... args) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, args...);
  return text;
}

unsigned long long ull(uint64_t n) {
  return static_cast<unsigned long long>(n);
}

std::string percentile_row(const char* label, const Percentiles& p) {
  return format("  %-22s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", label, p.p50 / 1e3, p.p90 / 1e3,
                p.p99 / 1e3, p.p99_9 / 1e3, p.p99_99 / 1e3, p.max / 1e3);
}

std::string counts_block(const TargetStats& s) {
  std::string out = format("  requests    scheduled %llu  sent %llu  responses %llu  errors %llu",
                           ull(s.scheduled), ull(s.sent), ull(s.responses), ull(s.total_errors()));
  if (s.resent > 0) out += format("  resent %llu", ull(s.resent));
  if (s.late_responses > 0) out += format("  late responses %llu", ull(s.late_responses));
  out += "\n";
  out += "  status     ";
  bool any = false;
  for (size_t code = 0; code < s.by_status.size(); ++code) {
    if (s.by_status[code] == 0) continue;
    out += format(" %zu: %llu", code, ull(s.by_status[code]));
    any = true;
  }
  out += any ? "\n" : " none\n";
  out += "  errors     ";
  for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
    out += format(" %s %llu", std::string(error_kind_name(static_cast<ErrorKind>(kind))).c_str(),
                  ull(s.errors[kind]));
  }
  out += format("  non-2xx %llu\n", ull(s.non_2xx()));
  if (s.approved + s.declined > 0) {
    out += format("  authorize   approved %llu  declined %llu\n", ull(s.approved), ull(s.declined));
  }
  out += format(
      "  connections opened %llu  connect failures %llu  closed by peer %llu  closed on "
      "request %llu\n",
      ull(s.connects), ull(s.connect_failures), ull(s.closed_by_peer),
      ull(s.closed_by_server_request));
  return out;
}

std::string duplicates_row(const char* kind, const DuplicateCounts& d) {
  std::string out = format("  %-11s scheduled %llu  responses %llu  replayed %llu", kind,
                           ull(d.scheduled), ull(d.responses), ull(d.replayed));
  if (d.matched + d.mismatched > 0) {
    out += format(" (same %llu, differing %llu)", ull(d.matched), ull(d.mismatched));
  }
  out += format("  409 in use %llu  422 reused %llu  other %llu", ull(d.in_use), ull(d.reused),
                ull(d.other));
  if (d.unavailable > 0) out += format("  no original %llu", ull(d.unavailable));
  return out + "\n";
}

std::string idempotency_block(const IdempotencyStats& s) {
  std::string out = format(
      "  idempotency keyed %llu (fresh keys %llu)  replayed %llu  409 %llu (in use %llu, outcome "
      "unknown %llu)  422 %llu (reused %llu)  503 store unavailable %llu\n",
      ull(s.keyed), ull(s.originals), ull(s.replayed), ull(s.http_409), ull(s.in_use),
      ull(s.outcome_unknown), ull(s.http_422), ull(s.reused), ull(s.store_unavailable));
  if (s.sequential.scheduled + s.sequential.unavailable > 0) {
    out += duplicates_row("sequential", s.sequential);
  }
  if (s.concurrent.scheduled + s.concurrent.unavailable > 0) {
    out += duplicates_row("concurrent", s.concurrent);
  }
  if (s.conflicting.scheduled + s.conflicting.unavailable > 0) {
    out += duplicates_row("conflicting", s.conflicting);
  }
  if (s.retry_after_missing > 0) {
    out += format("  409/503 without Retry-After %llu\n", ull(s.retry_after_missing));
  }
  if (s.untracked > 0) out += format("  duplicates not checked %llu\n", ull(s.untracked));
  if (s.failures() > 0) {
    out += format(
        "  IDEMPOTENCY FAILURES %llu: replays differing from the original %llu, conflicting "
        "reuses replayed %llu, keys executed twice %llu\n",
        ull(s.failures()), ull(s.sequential.mismatched + s.concurrent.mismatched),
        ull(s.conflicting.replayed), ull(s.executed_twice));
  }
  return out;
}

}  // namespace

std::string run_table(const RunSummary& run, const std::string& request_line) {
  std::string out = "authload: " + request_line + "\n";
  out += format(
      "  rate        target %.1f/s  achieved %.1f/s over %.2f s  (%zu connections, pipeline "
      "%zu, %zu thread%s)\n",
      run.target_rate, run.achieved_rate, run.send_window_s, run.connections, run.pipeline,
      run.threads, run.threads == 1 ? "" : "s");
  out += counts_block(run.all);
  if (run.idempotency_keys) out += idempotency_block(run.idempotency);
  out += format("\n  %-22s %9s %9s %9s %9s %9s %9s\n", "milliseconds", "p50", "p90", "p99", "p99.9",
                "p99.99", "max");
  out += percentile_row("latency", run.latency);
  out += percentile_row("send lag", run.send_lag);
  if (run.targets.size() > 1) {
    for (const TargetSummary& t : run.targets) {
      const std::string label = "latency " + t.name;
      out += percentile_row(label.c_str(), t.latency);
    }
    for (const TargetSummary& t : run.targets) {
      out += format(
          "\n  target %s: %.0f%% of requests, %zu connections, target %.1f/s, achieved "
          "%.1f/s\n",
          t.name.c_str(), t.share_percent, t.connections, t.target_rate, t.achieved_rate);
      out += counts_block(t.stats);
    }
  }
  out += "\n";
  if (run.valid) {
    out += "  VALID\n";
  } else {
    out += "  INVALID (the generator, not the server, set these numbers):\n";
    for (const std::string& reason : run.invalid_reasons) out += "    - " + reason + "\n";
  }
  return out;
}

std::string find_max_table(const FindMaxResult& search, double p99_bound_ms) {
  std::string out = format("authload --find-max: p99 bound %.3f ms\n", p99_bound_ms);
  out += format("  %12s %12s %12s %7s %8s %s\n", "rate/s", "achieved/s", "p99 ms", "valid",
                "errors%", "result");
  for (const StepOutcome& s : search.steps) {
    out += format("  %12.1f %12.1f %12.3f %7s %8.3f %s\n", s.rate, s.achieved_rate, s.p99_ms,
                  s.valid ? "yes" : "no", s.error_share * 100,
                  !s.ran ? "run error" : (s.passed ? "pass" : "fail"));
  }
  if (search.best_rate > 0) {
    out += format("  max rate: %.1f/s (stopped: %s)\n", search.best_rate,
                  search.stopped_because.c_str());
  } else {
    out += format("  max rate: none passed (stopped: %s)\n", search.stopped_because.c_str());
  }
  return out;
}

}  // namespace paystream::bench
