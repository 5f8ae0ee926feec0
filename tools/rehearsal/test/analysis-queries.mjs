// The analysis queries, end to end through the real PromQL engine: for every case of
// rules-tests/analysis/cases.yaml, synthetic istio and service series go into a
// `promtool test rules` file together with the rules of the rules ConfigMap, every metric
// of the Rollout's analyses (args substituted exactly as the controller does) becomes a
// promql_expr_test, and promtool's values are
//   1. judged by the metric's own conditions (controller.mjs) against the case's
//      expected phases, and
//   2. compared with the Monte Carlo's twin (src/montecarlo.mjs) on the same counts, so
//      the simulation computes what the PromQL computes.
// Used by check-rules.mjs; report(ok, name, detail) as there.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { loadManifests, rolloutPlan, buildRunMetrics, repoRoot, YAML } from "../src/manifests.mjs";
import { evaluateResult } from "../src/controller.mjs";
import { TWINS } from "../src/montecarlo.mjs";

const casesFile = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "rules-tests", "analysis", "cases.yaml");
const MINUTES = 20;
const EVAL = "15m";

function seriesOf(spec, args) {
  const out = [];
  const ns = args.namespace;
  const mesh = spec.mesh || {};
  for (const [side, byRep] of Object.entries(mesh)) {
    const svc = side === "stable" ? args["stable-service"] : args["canary-service"];
    const rev = side === "canary" ? args["canary-revision"] : side === "old" ? "sha-old" : "sha-stable";
    for (const [rep, byCode] of Object.entries(byRep))
      for (const [code, perMin] of Object.entries(byCode))
        out.push({
          series: `istio_requests_total{job="mesh",namespace="x",pod="p",reporter="${rep}",destination_service_namespace="${ns}",destination_service_name="${svc}",destination_canonical_revision="${rev}",destination_workload="auth-service",source_workload="client",response_code="${code}",response_flags="-",request_protocol="http"}`,
          values: `0+${perMin}x${MINUTES}`,
        });
  }
  for (const [side, s] of Object.entries(spec.service || {})) {
    const hash = side === "canary" ? args["canary-hash"] : args["stable-hash"];
    const l = `job="auth-service",namespace="${ns}",pod="auth-service-${hash}-a",rollouts_pod_template_hash="${hash}",version="v"`;
    for (const st of ["approved", "declined"]) {
      if (s[st] === undefined) continue;
      const slow = st === "approved" ? s.slow || 0 : 0;
      out.push({ series: `auth_requests_total{${l},processor="visa",status="${st}"}`, values: `0+${s[st]}x${MINUTES}` });
      out.push({ series: `auth_request_duration_seconds_count{${l},status="${st}"}`, values: `0+${s[st]}x${MINUTES}` });
      out.push({ series: `auth_request_duration_seconds_bucket{${l},status="${st}",le="0.3"}`, values: `0+${s[st] - slow}x${MINUTES}` });
    }
    if (s.breaker !== undefined) out.push({ series: `circuit_breaker_state{${l}}`, values: `${s.breaker}x${MINUTES}` });
  }
  return out;
}

// The twin's window sums for a window of `minutes`.
function sumsOf(spec, minutes) {
  const side = (name) => {
    const x = { req: { source: 0, waypoint: 0 }, valid: 0, failed: 0, answered: 0, slow: 0, approved: 0, open: false };
    for (const [rep, byCode] of Object.entries((spec.mesh || {})[name] || {}))
      for (const [code, perMin] of Object.entries(byCode)) {
        const n = perMin * minutes;
        x.req[rep] += n;
        if (!/^4..$/.test(code)) x.valid += n;
        if (/^(5..|0)$/.test(code)) x.failed += n;
      }
    const s = (spec.service || {})[name === "canary" ? "canary" : "stable"];
    if (s && name !== "old") {
      x.answered = ((s.approved || 0) + (s.declined || 0)) * minutes;
      x.approved = (s.approved || 0) * minutes;
      x.slow = (s.slow || 0) * minutes;
      x.open = (s.breaker || 0) > 0;
    }
    return x;
  };
  return { c: side("canary"), s: side("stable"), o: side("old") };
}

function parseGot(out) {
  const got = new Map();
  for (const line of out.split("\n")) {
    const m = /^\s*got:\s*(.*)$/.exec(line);
    if (!m) continue;
    for (const [, labels, value] of m[1].matchAll(/\{([^}]*)\}\s+([^,\s]+)/g)) {
      const q = /q="([^"]+)"/.exec(labels);
      if (!q) continue;
      if (!got.has(q[1])) got.set(q[1], []);
      got.get(q[1]).push(Number(value.replace(/^\+?Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity")));
    }
  }
  return got;
}

const close = (a, b) => (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

export function checkAnalysisQueries({ report, tmp, ruleFiles }) {
  const spec = YAML.parse(fs.readFileSync(casesFile, "utf8"));
  const m = loadManifests(path.join(repoRoot, "k8s"), { namespace: spec.args.namespace, rolloutName: "auth-service" });
  const plan = rolloutPlan(m.rollout);
  const ctx = { canaryHash: spec.args["canary-hash"], stableHash: spec.args["stable-hash"], namespace: spec.args.namespace, rolloutName: "auth-service", labels: { "service.istio.io/canonical-revision": spec.args["canary-revision"] } };
  const gateOf = (weight) => {
    const step = plan.steps.find((s) => s.kind === "analysis" && (s.analysis.args || []).some((a) => a.name === "weight" && Number(a.value) === weight));
    if (!step) throw new Error(`no analysis step with weight ${weight}`);
    return buildRunMetrics(step.analysis, m.templates, ctx, 1);
  };
  const background = buildRunMetrics(plan.background.analysis, m.templates, ctx, 1);
  spec.cases.forEach((c, ci) => {
    const runs = { gate: gateOf(c.weight), background };
    const tests = [];
    const ids = new Map();
    for (const [run, metrics] of Object.entries(runs))
      for (const x of metrics) {
        const id = `${run}/${x.name}`;
        ids.set(id, { run, metric: x });
        tests.push({ expr: `label_replace(${x.query}, "q", "${id}", "", "")`, eval_time: EVAL, exp_samples: [] });
      }
    const file = path.join(tmp, `analysis-case-${ci}.yaml`);
    fs.writeFileSync(file, YAML.stringify({ rule_files: ruleFiles, evaluation_interval: "1m", tests: [{ interval: "1m", input_series: seriesOf(c, spec.args), promql_expr_test: tests }] }));
    const r = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8", cwd: tmp });
    const out = r.stdout + r.stderr;
    if (/error|could not/i.test(out.replace(/got:.*|exp:.*|expr:.*/g, "")) && !/FAILED/.test(out)) return report(false, `analysis queries: ${c.name}: promtool`, out);
    const got = parseGot(out);
    const w10 = sumsOf(c, 10);
    const w1 = sumsOf(c, 1);
    const problems = [];
    for (const [id, { run, metric }] of ids) {
      const values = got.get(id) || [];
      const twin = TWINS[metric.name](["traffic-share", "traffic-flowing", "fast-fail", "breaker"].includes(metric.name) ? w1 : w10, { weight: c.weight }, w1);
      const a = [...values].sort((x, y) => x - y);
      const b = [...twin].sort((x, y) => x - y);
      if (a.length !== b.length || a.some((v, i) => !close(v, b[i]))) problems.push(`${id}: promtool ${JSON.stringify(a)} != twin ${JSON.stringify(b)}`);
      const want = c.expect && c.expect[run] && c.expect[run][metric.name];
      if (want) {
        const phase = evaluateResult(metric, values).phase;
        if (phase !== want) problems.push(`${id}: ${phase} (value ${JSON.stringify(values)}), expected ${want}`);
      }
    }
    report(!problems.length, `analysis queries (promtool = Monte Carlo twin, expected phases): ${c.name}`, problems.join("\n"));
  });
}
