#pragma once
// --find-max: the highest rate whose run is valid with p99 under a bound. Doubles the rate from
// the start until a step fails, then bisects between the best passing and the first failing
// rate, within a total time budget. The runner is injected, so the search is testable alone.

#include <functional>
#include <string>
#include <vector>

namespace paystream::bench {

struct StepOutcome {
  double rate = 0;
  bool ran = false;  // false: a run error (no connection); the search stops
  bool valid = false;
  double achieved_rate = 0;
  double p99_ms = 0;
  double error_share = 0;  // transport errors plus non-2xx, over requests scheduled
  bool passed = false;     // valid, p99 under the bound and errors under 0.1%
};

struct FindMaxConfig {
  double start_rate = 1000;
  double p99_bound_ms = 50;
  double budget_s = 30;
  double step_cost_s = 3;   // expected wall time of one step, to stay within the budget
  double precision = 0.05;  // stop when the bracket is this narrow, relative
  double min_rate = 1;
};

struct FindMaxResult {
  double best_rate = 0;  // 0: no rate passed
  int best_step = -1;    // index into steps
  std::vector<StepOutcome> steps;
  std::string stopped_because;
};

// `run_step(rate)` runs one step; `elapsed_s()` is the time spent so far.
FindMaxResult find_max_rate(const FindMaxConfig& config,
                            const std::function<StepOutcome(double rate)>& run_step,
                            const std::function<double()>& elapsed_s);

// Fills `passed` from the other fields.
void judge_step(StepOutcome& step, double p99_bound_ms);

}  // namespace paystream::bench
