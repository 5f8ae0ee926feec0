// Argument resolution as the controller does it (utils/analysis/factory.go), and the
// Rollout's analyses built from k8s/ with their args and dryRun rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { loadManifests, rolloutPlan, buildRunMetrics, resolveFieldRef, extractValueFromRollout, repoRoot } from "../src/manifests.mjs";

const rollout = {
  metadata: { name: "r", namespace: "ns", labels: { "service.istio.io/canonical-revision": "sha-0123456789ab" } },
  spec: { strategy: { canary: { canaryService: "svc-canary", steps: [{ setWeight: 10 }] } }, template: { spec: { containers: [{ env: [{ value: "1.2.3" }] }] } } },
};
const ctx = { namespace: "ns", rolloutName: "r", rollout };

test("fieldRef: metadata paths with Kubernetes field path syntax, dotted label keys included", () => {
  assert.equal(resolveFieldRef("metadata.namespace", ctx), "ns");
  assert.equal(resolveFieldRef("metadata.name", ctx), "r");
  assert.equal(resolveFieldRef("metadata.labels['service.istio.io/canonical-revision']", ctx), "sha-0123456789ab");
  assert.equal(resolveFieldRef("metadata.labels['service.istio.io/canonical-revision']", { ...ctx, labels: { "service.istio.io/canonical-revision": "sha-b" } }), "sha-b", "the rehearsed release's label wins");
  assert.throws(() => resolveFieldRef("metadata.labels['missing']", ctx), /no such label/);
});

test("fieldRef: other paths as extractValueFromRollout (split on . [ ]; primitives only)", () => {
  assert.equal(resolveFieldRef("spec.strategy.canary.canaryService", ctx), "svc-canary");
  assert.equal(extractValueFromRollout(rollout, "spec.strategy.canary.steps[0].setWeight"), "10");
  assert.equal(extractValueFromRollout(rollout, "spec.template.spec.containers.0.env.0.value"), "1.2.3");
  assert.throws(() => extractValueFromRollout(rollout, "spec.strategy.canary"), /primitive/);
  assert.throws(() => extractValueFromRollout(rollout, "spec.strategy.canary.steps.5"), /out of range/);
  assert.throws(() => extractValueFromRollout(rollout, "spec.template.metadata.labels.service.istio.io/canonical-revision"), /invalid path/, "a dotted key cannot be read this way: hence metadata.labels['…']");
});

test("k8s/: every analysis resolves its args; traffic-share is dry-run in production; weights are the steps'", () => {
  const m = loadManifests(path.join(repoRoot, "k8s"), { namespace: "paystream", rolloutName: "auth-service" });
  const plan = rolloutPlan(m.rollout);
  const argCtx = { canaryHash: "chash", stableHash: "shash", namespace: "paystream", rolloutName: "auth-service", labels: { "service.istio.io/canonical-revision": "sha-0123456789ab" } };
  let weight = null;
  for (const s of plan.steps) {
    if (s.kind === "setWeight") weight = s.weight;
    if (s.kind !== "analysis") continue;
    const metrics = buildRunMetrics(s.analysis, m.templates, argCtx, 1);
    const share = metrics.find((x) => x.name === "traffic-share");
    assert.ok(share && share.dryRun, `step ${s.i}: traffic-share dry-run`);
    assert.ok(new RegExp(`\\*\\s*${weight}\\s*/\\s*100`).test(share.query), `step ${s.i}: the weight argument is the step's setWeight ${weight}`);
    for (const x of metrics) {
      assert.ok(!/\{\{/.test(x.query), `${x.name}: every argument substituted`);
      if (x.name !== "traffic-share") assert.ok(!x.dryRun, `${x.name} decides`);
    }
    assert.ok(metrics.find((x) => x.name === "errors").query.includes('revision="sha-0123456789ab"'));
    assert.ok(metrics.find((x) => x.name === "errors").query.includes('service="auth-service-canary"'));
  }
  const bg = buildRunMetrics(plan.background.analysis, m.templates, argCtx, 20);
  const ff = bg.find((x) => x.name === "fast-fail");
  assert.equal(ff.intervalMs, 1000, "20 s at time scale 20");
  assert.equal(ff.failureLimit, 0);
});
