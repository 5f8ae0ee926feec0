// Keeps the Monte Carlo honest, cheaply: every metric of the Rollout's analyses has a
// twin, healthy rollouts are (almost) always promoted, gross failures always aborted.
// The full figures (10,000 healthy rollouts) come from `node tools/rehearsal/src/montecarlo.mjs`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPlan, runScenario, rng, ft, zs, gated } from "../src/montecarlo.mjs";

const P = loadPlan();

test("statistics: zero counts stay finite, the stable comparison is skipped when stable is idle", () => {
  assert.equal(ft(0, 0, 0.001), 0);
  assert.ok(Number.isFinite(zs(0, 1000, 0, 9000)), "continuity guard: no 0/0");
  assert.equal(gated(0, 0, 0, 0, 0.001, false), 0, "no canary traffic: 0, never NaN");
  assert.equal(gated(20, 1000, 0, 0, 0.001, false), ft(20, 1000, 0.001), "stable idle: absolute");
  assert.ok(gated(20, 1000, 200, 9000, 0.001, true) < 3.8, "as bad as stable: not a failure");
});

test("samplers: binomial and Poisson means", () => {
  const r = rng(7);
  let a = 0;
  let b = 0;
  for (let i = 0; i < 2000; i++) {
    a += r.binom(556, 0.1);
    b += r.poisson(3.3);
  }
  assert.ok(Math.abs(a / 2000 - 55.6) < 1, `binomial mean ${a / 2000}`);
  assert.ok(Math.abs(b / 2000 - 3.3) < 0.2, `Poisson mean ${b / 2000}`);
});

test("healthy: 300 rollouts, false aborts and pauses well under 3%", async () => {
  const res = await runScenario(P, "healthy", 300, 101);
  assert.ok(res.aborted + res.paused <= 9, JSON.stringify(res));
});

test("hang and error-budget: always caught; hang within 90 s and 250 failed requests", async () => {
  const hang = await runScenario(P, "hang", 40, 202);
  assert.equal(hang.aborted, 40, JSON.stringify(hang));
  assert.ok(hang.timeToVerdictS.max <= 90 && hang.failedRequests.max <= 250, JSON.stringify(hang));
  const eb = await runScenario(P, "error-budget", 40, 303);
  assert.ok(eb.aborted >= 38, JSON.stringify(eb));
  const shared = await runScenario(P, "shared-incident", 20, 404);
  assert.ok(shared.paused >= 19, JSON.stringify(shared));
});
