// The Argo Rollouts analysis controller's rules, as in its analysis/analysis.go and
// utils/evaluate (v1.7 – v1.9):
//
// * a measurement is Successful / Failed / Inconclusive from successCondition and
//   failureCondition (failure wins; neither true: Inconclusive; only a
//   successCondition: not successful means Failed; only a failureCondition: not failed
//   means Successful; an evaluation error: Error);
// * the first measurement is taken initialDelay after the run starts, the next ones
//   interval after the previous one finished; after an Error, 10 s later whatever the
//   interval (DefaultErrorRetryInterval); count measurements in all (Error ones do not
//   count), no count and an interval: until the run is terminated;
// * a metric is Failed when failed > failureLimit, Inconclusive when inconclusive >
//   inconclusiveLimit, Error when consecutive errors > consecutiveErrorLimit (default
//   4); when several hold, the later check wins (Error over Inconclusive over Failed);
//   Successful when count is reached;
// * as soon as one metric is Failed, Inconclusive or Error the run is terminating: no
//   new measurement starts, metrics still running count as Successful, and the run
//   takes the worst phase (Successful < Inconclusive < Error < Failed);
// * dry-run metrics (the run's dryRun rules: metric names matched by an unanchored
//   regular expression, as regexp.MatchString; a rule that matches no metric is an
//   invalid spec) are measured and assessed like the others, but never terminate the
//   run and never count towards its phase: a run whose only completed metrics are
//   dry-run ones is Successful; a completed dry-run metric stops measuring and its
//   phase is kept in the run's dry-run summary (analysis/analysis.go assessRunStatus,
//   utils/analysis/helpers.go IsTerminating and GetDryRunMetrics, v1.8.2 – v1.9).
//
// Time is injected (now() and a timer), so the same code runs against the real clock in
// the rehearsal and a fake one in the unit tests.
import { compile, evaluate, ExprRuntimeError } from "./expr.mjs";
import { parseDuration } from "./durations.mjs";

export const DEFAULT_ERROR_RETRY_MS = 10_000;
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
const ORDER = ["Pending", "Running", "Successful", "Inconclusive", "Error", "Failed"];
export const isCompleted = (phase) => ["Successful", "Failed", "Error", "Inconclusive"].includes(phase);
export const isWorse = (current, candidate) => ORDER.indexOf(candidate) > ORDER.indexOf(current);

// Compiles both conditions of a metric (throws ExprSyntaxError for anything outside the
// supported subset) and parses its durations.
export function prepareMetric(metric, { scale = 1 } = {}) {
  const intOr = (v, d) => (v === undefined || v === null ? d : Number(v));
  const m = {
    name: metric.name,
    raw: metric,
    successCondition: metric.successCondition || "",
    failureCondition: metric.failureCondition || "",
    successAst: metric.successCondition ? compile(String(metric.successCondition)) : null,
    failureAst: metric.failureCondition ? compile(String(metric.failureCondition)) : null,
    initialDelayMs: metric.initialDelay ? parseDuration(metric.initialDelay) / scale : 0,
    intervalMs: metric.interval ? parseDuration(metric.interval) / scale : null,
    count: metric.count === undefined || metric.count === null || Number(metric.count) === 0 ? null : Number(metric.count),
    failureLimit: intOr(metric.failureLimit, 0),
    inconclusiveLimit: intOr(metric.inconclusiveLimit, 0),
    consecutiveErrorLimit: intOr(metric.consecutiveErrorLimit, DEFAULT_CONSECUTIVE_ERROR_LIMIT),
  };
  for (const k of ["failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"])
    if (!Number.isInteger(m[k]) || m[k] < 0) throw new Error(`metric ${metric.name}: ${k} must be a non-negative integer (found ${metric[k]})`);
  return m;
}

// Argo's EffectiveCount: no count and no interval means a single measurement.
export function effectiveCount(m) {
  if (m.count !== null) return m.count;
  return m.intervalMs === null ? 1 : null;
}

// Argo's EvaluateResult.
export function evaluateResult(m, result) {
  let success = false;
  let failure = false;
  try {
    if (m.successAst) success = evaluate(m.successAst, result);
    if (m.failureAst) failure = evaluate(m.failureAst, result);
  } catch (e) {
    if (e instanceof ExprRuntimeError) return { phase: "Error", message: e.message };
    throw e;
  }
  if (!m.successAst && !m.failureAst) return { phase: "Successful" };
  if (m.successAst && !m.failureAst) failure = !success;
  if (!m.successAst && m.failureAst) success = !failure;
  if (failure) return { phase: "Failed" };
  if (!success) return { phase: "Inconclusive" };
  return { phase: "Successful" };
}

export function newMetricResult(name) {
  return { name, phase: "Running", measurements: [], count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveError: 0, message: "" };
}

// Accounts one completed measurement (runMeasurements).
export function recordMeasurement(res, meas) {
  res.measurements.push(meas);
  switch (meas.phase) {
    case "Successful":
      res.successful++;
      res.count++;
      res.consecutiveError = 0;
      break;
    case "Failed":
      res.failed++;
      res.count++;
      res.consecutiveError = 0;
      break;
    case "Inconclusive":
      res.inconclusive++;
      res.count++;
      res.consecutiveError = 0;
      break;
    case "Error":
      res.error++;
      res.consecutiveError++;
      break;
    default:
      throw new Error(`internal: measurement phase ${meas.phase}`);
  }
}

// assessMetricFailureInconclusiveOrError: the later check wins.
export function limitPhase(m, res) {
  let phase = "";
  let message = "";
  if (res.failed > m.failureLimit) {
    phase = "Failed";
    message = `failed (${res.failed}) > failureLimit (${m.failureLimit})`;
  }
  if (res.inconclusive > m.inconclusiveLimit) {
    phase = "Inconclusive";
    message = `inconclusive (${res.inconclusive}) > inconclusiveLimit (${m.inconclusiveLimit})`;
  }
  if (res.consecutiveError > m.consecutiveErrorLimit) {
    phase = "Error";
    message = `consecutiveErrors (${res.consecutiveError}) > consecutiveErrorLimit (${m.consecutiveErrorLimit})`;
  }
  return { phase, message };
}

// assessMetricStatus.
export function assessMetric(m, res, terminating) {
  if (isCompleted(res.phase)) return { phase: res.phase, message: res.message };
  if (res.measurements.length === 0) return { phase: terminating ? "Successful" : "Pending", message: terminating ? "run terminated" : "" };
  const l = limitPhase(m, res);
  if (l.phase) return l;
  const c = effectiveCount(m);
  if (c !== null && res.count >= c) return { phase: "Successful", message: `count (${c}) reached` };
  if (terminating) return { phase: "Successful", message: "run terminated" };
  return { phase: "Running", message: "" };
}

// When the metric's next measurement is due (ms since epoch of the injected clock), or
// null when it takes no more (generateMetricTasks / calculateNextReconcileTime).
export function nextDue(m, res, startedAt, errorRetryMs) {
  if (isCompleted(res.phase)) return null;
  const last = res.measurements[res.measurements.length - 1];
  if (!last) return startedAt + m.initialDelayMs;
  const c = effectiveCount(m);
  if (c !== null && res.count >= c) return null;
  const interval = last.phase === "Error" ? errorRetryMs : m.intervalMs === null ? errorRetryMs : m.intervalMs;
  return last.finishedAt + interval;
}

// Argo's GetDryRunMetrics: the names of the metrics matched by the dryRun rules.
export function dryRunMetrics(rules, metrics) {
  const out = new Set();
  (rules || []).forEach((r, i) => {
    const re = new RegExp(String(r.metricName));
    const hit = metrics.filter((m) => re.test(m.name));
    if (!hit.length) throw new Error(`dryRun[${i}]: Rule didn't match any metric name(s)`);
    for (const m of hit) out.add(m.name);
  });
  return out;
}

// One AnalysisRun: its metrics (args already substituted), a measure(metric) function
// returning {value, result} or throwing (an Error measurement), a clock, and a
// listener called for every measurement and phase change.
export class AnalysisRun {
  constructor({ name, metrics, measure, clock, dryRun = [], errorRetryMs = DEFAULT_ERROR_RETRY_MS, onMeasurement = () => {}, onPhase = () => {} }) {
    this.name = name;
    this.metrics = metrics;
    // The run's dryRun rules, plus metrics marked by buildRunMetrics (manifests.mjs) from
    // the Rollout's analysis.dryRun.
    this.dryRun = new Set([...dryRunMetrics(dryRun, metrics), ...metrics.filter((m) => m.dryRun).map((m) => m.name)]);
    this.dryRunSummary = { count: this.dryRun.size, successful: 0, failed: 0, inconclusive: 0, error: 0 };
    this.measure = measure;
    this.clock = clock;
    this.errorRetryMs = errorRetryMs;
    this.onMeasurement = onMeasurement;
    this.onPhase = onPhase;
    this.results = new Map(metrics.map((m) => [m.name, newMetricResult(m.name)]));
    this.phase = "Running";
    this.message = "";
    this.terminateRequested = false;
    this.startedAt = null;
    this.timer = null;
    this.busy = false;
    this.done = new Promise((resolve) => (this._resolve = resolve));
  }

  start() {
    this.startedAt = this.clock.now();
    this.schedule();
    return this;
  }

  terminating() {
    return this.terminateRequested || [...this.results.values()].some((r) => !this.dryRun.has(r.name) && ["Failed", "Error", "Inconclusive"].includes(r.phase));
  }

  // The controller terminates a background run when the rollout completes or aborts.
  terminate() {
    if (isCompleted(this.phase)) return;
    this.terminateRequested = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (!this.busy) this.assess();
  }

  // Stops taking measurements without deciding anything (the rehearsal ends while the
  // controller would keep the run going).
  halt() {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.halted = true;
  }

  schedule() {
    if (this.halted) return;
    if (isCompleted(this.phase)) return;
    let due = null;
    if (!this.terminating())
      for (const m of this.metrics) {
        const d = nextDue(m, this.results.get(m.name), this.startedAt, this.errorRetryMs);
        if (d !== null && (due === null || d < due)) due = d;
      }
    if (due === null) return;
    this.timer = this.clock.setTimeout(() => this.reconcile(), Math.max(0, due - this.clock.now()));
  }

  async reconcile() {
    this.timer = null;
    if (isCompleted(this.phase)) return;
    this.busy = true;
    const now = this.clock.now();
    const due = this.terminating()
      ? []
      : this.metrics.filter((m) => {
          const d = nextDue(m, this.results.get(m.name), this.startedAt, this.errorRetryMs);
          return d !== null && d <= now + 1;
        });
    await Promise.all(due.map((m) => this.measureOne(m)));
    this.busy = false;
    this.assess();
    this.schedule();
  }

  async measureOne(m) {
    const startedAt = this.clock.now();
    let meas;
    try {
      const { value, result } = await this.measure(m);
      const ev = evaluateResult(m, result);
      meas = { startedAt, finishedAt: this.clock.now(), value, result, phase: ev.phase, message: ev.message || "" };
    } catch (e) {
      meas = { startedAt, finishedAt: this.clock.now(), value: "", result: null, phase: "Error", message: String(e.message || e) };
    }
    const res = this.results.get(m.name);
    recordMeasurement(res, meas);
    this.onMeasurement(this, m, meas, res);
  }

  // asssessRunStatus, applied until it is stable (the controller re-reconciles a run
  // whose metric just completed Failed / Error / Inconclusive, and then finishes it).
  assess() {
    for (let pass = 0; pass < 2; pass++) {
      const terminating = this.terminating();
      let worst = "";
      let worstMessage = "";
      let everything = true;
      const dry = { count: this.dryRun.size, successful: 0, failed: 0, inconclusive: 0, error: 0 };
      for (const m of this.metrics) {
        const res = this.results.get(m.name);
        const st = assessMetric(m, res, terminating);
        if (st.phase !== res.phase) {
          res.phase = st.phase;
          res.message = this.dryRun.has(m.name) && st.message ? `Metric assessed ${st.phase} due to ${st.message}` : st.message;
        }
        if (!isCompleted(st.phase)) everything = false;
        else if (this.dryRun.has(m.name)) {
          // Dry-run: never the run's phase; Successful when nothing else has completed.
          if (!worst) worst = "Successful";
          dry[st.phase.toLowerCase()]++;
        } else if (!worst || isWorse(worst, st.phase)) {
          worst = st.phase;
          worstMessage = st.message ? `metric "${m.name}" assessed ${st.phase} due to ${st.message}` : "";
        }
      }
      this.dryRunSummary = dry;
      let phase;
      if (terminating) phase = worst || "Successful";
      else if (!everything || !worst) phase = "Running";
      else phase = worst;
      if (phase !== this.phase && isCompleted(phase)) {
        this.phase = phase;
        this.message = worstMessage || (this.terminateRequested ? "run terminated" : "");
        if (this.timer) this.clock.clearTimeout(this.timer);
        this.timer = null;
        this.onPhase(this);
        this._resolve(this);
        return;
      }
    }
  }
}

export const realClock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t),
};
