// Many threads admitting and reporting at once, with a shared simulated clock, checking the
// breaker's invariants. Run under ThreadSanitizer too (-Db_sanitize=thread).

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/breaker.h"
#include "core/random.h"

namespace paystream::core {
namespace {

constexpr int kThreads = 8;
constexpr size_t kGenerations = size_t{1} << kBreakerGenerationBits;

struct StressConfig {
  BreakerSettings settings;
  int operations_per_thread;
  double failure_probability;
  uint64_t clock_tick_every;  // operations per thread between clock ticks
  size_t max_pending;         // admitted calls a thread holds before reporting
};

class Invariants {
 public:
  explicit Invariants(const BreakerSettings& settings)
      : settings_(settings),
        probes_(std::make_unique<std::atomic<uint32_t>[]>(kGenerations)),
        probe_successes_(std::make_unique<std::atomic<uint32_t>[]>(kGenerations)) {}

  void violation(const std::string& what) {
    if (violations_.fetch_add(1) == 0) {
      const std::lock_guard lock(mutex_);
      first_violation_ = what;
    }
  }

  void on_transition(const BreakerTransition& t, uint32_t ticket_generation) {
    if (!t.happened()) return;
    transitions_[static_cast<size_t>(t.from)][static_cast<size_t>(t.to)].fetch_add(1);
    // Closing needs exactly max_requests successful probes of the closing generation.
    if (t.from == BreakerState::half_open && t.to == BreakerState::closed) {
      const uint32_t probes = probes_[ticket_generation].load();
      const uint32_t successes = probe_successes_[ticket_generation].load();
      if (probes != settings_.half_open_max_requests ||
          successes != settings_.half_open_max_requests) {
        violation("closed after " + std::to_string(probes) + " probes and " +
                  std::to_string(successes) + " successes");
      }
    }
  }

  void on_probe_admitted(uint32_t generation) {
    const uint32_t probes = probes_[generation].fetch_add(1) + 1;
    if (probes > settings_.half_open_max_requests) {
      violation("half-open admitted " + std::to_string(probes) + " probes");
    }
  }

  void on_probe_success(uint32_t generation) { probe_successes_[generation].fetch_add(1); }

  void check_snapshot(const BreakerSnapshot& s) {
    switch (s.state) {
      case BreakerState::closed:
        if (s.consecutive_failures >= settings_.failure_threshold)
          violation("closed past threshold");
        if (s.consecutive_failures != 0 && s.consecutive_successes != 0) violation("mixed streak");
        if (s.requests != 0) violation("closed with probes");
        break;
      case BreakerState::open:
        if (s.requests || s.consecutive_failures || s.consecutive_successes) {
          violation("open with counts");
        }
        break;
      case BreakerState::half_open:
        if (s.consecutive_successes > s.requests || s.requests > settings_.half_open_max_requests) {
          violation("half-open counts out of range");
        }
        if (s.consecutive_failures != 0) violation("half-open with failures");
        break;
    }
  }

  uint64_t count(BreakerState from, BreakerState to) const {
    return transitions_[static_cast<size_t>(from)][static_cast<size_t>(to)].load();
  }
  uint64_t total_transitions() const {
    uint64_t total = 0;
    for (const auto& row : transitions_) {
      for (const auto& cell : row) total += cell.load();
    }
    return total;
  }
  int violations() const { return violations_.load(); }
  std::string first_violation() {
    const std::lock_guard lock(mutex_);
    return first_violation_;
  }

 private:
  const BreakerSettings settings_;
  std::unique_ptr<std::atomic<uint32_t>[]> probes_;
  std::unique_ptr<std::atomic<uint32_t>[]> probe_successes_;
  std::array<std::array<std::atomic<uint64_t>, 3>, 3> transitions_{};
  std::atomic<int> violations_{0};
  std::mutex mutex_;
  std::string first_violation_;
};

struct Pending {
  BreakerTicket ticket;
  bool probe;
};

struct StressResult {
  uint64_t admitted = 0;
  uint64_t rejected = 0;
  uint64_t ignored_reports = 0;
};

void run_thread(const StressConfig& config, CircuitBreaker& breaker, std::atomic<uint64_t>& clock,
                Invariants& invariants, uint64_t seed, StressResult& result) {
  Xoshiro256 rng(seed);
  std::vector<Pending> pending;
  pending.reserve(config.max_pending + 1);
  const auto report_one = [&](size_t index, uint64_t now) {
    const Pending call = pending[index];
    pending[index] = pending.back();
    pending.pop_back();
    const bool failure = rng.next_unit() < config.failure_probability;
    if (call.probe && !failure) invariants.on_probe_success(call.ticket.generation);
    const ReportResult r =
        breaker.report(call.ticket, failure ? CallOutcome::failure : CallOutcome::success, now);
    if (!r.counted) {
      ++result.ignored_reports;
      if (r.transition.happened()) invariants.violation("ignored report changed state");
    }
    invariants.on_transition(r.transition, call.ticket.generation);
  };

  for (int op = 0; op < config.operations_per_thread; ++op) {
    if (static_cast<uint64_t>(op) % config.clock_tick_every == 0) clock.fetch_add(1);
    const uint64_t now = clock.load(std::memory_order_relaxed);
    if (!pending.empty() && (pending.size() >= config.max_pending || rng.next_below(2) == 0)) {
      report_one(rng.next_below(pending.size()), now);
      continue;
    }
    const Admission a = breaker.admit(now);
    invariants.on_transition(a.transition, a.ticket.generation);
    if (!a.admitted) {
      ++result.rejected;
      if (a.retry_after_ms > config.settings.open_timeout_ms) {
        invariants.violation("retry_after beyond the open timeout");
      }
      continue;
    }
    ++result.admitted;
    if (a.probe) invariants.on_probe_admitted(a.ticket.generation);
    pending.push_back({a.ticket, a.probe});
    if (op % 1024 == 0) invariants.check_snapshot(breaker.snapshot(now));
  }
  // Every admitted call reports exactly once.
  while (!pending.empty()) report_one(pending.size() - 1, clock.load());
}

void run_stress(const StressConfig& config) {
  std::atomic<uint64_t> clock{1'000'000};
  CircuitBreaker breaker(config.settings, clock.load());
  Invariants invariants(config.settings);
  std::vector<StressResult> results(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(run_thread, std::cref(config), std::ref(breaker), std::ref(clock),
                         std::ref(invariants), 1000 + t, std::ref(results[t]));
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(invariants.violations(), 0) << invariants.first_violation();

  using S = BreakerState;
  // Only the four legal state changes happen.
  EXPECT_EQ(invariants.count(S::closed, S::half_open), 0u);
  EXPECT_EQ(invariants.count(S::open, S::closed), 0u);
  const uint64_t to_open =
      invariants.count(S::closed, S::open) + invariants.count(S::half_open, S::open);
  const BreakerSnapshot final_state = breaker.snapshot(clock.load());
  invariants.check_snapshot(final_state);
  EXPECT_EQ(final_state.trips, to_open);

  // Each state was entered as often as it was left, except the final one (closed was entered at
  // construction). A transition reported twice, or never, would break this balance.
  const auto balance = [&](S state) -> int64_t {
    int64_t entered = state == S::closed ? 1 : 0, left = 0;
    for (S other : {S::closed, S::open, S::half_open}) {
      entered += static_cast<int64_t>(invariants.count(other, state));
      left += static_cast<int64_t>(invariants.count(state, other));
    }
    return entered - left;
  };
  // A stored half-open state always has a probe (the admission that entered it), so a snapshot
  // showing none is an open period that ended but that no admit() has stored yet.
  const BreakerSnapshot stored = breaker.snapshot(clock.load());
  const bool open_period_over = stored.state == S::half_open && stored.requests == 0;
  const S stored_state = open_period_over ? S::open : stored.state;
  for (S state : {S::closed, S::open, S::half_open}) {
    EXPECT_EQ(balance(state), state == stored_state ? 1 : 0) << breaker_state_name(state);
  }

  uint64_t admitted = 0, rejected = 0, ignored = 0;
  for (const StressResult& r : results) {
    admitted += r.admitted;
    rejected += r.rejected;
    ignored += r.ignored_reports;
  }
  const uint64_t transitions = invariants.total_transitions();
  ASSERT_LT(transitions, kGenerations) << "generations wrapped: shorten the test";
  if (config.settings.interval_ms == 0) {
    // Without counting intervals, every generation is a reported state change.
    EXPECT_EQ(stored.generation, transitions + (open_period_over ? 1 : 0));
  } else {
    EXPECT_GE(stored.generation, transitions);
  }
  // The run must actually exercise every path.
  EXPECT_GT(invariants.count(S::closed, S::open), 100u);
  EXPECT_GT(invariants.count(S::half_open, S::closed), 100u);
  EXPECT_GT(invariants.count(S::half_open, S::open), 100u);
  EXPECT_GT(rejected, 1000u);
  EXPECT_GT(ignored, 100u);
  EXPECT_GT(admitted, 100000u);
  std::printf("admitted %llu, rejected %llu, ignored reports %llu, transitions %llu, trips %llu\n",
              static_cast<unsigned long long>(admitted), static_cast<unsigned long long>(rejected),
              static_cast<unsigned long long>(ignored),
              static_cast<unsigned long long>(transitions),
              static_cast<unsigned long long>(final_state.trips));
}

#if defined(__SANITIZE_THREAD__)
constexpr int kOperations = 500'000;
#else
constexpr int kOperations = 1'000'000;
#endif

TEST(BreakerStress, FlappingWithoutIntervals) {
  run_stress({{3, 2, 3, 0}, kOperations, 0.3, 8, 4});
}

TEST(BreakerStress, FlappingWithCountingIntervals) {
  run_stress({{4, 3, 5, 5}, kOperations, 0.25, 4, 6});
}

TEST(BreakerStress, SingleProbeAndZeroOpenTimeout) {
  run_stress({{1, 0, 1, 0}, kOperations, 0.2, 16, 2});
}

}  // namespace
}  // namespace paystream::core
