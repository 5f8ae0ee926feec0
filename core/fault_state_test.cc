#include "core/fault_state.h"

#include <gtest/gtest.h>

namespace paystream::core {
namespace {

const ProcessorParameters kEnvironment{200, 50, 0.94, 0.0, 0.005, 200, 0.0};

TEST(FaultState, DisabledUsesTheEnvironment) {
  FaultState state;
  state.apply({.latency_ms = 900, .error_rate = 1.0});
  EXPECT_FALSE(state.enabled);
  EXPECT_EQ(state.latency_ms, 900u);  // stored, inactive
  EXPECT_EQ(state.effective(kEnvironment), kEnvironment);
}

TEST(FaultState, EnabledOverridesOnlyTheSetFields) {
  FaultState state;
  state.apply({.enabled = true, .latency_ms = 900});
  const ProcessorParameters effective = state.effective(kEnvironment);
  EXPECT_EQ(effective.latency_ms, 900u);
  EXPECT_EQ(effective.jitter_ms, 50u);
  EXPECT_EQ(effective.success_rate, 0.94);
  EXPECT_EQ(effective.error_rate, 0.0);
  EXPECT_EQ(effective.slow_rate, 0.005);
  EXPECT_EQ(effective.slow_latency_ms, 200u);
  EXPECT_EQ(effective.reset_rate, 0.0);
}

TEST(FaultState, SlowAndResetFieldsOverrideTheEnvironment) {
  FaultState state;
  state.apply({.enabled = true, .slow_rate = 0.04});
  state.apply({.slow_latency_ms = 150, .reset_rate = 0.5});
  const ProcessorParameters effective = state.effective(kEnvironment);
  EXPECT_EQ(effective.slow_rate, 0.04);
  EXPECT_EQ(effective.slow_latency_ms, 150u);
  EXPECT_EQ(effective.reset_rate, 0.5);
  EXPECT_EQ(effective.latency_ms, 200u);
  state.apply({.enabled = false});
  EXPECT_EQ(state.effective(kEnvironment), kEnvironment);
}

TEST(FaultState, PartialUpdatesKeepTheOtherFields) {
  FaultState state;
  state.apply({.enabled = true, .latency_ms = 900, .success_rate = 0.5});
  state.apply({.error_rate = 0.25});
  state.apply({.latency_ms = 10});
  EXPECT_TRUE(state.enabled);
  EXPECT_EQ(state.latency_ms, 10u);
  EXPECT_FALSE(state.jitter_ms);
  EXPECT_EQ(state.success_rate, 0.5);
  EXPECT_EQ(state.error_rate, 0.25);

  state.apply({.enabled = false});
  EXPECT_EQ(state.latency_ms, 10u);
  EXPECT_EQ(state.effective(kEnvironment), kEnvironment);
}

TEST(FaultState, ResetClearsEverything) {
  FaultState state;
  state.apply(
      {.enabled = true, .latency_ms = 1, .jitter_ms = 2, .success_rate = 0, .error_rate = 1});
  state.reset();
  EXPECT_EQ(state, FaultState{});
  EXPECT_EQ(state.effective(kEnvironment), kEnvironment);
}

TEST(FaultState, EnvironmentParametersComeFromConfig) {
  Config config;
  config.latency_base_ms = 0;
  config.latency_jitter_ms = 7;
  config.success_rate = 0.5;
  config.error_rate = 0.1;
  config.slow_rate = 0.25;
  config.slow_latency_ms = 300;
  EXPECT_EQ(environment_parameters(config), (ProcessorParameters{0, 7, 0.5, 0.1, 0.25, 300, 0.0}));
}

}  // namespace
}  // namespace paystream::core
