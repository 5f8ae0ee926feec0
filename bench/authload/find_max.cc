#include "bench/authload/find_max.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace paystream::bench {
namespace {

constexpr double kMaxErrorShare = 0.001;

}  // namespace

void judge_step(StepOutcome& step, double p99_bound_ms) {
  step.passed =
      step.ran && step.valid && step.p99_ms <= p99_bound_ms && step.error_share <= kMaxErrorShare;
}

FindMaxResult find_max_rate(const FindMaxConfig& config,
                            const std::function<StepOutcome(double rate)>& run_step,
                            const std::function<double()>& elapsed_s) {
  FindMaxResult result;
  double best = 0;                                          // highest passing rate
  double failed = std::numeric_limits<double>::infinity();  // lowest failing rate
  double rate = config.start_rate;
  for (;;) {
    if (elapsed_s() + config.step_cost_s > config.budget_s) {
      result.stopped_because = "time budget";
      break;
    }
    StepOutcome step = run_step(rate);
    step.rate = rate;
    judge_step(step, config.p99_bound_ms);
    result.steps.push_back(step);
    if (!step.ran) {
      result.stopped_because = "run error";
      break;
    }
    if (step.passed && rate > best) {
      best = rate;
      result.best_step = static_cast<int>(result.steps.size()) - 1;
    }
    if (!step.passed) failed = std::min(failed, rate);

    if (std::isinf(failed)) {
      rate *= 2;
    } else if (best == 0 && !step.valid && step.p99_ms <= config.p99_bound_ms &&
               rate < config.start_rate) {
      // Fast enough, yet invalid at half the load too: the generator's timing is the limit, and
      // lower rates will not change that.
      result.stopped_because = "generator limit: invalid even at low load";
      break;
    } else if (best == 0) {
      rate /= 2;
      if (rate < config.min_rate) {
        result.stopped_because = "no rate passed";
        break;
      }
    } else if (failed - best <= config.precision * best) {
      result.stopped_because = "converged";
      break;
    } else {
      rate = (best + failed) / 2;
    }
  }
  result.best_rate = best;
  return result;
}

}  // namespace paystream::bench
