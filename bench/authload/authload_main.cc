// authload: open-loop HTTP load generator. See --help and bench/authload/README.md.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/file.h"
#include "bench/authload/body_mix.h"
#include "bench/authload/find_max.h"
#include "bench/authload/idempotency_keys.h"
#include "bench/authload/load_run.h"
#include "bench/authload/options.h"
#include "bench/authload/report_json.h"
#include "bench/authload/report_table.h"
#include "bench/authload/request_pool.h"
#include "bench/authload/run_summary.h"
#include "bench/authload/target_address.h"

namespace bench = paystream::bench;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRunError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIdempotencyFailure = 3;
constexpr size_t kMixBodies = 1024;

int run_error(const std::string& message) {
  std::fprintf(stderr, "authload: %s\n", message.c_str());
  return kExitRunError;
}

// A request body; far above any body limit a service sets, so only a wrong file is refused.
constexpr size_t kMaxBodyFileBytes = 64 * 1024 * 1024;

bool read_file(const std::string& path, std::string& out) {
  std::optional<std::string> content =
      paystream::base::read_small_file(path.c_str(), kMaxBodyFileBytes);
  if (!content) return false;
  out = std::move(*content);
  return true;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

std::string request_line(const bench::Options& o) {
  std::string line = o.method + " " + o.path + " -> " + o.targets[0].text;
  if (o.targets.size() == 2) {
    line += " (" + std::to_string(100 - o.weight) + "%), " + o.targets[1].text + " (" +
            std::to_string(o.weight) + "%)";
  }
  return line;
}

bench::RunSpec base_spec(const bench::Options& o, const std::vector<bench::RunTarget>& targets) {
  bench::RunSpec spec;
  spec.targets = &targets;
  spec.weight = o.targets.size() == 2 ? o.weight : 0;
  spec.rate = o.rate;
  spec.duration_s = o.duration_s;
  spec.warmup_s = o.warmup_s;
  spec.connections = o.connections;
  spec.pipeline = o.pipeline;
  spec.threads = o.threads;
  spec.head_requests = o.method == "HEAD";
  spec.timeout_ns = static_cast<uint64_t>(o.timeout_s * 1e9);
  spec.spin_ns = static_cast<uint64_t>(o.spin_us * 1e3);
  spec.tick_ns = static_cast<uint64_t>(o.tick_us * 1e3);
  spec.live_status = !o.quiet;
  spec.idempotency_keys = o.idempotency_keys;
  spec.duplicates =
      bench::DuplicatePlan{o.duplicate_fraction, o.duplicate_mode, o.conflict_fraction};
  spec.seed = o.seed;
  return spec;
}

// Keys of every run differ: a random part per process, and the run's number.
std::string key_prefix(uint64_t run) {
  static const uint64_t random = bench::random_from_os();
  return bench::make_key_prefix(random, run);
}

int idempotency_failure(const bench::IdempotencyStats& stats) {
  std::fprintf(stderr,
               "authload: %llu idempotency failures (replays differing from their original, "
               "replayed conflicting reuses, keys executed twice)\n",
               static_cast<unsigned long long>(stats.failures()));
  return kExitIdempotencyFailure;
}

int single_run(const bench::Options& o, const std::vector<bench::RunTarget>& targets,
               uint32_t conflict_offset) {
  bench::RunSpec spec = base_spec(o, targets);
  spec.conflict_offset = conflict_offset;
  spec.distinct_requests = conflict_offset;
  spec.key_prefix = key_prefix(0);
  const bench::RunResult result = bench::run_load(spec);
  if (!result.ok) return run_error(result.error);
  const bench::RunSummary summary = bench::summarize_run(spec, result);
  std::fputs(bench::run_table(summary, request_line(o)).c_str(), stdout);
  std::fflush(stdout);
  if (!o.json_file.empty() && !write_file(o.json_file, bench::run_report_json(o, summary))) {
    return run_error("cannot write " + o.json_file);
  }
  if (summary.all.responses == 0) return run_error("no response at all");
  if (summary.idempotency.failures() > 0) return idempotency_failure(summary.idempotency);
  return kExitOk;
}

int find_max(const bench::Options& o, const std::vector<bench::RunTarget>& targets,
             uint32_t conflict_offset) {
  bench::RunSpec spec = base_spec(o, targets);
  spec.conflict_offset = conflict_offset;
  spec.distinct_requests = conflict_offset;
  uint64_t runs = 0;
  bench::IdempotencyStats idempotency;
  spec.duration_s = o.step_s;
  spec.warmup_s = o.step_s / 4;
  spec.live_status = false;
  // A step far over the bound is a failure anyway: do not wait the full timeout for it.
  const double step_timeout_s = std::min(o.timeout_s, std::max(1.0, 20 * o.p99_bound_ms / 1e3));
  spec.timeout_ns = static_cast<uint64_t>(step_timeout_s * 1e9);

  bench::FindMaxConfig config;
  config.start_rate = o.rate > 0 ? o.rate : 1000;
  config.p99_bound_ms = o.p99_bound_ms;
  config.budget_s = o.find_max_time_s;
  config.step_cost_s = spec.warmup_s + spec.duration_s + 0.3;
  std::vector<bench::RunSummary> summaries;
  std::string run_failure;
  const uint64_t started = paystream::base::monotonic_ns();
  auto run_step = [&](double rate) {
    spec.rate = rate;
    spec.key_prefix = key_prefix(runs++);
    bench::StepOutcome step;
    const bench::RunResult result = bench::run_load(spec);
    idempotency.merge(result.idempotency);
    if (!result.ok) {
      run_failure = result.error;
      summaries.emplace_back();
      return step;
    }
    summaries.push_back(bench::summarize_run(spec, result));
    const bench::RunSummary& s = summaries.back();
    step.ran = true;
    step.valid = s.valid;
    step.achieved_rate = s.achieved_rate;
    step.p99_ms = s.latency.p99 / 1e3;
    // The 409s and 422s that deliberate duplicates ask for are not errors of the server.
    const uint64_t asked_for = s.idempotency.concurrent.in_use + s.idempotency.conflicting.reused;
    step.error_share = s.scheduled == 0 ? 0
                                        : static_cast<double>(s.all.total_errors() - asked_for) /
                                              static_cast<double>(s.scheduled);
    if (!o.quiet) {
      std::fprintf(stderr, "authload [find-max] %.1f/s: achieved %.1f/s, p99 %.3f ms, %s\n", rate,
                   s.achieved_rate, step.p99_ms, s.valid ? "valid" : "INVALID");
    }
    return step;
  };
  auto elapsed_s = [&] {
    return static_cast<double>(paystream::base::monotonic_ns() - started) / 1e9;
  };
  const bench::FindMaxResult search = bench::find_max_rate(config, run_step, elapsed_s);
  std::fputs(bench::find_max_table(search, o.p99_bound_ms).c_str(), stdout);
  const bench::RunSummary* best = nullptr;
  if (search.best_step >= 0) {
    best = &summaries[static_cast<size_t>(search.best_step)];
    std::fputs("\nbest step:\n", stdout);
    std::fputs(bench::run_table(*best, request_line(o)).c_str(), stdout);
  }
  std::fflush(stdout);
  if (!o.json_file.empty() &&
      !write_file(o.json_file, bench::find_max_report_json(o, search, best))) {
    return run_error("cannot write " + o.json_file);
  }
  if (!run_failure.empty()) return run_error(run_failure);
  if (idempotency.failures() > 0) return idempotency_failure(idempotency);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  const bench::ParsedOptions parsed = bench::parse_options(argc, argv);
  if (parsed.help) {
    std::fputs(bench::usage_text().c_str(), stdout);
    return kExitOk;
  }
  if (!parsed.options) {
    std::fprintf(stderr, "authload: %s\n(authload --help lists the options)\n",
                 parsed.error.c_str());
    return kExitUsage;
  }
  const bench::Options& o = *parsed.options;

  std::vector<std::string> bodies;
  if (!o.body_file.empty()) {
    bodies.emplace_back();
    if (!read_file(o.body_file, bodies.back())) {
      std::fprintf(stderr, "authload: cannot read --body %s\n", o.body_file.c_str());
      return kExitUsage;
    }
  } else if (o.method == "POST" || o.method == "PUT") {
    bodies = bench::make_authorize_bodies(kMixBodies, o.seed);
  }
  // Conflicting reuses send an original's body with another amount: prepared after the bodies.
  uint32_t conflict_offset = 0;
  if (o.conflict_fraction > 0) {
    conflict_offset = static_cast<uint32_t>(bodies.size());
    for (uint32_t i = 0; i < conflict_offset; ++i) {
      bodies.push_back(bench::with_other_amount(bodies[i]));
    }
  }

  std::vector<bench::RunTarget> targets;
  for (const bench::TargetAddress& address : o.targets) {
    bench::RunTarget target;
    target.name = address.text;
    if (std::string error = bench::resolve_target(address, target.address); !error.empty()) {
      return run_error(error);
    }
    bench::RequestSpec request{.method = o.method,
                               .path = o.path,
                               .host = o.host_header.empty() ? address.text : o.host_header,
                               .extra_headers = o.headers};
    target.requests = bench::build_request_pool(request, bodies);
    target.key_offset = bench::header_insert_offset(request);
    targets.push_back(std::move(target));
  }
  return o.find_max ? find_max(o, targets, conflict_offset)
                    : single_run(o, targets, conflict_offset);
}
