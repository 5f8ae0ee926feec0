// The controller's measurement, limit and run rules, with a fake clock.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  prepareMetric,
  evaluateResult,
  newMetricResult,
  recordMeasurement,
  assessMetric,
  nextDue,
  effectiveCount,
  AnalysisRun,
  isWorse,
  dryRunMetrics,
} from "../src/controller.mjs";
import { fakeClock } from "../src/fake-clock.mjs";

const guarded = {
  successCondition: "len(result) > 0 && !isNaN(result[0]) && result[0] < 0.01",
  failureCondition: "len(result) > 0 && !isNaN(result[0]) && result[0] >= 0.01",
};

test("EvaluateResult: failure wins, neither is Inconclusive, errors are Error", () => {
  const m = prepareMetric({ name: "e", ...guarded });
  assert.equal(evaluateResult(m, [0.001]).phase, "Successful");
  assert.equal(evaluateResult(m, [0.5]).phase, "Failed");
  assert.equal(evaluateResult(m, []).phase, "Inconclusive");
  assert.equal(evaluateResult(m, [NaN]).phase, "Inconclusive");
  const both = prepareMetric({ name: "b", successCondition: "true", failureCondition: "true" });
  assert.equal(evaluateResult(both, [1]).phase, "Failed");
  const unguarded = prepareMetric({ name: "u", successCondition: "result[0] < 1", failureCondition: "result[0] >= 1" });
  assert.equal(evaluateResult(unguarded, []).phase, "Error", "index out of range on an empty vector");
});

test("EvaluateResult: one condition only", () => {
  const onlySuccess = prepareMetric({ name: "s", successCondition: "len(result) > 0 && result[0] < 1" });
  assert.equal(evaluateResult(onlySuccess, []).phase, "Failed", "no failureCondition: not a success is a failure");
  const onlyFailure = prepareMetric({ name: "f", failureCondition: "len(result) > 0 && result[0] >= 1" });
  assert.equal(evaluateResult(onlyFailure, []).phase, "Successful", "no successCondition: not a failure is a success");
  const none = prepareMetric({ name: "n" });
  assert.equal(evaluateResult(none, []).phase, "Successful");
  const traffic = prepareMetric({ name: "t", successCondition: "len(result) > 0 && result[0] >= 600", failureCondition: "false" });
  assert.equal(evaluateResult(traffic, [10]).phase, "Inconclusive");
  assert.equal(evaluateResult(traffic, [700]).phase, "Successful");
});

function account(m, phases) {
  const res = newMetricResult(m.name);
  let t = 0;
  for (const p of phases) recordMeasurement(res, { phase: p, startedAt: t, finishedAt: t++ });
  return res;
}

test("limits: failed > failureLimit, inconclusive > inconclusiveLimit, consecutive errors", () => {
  const m = prepareMetric({ name: "m", interval: "1m", count: 5, failureLimit: 1, inconclusiveLimit: 2, consecutiveErrorLimit: 3 });
  assert.equal(assessMetric(m, account(m, ["Failed"]), false).phase, "Running");
  assert.equal(assessMetric(m, account(m, ["Failed", "Successful", "Failed"]), false).phase, "Failed");
  assert.equal(assessMetric(m, account(m, ["Inconclusive", "Inconclusive"]), false).phase, "Running");
  assert.equal(assessMetric(m, account(m, ["Inconclusive", "Successful", "Inconclusive", "Inconclusive"]), false).phase, "Inconclusive", "inconclusive counts are totals, not consecutive");
  assert.equal(assessMetric(m, account(m, ["Error", "Error", "Error"]), false).phase, "Running");
  assert.equal(assessMetric(m, account(m, ["Error", "Error", "Error", "Error"]), false).phase, "Error");
  assert.equal(assessMetric(m, account(m, ["Error", "Error", "Successful", "Error", "Error"]), false).phase, "Running", "a success resets the consecutive errors");
  assert.equal(assessMetric(m, account(m, ["Successful", "Successful", "Failed", "Successful", "Successful"]), false).phase, "Successful", "count reached with failures within the limit");
  const def = prepareMetric({ name: "d", interval: "1m" });
  assert.equal(def.failureLimit, 0);
  assert.equal(def.inconclusiveLimit, 0);
  assert.equal(def.consecutiveErrorLimit, 4, "Argo's default");
  assert.equal(assessMetric(def, account(def, ["Failed"]), false).phase, "Failed");
  assert.equal(assessMetric(def, account(def, ["Inconclusive"]), false).phase, "Inconclusive");
});

test("limits: the later check wins (Error over Inconclusive over Failed)", () => {
  const m = prepareMetric({ name: "m", interval: "1m", failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 0 });
  assert.equal(assessMetric(m, account(m, ["Failed", "Inconclusive"]), false).phase, "Inconclusive");
  assert.equal(assessMetric(m, account(m, ["Failed", "Inconclusive", "Error"]), false).phase, "Error");
});

test("errors do not count towards count; terminating makes running metrics Successful", () => {
  const m = prepareMetric({ name: "m", interval: "1m", count: 2, consecutiveErrorLimit: 10 });
  const res = account(m, ["Successful", "Error", "Error"]);
  assert.equal(res.count, 1);
  assert.equal(assessMetric(m, res, false).phase, "Running");
  assert.equal(assessMetric(m, res, true).phase, "Successful");
  assert.equal(assessMetric(m, newMetricResult("m"), true).phase, "Successful", "never measured, run terminated");
  assert.equal(assessMetric(m, newMetricResult("m"), false).phase, "Pending");
});

test("effective count and scheduling: initialDelay, interval, 10 s after an error", () => {
  assert.equal(effectiveCount(prepareMetric({ name: "a" })), 1, "no count, no interval: once");
  assert.equal(effectiveCount(prepareMetric({ name: "b", interval: "1m" })), null, "interval without count: until terminated");
  assert.equal(effectiveCount(prepareMetric({ name: "c", interval: "1m", count: 0 })), null, "count 0 is no count");
  const m = prepareMetric({ name: "m", initialDelay: "5m", interval: "1m", count: 3 });
  const res = newMetricResult("m");
  assert.equal(nextDue(m, res, 1000, 10_000), 1000 + 300_000);
  recordMeasurement(res, { phase: "Successful", startedAt: 0, finishedAt: 400_000 });
  assert.equal(nextDue(m, res, 1000, 10_000), 460_000);
  recordMeasurement(res, { phase: "Error", startedAt: 0, finishedAt: 500_000 });
  assert.equal(nextDue(m, res, 1000, 10_000), 510_000, "retry 10 s after an error whatever the interval");
  recordMeasurement(res, { phase: "Successful", startedAt: 0, finishedAt: 520_000 });
  recordMeasurement(res, { phase: "Successful", startedAt: 0, finishedAt: 580_000 });
  assert.equal(nextDue(m, res, 1000, 10_000), null, "count reached");
  const scaled = prepareMetric({ name: "s", initialDelay: "5m", interval: "1m" }, { scale: 20 });
  assert.equal(scaled.initialDelayMs, 15_000);
  assert.equal(scaled.intervalMs, 3_000);
});

test("phase order for the run's worst status", () => {
  assert.ok(isWorse("Successful", "Inconclusive"));
  assert.ok(isWorse("Inconclusive", "Error"));
  assert.ok(isWorse("Error", "Failed"));
  assert.ok(!isWorse("Failed", "Error"));
});

test("limits are validated", () => {
  assert.throws(() => prepareMetric({ name: "x", failureLimit: -1 }), /non-negative/);
  assert.throws(() => prepareMetric({ name: "x", successCondition: "result[0] + 1 > 0" }), /outside|unexpected|unsupported/);
});

function metric(name, extra = {}) {
  return prepareMetric({ name, initialDelay: "5m", interval: "1m", count: 5, failureLimit: 1, inconclusiveLimit: 2, consecutiveErrorLimit: 12, ...guarded, ...extra });
}

test("AnalysisRun: a failing metric fails the run at its second failure and stops the others", async () => {
  const clock = fakeClock();
  const values = { bad: [0.05], good: [0.001] };
  const seen = [];
  const run = new AnalysisRun({
    name: "gate",
    metrics: [metric("bad"), metric("good")],
    clock,
    measure: async (m) => ({ value: JSON.stringify(values[m.name]), result: values[m.name] }),
    onMeasurement: (r, m, meas) => seen.push(`${clock.now() / 60000}m ${m.name} ${meas.phase}`),
  }).start();
  await clock.advance(4 * 60_000);
  assert.equal(seen.length, 0, "nothing before initialDelay");
  await clock.advance(2 * 60_000);
  assert.equal(run.phase, "Failed");
  assert.deepEqual(seen, ["5m bad Failed", "5m good Successful", "6m bad Failed", "6m good Successful"]);
  assert.match(run.message, /"bad" assessed Failed due to failed \(2\) > failureLimit \(1\)/);
  assert.equal(run.results.get("good").phase, "Successful", "terminated: still-running metrics count as Successful");
  await clock.advance(10 * 60_000);
  assert.equal(seen.length, 4, "no measurement after the run completed");
});

test("AnalysisRun: no data pauses (Inconclusive) at the third empty measurement, never passes", async () => {
  const clock = fakeClock();
  const run = new AnalysisRun({ name: "gate", metrics: [metric("a"), metric("b")], clock, measure: async () => ({ value: "[]", result: [] }) }).start();
  await clock.advance(6 * 60_000);
  assert.equal(run.phase, "Running");
  await clock.advance(60_000);
  assert.equal(run.phase, "Inconclusive");
});

test("AnalysisRun: all good for count measurements is Successful after initialDelay + (count-1) intervals", async () => {
  const clock = fakeClock();
  const run = new AnalysisRun({ name: "gate", metrics: [metric("a")], clock, measure: async () => ({ value: "[0]", result: [0] }) }).start();
  await clock.advance(8 * 60_000 + 1000);
  assert.equal(run.phase, "Running");
  await clock.advance(60_000);
  assert.equal(run.phase, "Successful");
  assert.equal(run.results.get("a").count, 5);
});

test("AnalysisRun: query errors retry every 10 s and error the run after consecutiveErrorLimit + 1", async () => {
  const clock = fakeClock();
  let calls = 0;
  const run = new AnalysisRun({
    name: "gate",
    metrics: [metric("a", { consecutiveErrorLimit: 3 })],
    clock,
    measure: async () => {
      calls++;
      throw new Error("connection refused");
    },
  }).start();
  await clock.advance(5 * 60_000 + 25_000);
  assert.equal(calls, 3, "at 5m, 5m10s, 5m20s");
  assert.equal(run.phase, "Running");
  await clock.advance(10_000);
  assert.equal(calls, 4);
  assert.equal(run.phase, "Error");
  assert.match(run.message, /consecutiveErrors \(4\) > consecutiveErrorLimit \(3\)/);
});

test("AnalysisRun: a Prometheus outage shorter than the error budget does not end the run", async () => {
  const clock = fakeClock();
  let failing = true;
  const run = new AnalysisRun({
    name: "gate",
    metrics: [metric("a")],
    clock,
    measure: async () => {
      if (failing) throw new Error("503");
      return { value: "[0]", result: [0] };
    },
  }).start();
  await clock.advance(5 * 60_000 + 100_000);
  assert.equal(run.results.get("a").consecutiveError, 11);
  failing = false;
  await clock.advance(10 * 60_000);
  assert.equal(run.phase, "Successful");
});

test("AnalysisRun: background (no count) runs until terminated, then Successful", async () => {
  const clock = fakeClock();
  const run = new AnalysisRun({ name: "bg", metrics: [metric("a", { count: undefined, failureLimit: 2 })], clock, measure: async () => ({ value: "[0]", result: [0] }) }).start();
  await clock.advance(60 * 60_000);
  assert.equal(run.phase, "Running");
  assert.equal(run.results.get("a").count, 56);
  run.terminate();
  assert.equal(run.phase, "Successful");
});

test("AnalysisRun: Failed is worse than Inconclusive when both complete together", async () => {
  const clock = fakeClock();
  const run = new AnalysisRun({
    name: "gate",
    metrics: [metric("a", { failureLimit: 0 }), metric("b", { inconclusiveLimit: 0 })],
    clock,
    measure: async (m) => (m.name === "a" ? { value: "[1]", result: [1] } : { value: "[]", result: [] }),
  }).start();
  await clock.advance(5 * 60_000);
  assert.equal(run.phase, "Failed");
});

test("dryRun: rules match names as unanchored regexps; a rule matching nothing is invalid", () => {
  const ms = [metric("traffic-share"), metric("traffic-share-any"), metric("errors")];
  assert.deepEqual([...dryRunMetrics([{ metricName: "^traffic-share$" }], ms)], ["traffic-share"]);
  assert.deepEqual([...dryRunMetrics([{ metricName: "traffic-share" }], ms)].sort(), ["traffic-share", "traffic-share-any"]);
  assert.deepEqual([...dryRunMetrics(undefined, ms)], []);
  assert.throws(() => dryRunMetrics([{ metricName: "^latency$" }], ms), /didn't match any metric/);
});

test("dryRun: a failing dry-run metric neither terminates nor decides the run", async () => {
  const clock = fakeClock();
  const values = { dry: [0.5], real: [0.001] };
  const run = new AnalysisRun({
    name: "r",
    metrics: [metric("dry", { interval: "1m", count: 3, failureLimit: 0 }), metric("real", { interval: "1m", count: 3, failureLimit: 0 })],
    dryRun: [{ metricName: "^dry$" }],
    measure: async (m) => ({ value: values[m.name][0], result: values[m.name] }),
    clock,
  }).start();
  await clock.advance(10 * 60_000);
  assert.equal(run.results.get("dry").phase, "Failed");
  assert.match(run.results.get("dry").message, /^Metric assessed Failed due to failed \(1\) > failureLimit \(0\)/);
  assert.equal(run.results.get("dry").measurements.length, 1, "a completed dry-run metric stops measuring");
  assert.equal(run.results.get("real").measurements.length, 3, "the run was not terminated");
  assert.equal(run.phase, "Successful");
  assert.deepEqual(run.dryRunSummary, { count: 1, successful: 0, failed: 1, inconclusive: 0, error: 0 });
});

test("dryRun: metrics flagged dryRun by buildRunMetrics count as dry-run; real failures still decide", async () => {
  const clock = fakeClock();
  const values = { dry: [0.5], real: [0.5] };
  const dry = metric("dry", { interval: "1m", count: null, failureLimit: 0 });
  dry.dryRun = true;
  const run = new AnalysisRun({ name: "r", metrics: [dry, metric("real", { interval: "1m", count: null, initialDelay: "2m", failureLimit: 0 })], measure: async (m) => ({ value: 0, result: values[m.name] }), clock }).start();
  await clock.advance(60_000);
  assert.equal(run.phase, "Running", "only the dry-run metric has failed");
  await clock.advance(2 * 60_000);
  assert.equal(run.phase, "Failed");
  assert.match(run.message, /metric "real" assessed Failed/);
});
