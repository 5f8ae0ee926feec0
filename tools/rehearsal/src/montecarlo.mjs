#!/usr/bin/env node
// Monte Carlo of the canary analysis: simulated rollouts, the Rollout's steps and the
// AnalysisTemplates read from k8s/, every measurement decided by the rehearsal's own
// controller (controller.mjs: conditions, limits, schedules, dry-run) on an injected
// clock. Only Prometheus is replaced: each metric's value is computed from simulated
// counts with the formulas its PromQL uses (TWINS below; test/check-rules.mjs checks
// them against promtool's evaluation of the real queries).
//
//   node tools/rehearsal/src/montecarlo.mjs [--runs N] [--scenario NAME[,NAME…]] [--seed S] [--rate R] [--no-dry-run] [--json FILE]
//
// Default: 10,000 healthy rollouts and 1,000 of every other scenario (~2 minutes).
// --no-dry-run: the dry-run metrics decide too (staging). --rate: production-equivalent
// req/s (thin traffic: less).
//
// Traffic: production average 27.8 req/s (--rate), 70% north-south (reporter "source"),
// 30% east-west ("waypoint"), Poisson arrivals in 20 s bins, each request routed to the
// canary with probability = the current weight (Envoy picks per request). Per version:
// failed ~ Binomial(requests, error rate), answered = the rest, slow (> 0.3 s) ~
// Binomial(answered, slow rate), approved ~ Binomial(answered, approval rate).
// Baseline of both versions, from the processor they share (SIM_BASELINE in processor.mjs,
// the simulator's flags): 0.05% errors, 0.5% slow, 94% approvals. A scenario's fault acts
// on the canary's own calls, except shared-incident: the shared processor fails, so both
// versions get one behaviour.
// Not modelled: Prometheus' increase() extrapolation and scrape/rule-evaluation delays
// (windows are exact sums of the bins they cover), 4xx (excluded from every count).
import { AnalysisRun, isCompleted, evaluateResult } from "./controller.mjs";
import { loadManifests, rolloutPlan, buildRunMetrics, repoRoot } from "./manifests.mjs";
import { fakeClock } from "./fake-clock.mjs";
import path from "node:path";
import fs from "node:fs";

export const BIN_S = 20;
export const BASE = { err: 0.0005, slow: 0.005, approve: 0.94 };
const REPORTERS = [
  ["source", 0.7],
  ["waypoint", 0.3],
];

// ---- random numbers (seeded, so that figures are reproducible) ----
export function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = null;
  const gauss = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    let u, v, q;
    do {
      u = 2 * next() - 1;
      v = 2 * next() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    spare = v * f;
    return u * f;
  };
  // Exact by inversion while the mean is below 30, normal approximation above.
  const poisson = (lambda) => {
    if (lambda <= 0) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss()));
    let k = 0;
    let p = Math.exp(-lambda);
    let c = p;
    const u = next();
    while (u > c && k < 1000) {
      k++;
      p *= lambda / k;
      c += p;
    }
    return k;
  };
  const binom = (n, p) => {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - binom(n, 1 - p);
    const mean = n * p;
    if (mean >= 30) return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * gauss())));
    const q = 1 - p;
    let k = 0;
    let pk = Math.pow(q, n);
    let c = pk;
    const u = next();
    while (u > c && k < n) {
      pk *= ((n - k) / (k + 1)) * (p / q);
      k++;
      c += pk;
    }
    return k;
  };
  return { next, gauss, poisson, binom };
}

// ---- the statistics, exactly as the PromQL of 50-analysis-templates.yaml computes them ----
export const ft = (x, n, p0) => Math.sqrt(x) + Math.sqrt(x + 1) - Math.sqrt(4 * p0 * n + 1);
export const zs = (x1, n1, x2, n2) => (x1 - 0.5 - ((x1 + x2) * n1) / (n1 + n2)) / Math.sqrt(Math.max(((x1 + x2) * n1 * n2) / (n1 + n2) ** 2, 0.25));
// stableNow: stable served >= 20 requests (mesh, 4xx excluded) in the last minute.
export function gated(x1, n1, x2, n2, p0, stableNow) {
  if (!(n1 > 0)) return 0;
  const stable = stableNow ? zs(x1, n1, x2, n2) : Infinity;
  return Math.min(ft(x1, n1, p0), stable);
}
export function approvalZ(ac, dc, as, ds) {
  if (!(dc >= 100 && ds >= 100)) return 0;
  const p = (ac + as + 1) / (dc + ds + 2);
  return (as / ds - ac / dc) / Math.sqrt(p * (1 - p) * (1 / dc + 1 / ds));
}
// w: the metric's window sums {c: {...}, s: {...}} (see windowSums; w.o.req: requests to
// the canary Service from other releases, absent here), w1: the last minute's; a.weight
// in percent. Counts: req[reporter] every request, valid = 4xx excluded, failed = 5xx|0,
// answered / slow / approved from the service, open = a breaker not closed.
const other = (w, r) => (w.o ? w.o.req[r] : 0);
export const TWINS = {
  "traffic-share": (w, a) => {
    const p = a.weight / 100;
    const out = [];
    for (const [r] of REPORTERS) {
      const n = w.c.req[r] + w.s.req[r] + other(w, r);
      if (!(n >= 20)) continue;
      out.push((w.c.req[r] - n * p) / Math.sqrt(Math.max(n * p * (1 - p), 1)));
    }
    return out;
  },
  "traffic-present": (w) => (w.c.valid > 0 ? [w.c.valid] : []),
  errors: (w, a, w1) => [gated(w.c.failed, w.c.valid, w.s.failed, w.s.valid, 0.001, w1.s.valid >= 20)],
  latency: (w, a, w1) => [gated(w.c.slow, w.c.answered, w.s.slow, w.s.answered, 0.01, w1.s.valid >= 20)],
  approval: (w) => [approvalZ(w.c.approved, w.c.answered, w.s.approved, w.s.answered)],
  breaker: (w) => [w.c.open && !w.s.open ? 1 : 0],
  "shared-incident": (w, a, w1) => {
    const v = [];
    const now = w1.s.valid >= 20;
    if (now && zs(w.c.failed, w.c.valid, w.s.failed, w.s.valid) < 3.8) v.push(ft(w.c.failed, w.c.valid, 0.001));
    if (now && zs(w.c.slow, w.c.answered, w.s.slow, w.s.answered) < 3.8) v.push(ft(w.c.slow, w.c.answered, 0.01));
    if (w.c.open && w.s.open) v.push(100);
    return [v.length ? Math.max(...v) : 0];
  },
  "traffic-flowing": (w) => {
    const out = [];
    for (const [r] of REPORTERS) {
      const n = w.c.req[r] + w.s.req[r] + other(w, r);
      if (n >= 150) out.push(w.c.req[r] / n);
    }
    return out;
  },
  "fast-fail": (w) => {
    const rc = w.c.failed / w.c.valid;
    const rs = w.s.valid > 0 ? w.s.failed / w.s.valid : 0;
    const vsStable = zs(w.c.failed, w.c.valid, w.s.failed, w.s.valid) >= 3.8 || w.s.valid < 20;
    return [w.c.failed >= 5 && rc >= 0.05 && vsStable ? rc - rs : 0];
  },
};
// Window of each metric's query (the 10m counts, except the 1m ones).
const WINDOW_S = { "traffic-share": 60, "traffic-flowing": 60, "fast-fail": 60, breaker: 60 };

// ---- scenarios: the canary's (and stable's) behaviour as a function of time ----
// f(t, ctx) -> {err, slow, approve, hang, open} for "c" and "s"; t in seconds since the
// rollout started; ctx.t100 is when the weight reached 100 (null before).
const healthy = () => ({ ...BASE });
// A processor incident: the one processor both versions call fails for every caller.
const processorIncident = (t) => (t >= 180 ? { ...BASE, err: 0.3, open: true } : { ...BASE });
export const SCENARIOS = {
  healthy: { expect: "promoted", c: healthy, s: healthy },
  "error-budget": { expect: "aborted", c: () => ({ ...BASE, err: 0.005 }), s: healthy },
  "slow-tail": { expect: "aborted", c: () => ({ ...BASE, slow: 0.035 }), s: healthy },
  declines: { expect: "aborted", c: () => ({ ...BASE, approve: 0.84 }), s: healthy },
  errors: { expect: "aborted", c: () => ({ ...BASE, err: 0.05 }), s: healthy },
  hang: { expect: "aborted", c: (t) => (t >= 5 ? { ...BASE, hang: true } : { ...BASE }), s: healthy },
  unrouted: { expect: "aborted", c: healthy, s: healthy, unrouted: true },
  "thin-traffic": { expect: "aborted", rate: 0.3, c: (t) => (t >= 5 ? { ...BASE, hang: true } : { ...BASE }), s: healthy },
  "shared-incident": { expect: "paused", c: processorIncident, s: processorIncident },
  late: { expect: "aborted", c: (t, ctx) => (ctx.t100 !== null && t >= ctx.t100 ? { ...BASE, err: 0.005 } : { ...BASE }), s: healthy },
  "no-traffic": { expect: "paused", rate: 0, c: healthy, s: healthy },
};

// ---- one simulated rollout ----
// noDryRun: every metric decides, as in staging where the overlay removes the dryRun rules.
export function loadPlan(k8sDir = path.join(repoRoot, "k8s"), { noDryRun = false } = {}) {
  const m = loadManifests(k8sDir, { namespace: "paystream", rolloutName: "auth-service" });
  const plan = rolloutPlan(m.rollout);
  const ctx = { canaryHash: "canary", stableHash: "stable", namespace: "paystream", rolloutName: "auth-service" };
  const build = (analysis) => {
    const metrics = buildRunMetrics(analysis, m.templates, ctx, 1);
    for (const x of metrics) if (!TWINS[x.name]) throw new Error(`metric ${x.name} (${x.template}) has no Monte Carlo twin`);
    if (noDryRun) for (const x of metrics) x.dryRun = false;
    const weightArg = (analysis.args || []).find((a) => a.name === "weight");
    return { metrics, args: { weight: weightArg ? Number(weightArg.value) : null } };
  };
  return {
    plan,
    steps: plan.steps.map((s) => (s.kind === "analysis" ? { ...s, run: build(s.analysis) } : s)),
    background: plan.background ? { startingStep: plan.background.startingStep, run: build(plan.background.analysis) } : null,
  };
}

export async function simulate(P, scenario, r, { rate = 27.8 } = {}) {
  const clock = fakeClock();
  const scn = typeof scenario === "string" ? SCENARIOS[scenario] : scenario;
  const rateEff = rate * (scn.rate === undefined ? 1 : scn.rate);
  const bins = []; // per bin: {c: counts, s: counts}
  const weights = [[0, 0]]; // [t_ms, weight]
  const ctx = { t100: null };
  let faultAt = null; // first client-visible failure beyond baseline (first bin with a scenario fault)
  const weightAt = (tMs) => {
    let w = 0;
    for (const [t, x] of weights) if (t <= tMs) w = x;
    return w;
  };
  const zero = () => ({ req: { source: 0, waypoint: 0 }, valid: 0, failed: 0, answered: 0, slow: 0, approved: 0, open: false, faultFailed: 0 });
  const genBin = (i) => {
    const t0 = i * BIN_S;
    const w = weightAt(t0 * 1000) / 100;
    const b = { c: zero(), s: zero() };
    const beh = { c: scn.c(t0, ctx), s: scn.s(t0, ctx) };
    for (const [rep, frac] of REPORTERS) {
      const n = r.poisson(rateEff * frac * BIN_S);
      const nc = scn.unrouted ? 0 : r.binom(n, w);
      b.c.req[rep] = nc;
      b.s.req[rep] = n - nc;
    }
    for (const side of ["c", "s"]) {
      const x = b[side];
      const be = beh[side];
      const n = x.req.source + x.req.waypoint;
      x.valid = n;
      if (be.hang) {
        x.failed = n;
        x.answered = 0;
      } else {
        x.failed = r.binom(n, be.err);
        x.answered = n - x.failed;
        x.slow = r.binom(x.answered, be.slow);
        x.approved = r.binom(x.answered, be.approve);
      }
      x.open = !!be.open && n > 0;
      const faulty = be.hang || be.err > BASE.err || be.slow > BASE.slow || be.approve < BASE.approve;
      if (side === "c" && faulty) {
        x.faultFailed = x.failed;
        if (faultAt === null && n > 0) faultAt = t0;
      }
    }
    bins.push(b);
  };
  // Bins are generated when time has passed them (weights known by then).
  const upTo = (tMs) => {
    while ((bins.length + 1) * BIN_S * 1000 <= tMs) genBin(bins.length);
  };
  const windowSums = (tMs, windowS) => {
    upTo(tMs);
    const last = Math.floor(tMs / 1000 / BIN_S); // bins [last - windowS/BIN_S, last)
    const first = Math.max(0, last - Math.round(windowS / BIN_S));
    const w = { c: zero(), s: zero() };
    for (let i = first; i < last; i++)
      for (const side of ["c", "s"]) {
        const a = w[side];
        const b = bins[i][side];
        a.req.source += b.req.source;
        a.req.waypoint += b.req.waypoint;
        for (const k of ["valid", "failed", "answered", "slow", "approved"]) a[k] += b[k];
        a.open = a.open || b.open;
      }
    return w;
  };
  const measureFor = (args) => async (m) => {
    const w = windowSums(clock.now(), WINDOW_S[m.name] || 600);
    const result = TWINS[m.name](w, args, windowSums(clock.now(), 60));
    return { value: JSON.stringify(result), result };
  };
  const newRun = (name, spec) => new AnalysisRun({ name, metrics: spec.metrics, measure: measureFor(spec.args), clock }).start();

  let verdict = null;
  let by = null;
  let bg = null;
  const bgBad = () => bg && isCompleted(bg.phase) && bg.phase !== "Successful";
  const LIMIT = 4 * 3600 * 1000;
  for (const s of P.steps) {
    if (P.background && s.i === P.background.startingStep && !bg) bg = newRun("background", P.background.run);
    if (s.kind === "setWeight") {
      weights.push([clock.now(), s.weight]);
      if (s.weight === 100 && ctx.t100 === null) ctx.t100 = Math.ceil(clock.now() / 1000 / BIN_S) * BIN_S;
    } else if (s.kind === "pause") {
      const end = clock.now() + (s.durationMs === null ? LIMIT : s.durationMs);
      await clock.runUntil(bgBad, end);
    } else if (s.kind === "analysis") {
      const run = newRun(`step-${s.i}`, s.run);
      await clock.runUntil(() => isCompleted(run.phase) || bgBad(), LIMIT);
      if (!bgBad() && run.phase !== "Successful") {
        verdict = run.phase === "Inconclusive" ? "paused" : isCompleted(run.phase) ? "aborted" : "paused";
        by = { run: run.name, message: run.message };
      }
    }
    if (!verdict && bgBad()) {
      verdict = bg.phase === "Inconclusive" ? "paused" : "aborted";
      by = { run: "background", message: bg.message };
    }
    if (verdict) break;
  }
  if (!verdict) verdict = "promoted";
  if (bg) bg.halt();
  const tEnd = clock.now() / 1000;
  upTo(clock.now());
  let failedBefore = 0;
  for (const b of bins.slice(0, Math.floor(tEnd / BIN_S))) failedBefore += b.c.faultFailed;
  return { verdict, by, t: tEnd, faultAt, timeToVerdict: faultAt === null ? null : tEnd - faultAt, failedBefore };
}

const quant = (xs, q) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

export async function runScenario(P, name, runs, seed, opts = {}) {
  const r = rng(seed);
  const counts = { promoted: 0, aborted: 0, paused: 0 };
  const by = {};
  const ttv = [];
  const failed = [];
  for (let i = 0; i < runs; i++) {
    const res = await simulate(P, name, r, opts);
    counts[res.verdict]++;
    if (res.by) {
      const k = `${res.by.run}: ${(/metric "([^"]+)"/.exec(res.by.message) || [])[1] || res.by.message}`;
      by[k] = (by[k] || 0) + 1;
    }
    if (res.verdict !== "promoted" && res.timeToVerdict !== null) ttv.push(res.timeToVerdict);
    if (res.verdict !== "promoted") failed.push(res.failedBefore);
  }
  return {
    scenario: name,
    expect: SCENARIOS[name].expect,
    runs,
    ...counts,
    rate: { promoted: counts.promoted / runs, aborted: counts.aborted / runs, paused: counts.paused / runs },
    decidedBy: by,
    timeToVerdictS: { p50: quant(ttv, 0.5), p95: quant(ttv, 0.95), max: ttv.length ? Math.max(...ttv) : null },
    failedRequests: { p50: quant(failed, 0.5), p95: quant(failed, 0.95), max: failed.length ? Math.max(...failed) : null },
  };
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = { runs: null, scenarios: null, seed: 12, json: null, rate: 27.8, noDryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--runs") opt.runs = Number(argv[++i]);
    else if (a === "--scenario") opt.scenarios = argv[++i].split(",");
    else if (a === "--seed") opt.seed = Number(argv[++i]);
    else if (a === "--json") opt.json = argv[++i];
    else if (a === "--rate") opt.rate = Number(argv[++i]);
    else if (a === "--no-dry-run") opt.noDryRun = true;
    else {
      process.stderr.write("usage: montecarlo.mjs [--runs N] [--scenario NAME[,NAME...]] [--seed S] [--rate R] [--no-dry-run] [--json FILE]\n");
      process.exit(2);
    }
  }
  const P = loadPlan(undefined, { noDryRun: opt.noDryRun });
  const names = opt.scenarios || Object.keys(SCENARIOS);
  const out = [];
  for (const [k, name] of names.entries()) {
    if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}`);
    const runs = opt.runs || (name === "healthy" ? 10000 : 1000);
    const t0 = Date.now();
    const res = await runScenario(P, name, runs, opt.seed + k, { rate: opt.rate });
    res.seconds = (Date.now() - t0) / 1000;
    out.push(res);
    const pct = (x) => `${(100 * x).toFixed(2)}%`;
    process.stdout.write(
      `${name.padEnd(16)} runs ${String(runs).padStart(6)}  promoted ${pct(res.rate.promoted).padStart(7)}  aborted ${pct(res.rate.aborted).padStart(7)}  paused ${pct(res.rate.paused).padStart(7)}` +
        `  (expected ${res.expect})  time to verdict p50/p95/max ${res.timeToVerdictS.p50 ?? "-"}/${res.timeToVerdictS.p95 ?? "-"}/${res.timeToVerdictS.max ?? "-"} s` +
        `  failed requests p50/p95/max ${res.failedRequests.p50 ?? "-"}/${res.failedRequests.p95 ?? "-"}/${res.failedRequests.max ?? "-"}\n` +
        `${"".padEnd(16)} decided by ${JSON.stringify(res.decidedBy)}\n`,
    );
  }
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(out, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) main().catch((e) => {
  process.stderr.write(`montecarlo: ${e.stack || e}\n`);
  process.exit(1);
});

export { evaluateResult };
