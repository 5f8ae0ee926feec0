#!/usr/bin/env node
// tools/canary-rehearsal: a canary rollout of the authorization service without a
// cluster, decided by the AnalysisTemplates of k8s/ against a real Prometheus scraping
// real service processes. See tools/rehearsal/README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { loadManifests, rolloutPlan, buildRunMetrics, dashboardQueries, substituteGrafana, repoRoot } from "./manifests.mjs";
import { AnalysisRun, realClock, DEFAULT_ERROR_RETRY_MS } from "./controller.mjs";
import { thresholds as conditionThresholds } from "./expr.mjs";
import { formatPromDuration, formatShort } from "./durations.mjs";
import { prepareConfig, Prometheus, podTargets, providerResult } from "./prometheus.mjs";
import { startProcess, waitForLine, stopProcess, stopAll, httpJson, sleep } from "./procs.mjs";
import { gnuplotAvailable, plotTimeline } from "./plot.mjs";

const EXIT = { promoted: 0, aborted: 10, paused: 11, error: 1 };
const PRODUCTION_RPS = 2_400_000 / 86_400; // 2.4M authorizations a day, on average

const SCENARIOS = {
  healthy: { fault: null, traffic: "normal", expect: "promoted", what: "a good release" },
  latency: { fault: { enabled: true, latency_ms: 350, jitter_ms: 50 }, traffic: "normal", expect: "aborted", what: "processor latency 350 +/- 50 ms on the canary" },
  errors: { fault: { enabled: true, error_rate: 0.05 }, traffic: "normal", expect: "aborted", what: "5% processor errors on the canary" },
  declines: { fault: { enabled: true, success_rate: 0.5 }, traffic: "normal", expect: "aborted", what: "approval rate 50% on the canary" },
  breaker: { fault: { enabled: true, error_rate: 1 }, traffic: "normal", expect: "aborted", what: "every processor call fails on the canary (breaker opens)" },
  "no-traffic": { fault: null, traffic: "none", expect: "paused", what: "the canary receives no traffic" },
};

function usage(code) {
  (code ? process.stderr : process.stdout).write(`usage: tools/canary-rehearsal [options]

Plays the Rollout of k8s/ (steps and AnalysisTemplates read from the files) against a
stable and a canary paystream-authd, a real Prometheus (file_sd targets, the ConfigMap's
relabel_configs) and authload traffic that follows the setWeight steps; evaluates every
analysis metric the way the Argo Rollouts controller does.

  --scenario NAME     ${Object.keys(SCENARIOS).join(" | ")} (default healthy)
  --fault JSON        POST this body to the canary's /admin/fault-inject instead of the
                      scenario's fault (at the start of the rollout)
  --time-scale N      divide every duration by N (default 20: ~15 min of rollout in ~50 s)
  --rate R            production-equivalent requests/s (default ${PRODUCTION_RPS.toFixed(1)}: 2.4M/day);
                      the load generator sends R x N
  --authd PATH        service binary (default build/svc/paystream-authd)
  --authload PATH     load generator (default build/bench/authload/authload or build/bench/authload)
  --k8s DIR           manifests (default k8s/); --namespace NS (paystream); --rollout NAME (auth-service)
  --out DIR           JSON record, PNG timeline and logs (default: a new directory in $TMPDIR)
  --keep              keep Prometheus' TSDB and the logs of a successful run

Exit status: 0 promoted, 10 aborted, 11 paused (inconclusive), 1 harness error.
`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { scenario: "healthy", fault: undefined, scale: 20, rate: PRODUCTION_RPS, authd: null, authload: null, k8s: path.join(repoRoot, "k8s"), namespace: "paystream", rollout: "auth-service", out: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "-h" || a === "--help") usage(0);
    else if (a === "--scenario") o.scenario = v();
    else if (a === "--fault") {
      const t = v();
      try {
        o.fault = JSON.parse(t);
      } catch (e) {
        fail(`--fault: not JSON: ${e.message}`);
      }
    } else if (a === "--time-scale") o.scale = Number(v());
    else if (a === "--rate") o.rate = Number(v());
    else if (a === "--authd") o.authd = path.resolve(v());
    else if (a === "--authload") o.authload = path.resolve(v());
    else if (a === "--k8s") o.k8s = path.resolve(v());
    else if (a === "--namespace") o.namespace = v();
    else if (a === "--rollout") o.rollout = v();
    else if (a === "--out") o.out = path.resolve(v());
    else if (a === "--keep") o.keep = true;
    else fail(`unknown option ${a} (--help)`);
  }
  if (!SCENARIOS[o.scenario]) fail(`unknown scenario "${o.scenario}" (${Object.keys(SCENARIOS).join(", ")})`);
  if (!(o.scale >= 1 && o.scale <= 600)) fail("--time-scale must be between 1 and 600");
  if (!(o.rate > 0)) fail("--rate must be positive");
  return o;
}

function fail(msg) {
  process.stderr.write(`canary-rehearsal: ${msg}\n`);
  process.exit(EXIT.error);
}

function findBinary(explicit, candidates, buildArgs, what) {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`${what}: ${explicit} does not exist`);
    return explicit;
  }
  const hit = () => candidates.map((c) => path.join(repoRoot, c)).find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (hit()) return hit();
  process.stderr.write(`canary-rehearsal: ${what} not built; running tools/build ${buildArgs.join(" ")}\n`);
  const r = spawnSync(path.join(repoRoot, "tools", "build"), buildArgs, { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !hit()) throw new Error(`${what}: not found (${candidates.join(", ")}) and tools/build ${buildArgs.join(" ")} did not produce it`);
  return hit();
}

const hex = (n) => crypto.randomBytes(n).toString("hex");
const podSuffix = () => Array.from(crypto.randomBytes(5), (b) => "bcdfghjklmnpqrstvwxz2456789"[b % 27]).join("");

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const sc = SCENARIOS[opt.scenario];
  const fault = opt.fault !== undefined ? opt.fault : sc.fault;
  const scenarioName = opt.fault !== undefined ? `${opt.scenario}+fault` : opt.scenario;
  const out = opt.out || fs.mkdtempSync(path.join(os.tmpdir(), `canary-rehearsal-${opt.scenario}-`));
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(out, ".work-"));
  const N = opt.scale;
  const t0 = Date.now();
  let r0 = null; // the rollout's start (fault injected, step 0): production time 0
  const el = () => (Date.now() - t0) / 1000;
  const now = () => Date.now();
  // Production-equivalent seconds since the rollout started (negative before it).
  const prodS = (at) => ((at - (r0 === null ? at : r0)) / 1000) * N;
  const stamp = () => {
    if (r0 === null) return `[${el().toFixed(1).padStart(6)}s |   setup  ]`;
    const real = prodS(now());
    return `[${el().toFixed(1).padStart(6)}s | +${String(Math.floor(real / 60)).padStart(3)}m${String(Math.floor(real % 60)).padStart(2, "0")}s]`;
  };
  const log = (msg) => process.stderr.write(`${stamp()} ${msg}\n`);

  const record = {
    scenario: scenarioName,
    description: opt.fault !== undefined ? `custom fault ${JSON.stringify(fault)}` : sc.what,
    fault,
    expected: opt.fault !== undefined ? null : sc.expect,
    timeScale: N,
    productionRps: opt.rate,
    sentRps: opt.rate * N,
    startedAt: new Date(t0).toISOString(),
    steps: [],
    weights: [],
    trafficWeights: [],
    runs: [],
    traffic: [],
    dashboard: [],
    alerts: [],
    relabeling: null,
    verdict: null,
    reason: null,
    faultAt: null,
    verdictAt: null,
    faultToVerdict: null,
  };
  let exitCode = EXIT.error;

  // ---- manifests ----
  const manifests = loadManifests(opt.k8s, { namespace: opt.namespace, rolloutName: opt.rollout });
  const plan = rolloutPlan(manifests.rollout);
  const hashes = { stable: hex(5).slice(0, 10), canary: hex(5).slice(0, 10) };
  const argCtx = { canaryHash: hashes.canary, stableHash: hashes.stable, namespace: opt.namespace, rolloutName: opt.rollout };
  // Compile every run's metrics now: a condition outside the supported subset stops the
  // rehearsal here, before anything starts.
  const runSpecs = [];
  for (const s of plan.steps) if (s.kind === "analysis") runSpecs.push({ kind: "step", step: s.i, analysis: s.analysis, metrics: buildRunMetrics(s.analysis, manifests.templates, argCtx, N) });
  if (plan.background) runSpecs.push({ kind: "background", step: plan.background.startingStep, analysis: plan.background.analysis, metrics: buildRunMetrics(plan.background.analysis, manifests.templates, argCtx, N) });
  const metricNames = [];
  const metricThresholds = new Map();
  for (const r of runSpecs)
    for (const m of r.metrics) {
      if (!metricNames.includes(m.name)) metricNames.push(m.name);
      const th = new Set(metricThresholds.get(m.name) || []);
      for (const ast of [m.successAst, m.failureAst]) if (ast) for (const t of conditionThresholds(ast)) th.add(t);
      metricThresholds.set(m.name, [...th]);
    }

  const authd = findBinary(opt.authd, ["build/svc/paystream-authd"], ["build"], "paystream-authd");
  const authload = findBinary(opt.authload, ["build/bench/authload/authload", "build/bench/authload"], ["build", "-Dbenchmarks=true"], "authload");
  log(`scenario ${scenarioName}: ${record.description}; expected: ${record.expected || "-"}`);
  log(`time scale ${N}: every duration / ${N}; traffic ${opt.rate.toFixed(1)} req/s production-equivalent, sent at ${(opt.rate * N).toFixed(0)} req/s; output ${out}`);

  // ---- Prometheus configuration ----
  const promCm = manifests.configMap("prometheus-config");
  const promCfgText = promCm && promCm.obj.data && promCm.obj.data["prometheus.yml"];
  if (!promCfgText) throw new Error("ConfigMap prometheus-config has no prometheus.yml");
  const config = prepareConfig({ dir: path.join(work, "prometheus"), k8sDir: opt.k8s, scale: N, configMapText: promCfgText });
  if (config.jobs.length !== 1) throw new Error(`expected one scrape job in prometheus.yml, found ${config.jobs.join(", ")}`);
  const job = config.jobs[0];
  log(`prometheus.yml from the ConfigMap via --emit-prometheus: job ${job}, scrape ${formatShort(config.scrapeIntervalMs)}, rules every ${formatShort(config.evaluationIntervalMs)}, relabel_configs unchanged; ${config.ruleFiles.length} rule file(s), windows / ${N}`);

  // ---- the two services ----
  const token = hex(24);
  const tokenFile = path.join(work, "admin-token");
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const versions = { stable: "1.0.0-stable", canary: "1.1.0-canary" };
  const svc = {};
  for (const role of ["stable", "canary"]) {
    const p = startProcess(`authd-${role}`, authd, [], {
      logFile: path.join(out, `authd-${role}.log`),
      env: {
        SERVICE_VERSION: versions[role],
        PORT: "0",
        BIND_ADDR: "127.0.0.1",
        ADMIN_PORT: "0",
        ADMIN_BIND_ADDR: "127.0.0.1",
        ADMIN_TOKEN_FILE: tokenFile,
        REACTORS: "1",
        LOG_LEVEL: "info",
        RANDOM_SEED: role === "stable" ? "11" : "22",
      },
    });
    const line = await waitForLine(p, /"listening"/, 10000);
    const j = JSON.parse(line.slice(line.indexOf("{")));
    svc[role] = { proc: p, port: j.port, admin: j.admin_port, version: versions[role], hash: hashes[role], pod: `${opt.rollout}-${hashes[role]}-${podSuffix()}` };
    log(`${role}: ${authd} SERVICE_VERSION=${versions[role]} http 127.0.0.1:${j.port} admin 127.0.0.1:${j.admin_port} pod ${svc[role].pod}`);
  }
  const rolloutContainer = manifests.rollout.obj.spec.template.spec.containers[0];
  const portsOf = (s) => rolloutContainer.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, port: p.name === "admin" ? s.admin : s.port }));

  // ---- Prometheus ----
  const prom = new Prometheus({ dir: path.join(work, "prometheus"), config, scale: N, logFile: path.join(out, "prometheus.log") });
  const pods = [
    ...["stable", "canary"].map((role) => ({ namespace: opt.namespace, name: svc[role].pod, uid: crypto.randomUUID(), phase: "Running", app: "auth-service", hash: svc[role].hash, container: rolloutContainer.name, image: `${rolloutContainer.image.split(":")[0]}:${svc[role].version}`, ports: portsOf(svc[role]) })),
    // A canary pod still starting (phase Pending): discovery lists it, relabeling drops it.
    { namespace: opt.namespace, name: `${opt.rollout}-${hashes.canary}-${podSuffix()}`, uid: crypto.randomUUID(), phase: "Pending", app: "auth-service", hash: hashes.canary, container: rolloutContainer.name, image: rolloutContainer.image, ports: rolloutContainer.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, port: 9 })) },
  ];
  prom.writeTargets(job, pods.flatMap(podTargets));
  await prom.start();
  log(`prometheus ${prom.url} (TSDB ${path.join(work, "prometheus", "tsdb")}), ${pods.flatMap(podTargets).length} file_sd targets (${pods.length} pods x ${rolloutContainer.ports.length} container ports)`);
  record.relabeling = await verifyRelabeling(prom, { job, svc, namespace: opt.namespace, log, scrapeMs: config.scrapeIntervalMs });

  // ---- traffic ----
  // One fixed, Luhn-valid authorization for every request. authload's generated mix is
  // assigned to requests by position, and its weighted round-robin hands the canary a
  // fixed slice of those positions (at 50% every odd one, which holds all the mix's
  // Luhn-invalid cards, declined locally): a 1-3 point approval bias between canary and
  // stable that production's per-request routing does not have. With one body every
  // decline comes from the simulated processor, identically on both sides.
  const bodyFile = path.join(work, "authorize.json");
  fs.writeFileSync(bodyFile, JSON.stringify({ card_number: "4111111111111111", currency: "EUR", amount: "42.50", merchant: "canary-rehearsal", merchant_id: "rehearsal" }));
  const traffic = new Traffic({ authload, svc, rps: opt.rate * N, out, record, el, N, log, mode: sc.traffic, bodyFile });
  // The load generator's own bound: the longest possible rollout, with margin.
  traffic.maxDurationS = Math.ceil((planMaxMs(plan, runSpecs, N) / 1000) * 1.5 + 30);
  await traffic.set(0, "steady state before the rollout");
  await sleep(Math.max(3000, 4 * config.scrapeIntervalMs));

  // ---- fault ----
  r0 = now();
  if (fault) {
    const url = `http://127.0.0.1:${svc.canary.admin}/admin/fault-inject`;
    const unauth = await httpJson(url, { method: "POST", body: fault });
    if (unauth.status !== 401) throw new Error(`POST /admin/fault-inject without the token answered ${unauth.status}, expected 401`);
    const r = await httpJson(url, { method: "POST", body: fault, headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`POST /admin/fault-inject answered ${r.status}: ${r.text.slice(0, 300)}`);
    record.faultAt = now();
    record.faultResponse = r.json;
    log(`fault injected into the canary (admin port, Bearer token; 401 without it): ${JSON.stringify(fault)} -> ${r.text.trim().slice(0, 200)}`);
  }

  // ---- the rollout ----
  const ctl = { aborted: false, paused: false, reason: null, bg: null, stepRun: null };
  const newRun = (spec, name) => {
    const runRec = { name, kind: spec.kind, step: spec.step, templates: (spec.analysis.templates || []).map((t) => t.templateName), startedAt: now(), phase: "Running", message: "", metrics: spec.metrics.map((m) => ({ name: m.name, template: m.template, query: m.query, successCondition: m.successCondition, failureCondition: m.failureCondition, limits: { interval: m.raw.interval, initialDelay: m.raw.initialDelay, count: m.raw.count, failureLimit: m.failureLimit, inconclusiveLimit: m.inconclusiveLimit, consecutiveErrorLimit: m.consecutiveErrorLimit }, phase: "Running", measurements: [] })) };
    record.runs.push(runRec);
    const run = new AnalysisRun({
      name,
      metrics: spec.metrics,
      clock: realClock,
      errorRetryMs: DEFAULT_ERROR_RETRY_MS / N,
      measure: async (m) => {
        const data = await prom.query(m.query, { timeoutMs: m.timeoutMs });
        return providerResult(data);
      },
      onMeasurement: (r, m, meas, res) => {
        const mr = runRec.metrics.find((x) => x.name === m.name);
        const first = Array.isArray(meas.result) ? (meas.result.length ? Math.max(...meas.result) : NaN) : typeof meas.result === "number" ? meas.result : NaN;
        mr.measurements.push({ at: meas.finishedAt, value: meas.value, plotValue: Number.isNaN(first) ? null : first, phase: meas.phase, message: meas.message });
        const limits = `${res.failed}/${m.failureLimit} failed, ${res.inconclusive}/${m.inconclusiveLimit} inconclusive${res.consecutiveError ? `, ${res.consecutiveError}/${m.consecutiveErrorLimit} consecutive errors` : ""}`;
        log(`  ${name} ${m.name} #${res.measurements.length} = ${meas.value || "(error)"} -> ${meas.phase}${meas.message ? ` (${meas.message})` : ""} [${limits}]`);
      },
      onPhase: (r) => {
        runRec.phase = r.phase;
        runRec.message = r.message;
        runRec.endedAt = now();
        for (const mr of runRec.metrics) {
          const res = r.results.get(mr.name);
          Object.assign(mr, { phase: res.phase, message: res.message, count: res.count, successful: res.successful, failed: res.failed, inconclusive: res.inconclusive, errors: res.error });
        }
        log(`AnalysisRun ${name}: ${r.phase}${r.message ? ` (${r.message})` : ""}`);
      },
    });
    return run.start();
  };
  const setWeight = async (w, why) => {
    record.weights.push({ at: now(), weight: w });
    await traffic.set(w, why);
  };

  const bgSpec = runSpecs.find((r) => r.kind === "background");
  const verdictOf = (run) => (run.phase === "Successful" ? null : run.phase === "Inconclusive" ? "paused" : "aborted");
  let verdict = null;
  let reason = null;
  const bgWatch = () =>
    ctl.bg
      ? ctl.bg.done.then((r) => {
          const v = verdictOf(r);
          return v ? { verdict: v, reason: `background AnalysisRun ${r.name}: ${r.phase} (${r.message})` } : new Promise(() => {});
        })
      : new Promise(() => {});

  await setWeight(0, "rollout starts (canary pods ready, no traffic yet)");
  for (const step of plan.steps) {
    if (verdict) break;
    if (bgSpec && !ctl.bg && step.i >= plan.background.startingStep) {
      ctl.bg = newRun(bgSpec, `${bgSpec.analysis.templates.map((t) => t.templateName).join("+")}(background)`);
      log(`background analysis started at step ${step.i}`);
    }
    record.steps.push({ at: now(), step: step.i, kind: step.kind, weight: step.weight ?? null });
    if (step.kind === "setWeight") {
      log(`step ${step.i}: setWeight ${step.weight}`);
      await setWeight(step.weight, `setWeight ${step.weight}`);
      continue;
    }
    if (step.kind === "pause") {
      if (step.durationMs === null) {
        verdict = "paused";
        reason = `step ${step.i}: pause without a duration (waits for a human)`;
        break;
      }
      log(`step ${step.i}: pause ${formatShort(step.durationMs)} (${formatShort(step.durationMs / N)} here)`);
      const r = await Promise.race([sleep(step.durationMs / N).then(() => null), bgWatch()]);
      if (r) ({ verdict, reason } = r);
      continue;
    }
    if (step.kind === "analysis") {
      const spec = runSpecs.find((r) => r.kind === "step" && r.step === step.i);
      const name = spec.analysis.templates.map((t) => t.templateName).join("+");
      log(`step ${step.i}: analysis ${name} (${spec.metrics.length} metrics)`);
      ctl.stepRun = newRun(spec, name);
      const r = await Promise.race([ctl.stepRun.done.then((run) => {
        const v = verdictOf(run);
        return v ? { verdict: v, reason: `AnalysisRun ${run.name}: ${run.phase} (${run.message})` } : null;
      }), bgWatch()]);
      if (r) ({ verdict, reason } = r);
      continue;
    }
  }
  if (!verdict) {
    verdict = "promoted";
    reason = "all steps completed";
  }
  record.verdictAt = now();
  log(`ROLLOUT ${verdict.toUpperCase()}: ${reason}`);

  // Dashboard panels, while traffic still flows.
  record.dashboard = await checkDashboard(prom, manifests, { namespace: opt.namespace, rateInterval: formatPromDuration(Math.max(60_000 / N, 4 * config.scrapeIntervalMs)), log });
  record.alerts = (await prom.alerts()).map((a) => ({ name: a.labels.alertname, state: a.state, labels: a.labels }));
  if (record.alerts.length) log(`alerts: ${record.alerts.map((a) => `${a.name}{${a.labels.rollouts_pod_template_hash || a.labels.pod || a.labels.namespace || ""}} ${a.state}`).join(", ")}`);

  if (verdict === "aborted") {
    await setWeight(0, "abort: all traffic back to stable");
    log(`abort: traffic back to stable; canary pods scaled down after abortScaleDownDelaySeconds (${formatShort(plan.abortScaleDownDelayMs)}, ${formatShort(plan.abortScaleDownDelayMs / N)} here)`);
    await sleep(plan.abortScaleDownDelayMs / N);
  }
  // Promoted or aborted: the controller terminates the runs. Paused: they would go on
  // while the rollout waits for a human; the rehearsal ends here.
  for (const r of [ctl.stepRun, ctl.bg]) if (r) (verdict === "paused" ? r.halt() : r.terminate());
  for (const rr of record.runs) if (rr.phase === "Running") rr.message = "still running when the rehearsal ended (the rollout is paused, waiting for a human)";
  await sleep(50);
  record.verdict = verdict;
  record.reason = reason;
  record.endedAt = now();
  record.rolloutMinutes = prodS(record.verdictAt) / 60;
  if (record.faultAt) record.faultToVerdict = { seconds: (record.verdictAt - record.faultAt) / 1000, realMinutes: ((record.verdictAt - record.faultAt) / 1000) * N / 60 };
  exitCode = EXIT[verdict];
  await traffic.stop();

  const emptyPanels = record.dashboard.filter((d) => !d.series);
  if (emptyPanels.length) {
    log(`HARNESS ERROR: ${emptyPanels.length} dashboard panel queries returned nothing while traffic flowed`);
    exitCode = EXIT.error;
    record.harnessError = "empty dashboard panel queries";
  }
  if (record.expected) log(`verdict ${verdict}, expected ${record.expected}: ${verdict === record.expected ? "as expected" : "UNEXPECTED"}`);
  if (record.faultToVerdict) log(`fault to verdict: ${record.faultToVerdict.seconds.toFixed(1)} s here, ${record.faultToVerdict.realMinutes.toFixed(1)} min in production time`);

  await finish(record, out, metricNames, metricThresholds, log);
  await prom.stop();
  await stopAll();
  if (!opt.keep) fs.rmSync(work, { recursive: true, force: true });
  return exitCode;

  async function finish(rec, dir, names, ths, lg) {
    // Every "at" (epoch ms) also as "t" (rehearsal seconds) and "real" (production-
    // equivalent seconds since the rollout started).
    const withTimes = (v) => {
      if (Array.isArray(v)) return v.map(withTimes);
      if (v && typeof v === "object") {
        const o = {};
        for (const [k, x] of Object.entries(v)) {
          o[k] = withTimes(x);
          if (typeof x === "number" && (k === "at" || k.endsWith("At")) && x > 1e12) {
            o[k === "at" ? "t" : `${k}T`] = +((x - t0) / 1000).toFixed(3);
            o[k === "at" ? "real" : `${k}Real`] = +prodS(x).toFixed(1);
          }
        }
        return o;
      }
      return v;
    };
    rec = withTimes(rec);
    const jsonFile = path.join(dir, "rehearsal.json");
    fs.writeFileSync(jsonFile, JSON.stringify(rec, (k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2));
    lg(`record: ${jsonFile}`);
    const png = path.join(dir, "timeline.png");
    if (!gnuplotAvailable()) lg("no PNG: gnuplot not found (Debian package gnuplot-nox)");
    else {
      plotTimeline(rec, names.map((n) => ({ name: n, thresholds: ths.get(n) || [] })), png);
      lg(`timeline: ${png}`);
    }
  }
}

// The relabeling proof: exactly the Running pods' admin ports are scraped, with exactly
// the target labels namespace, pod and rollouts_pod_template_hash, and the service's own
// version label arrives intact.
async function verifyRelabeling(prom, { job, svc, namespace, log, scrapeMs }) {
  const deadline = Date.now() + Math.max(15000, 20 * scrapeMs);
  let last = "";
  while (Date.now() < deadline) {
    const t = await prom.targets();
    const active = (t && t.activeTargets) || [];
    const dropped = (t && t.droppedTargets) || [];
    const up = active.filter((a) => a.health === "up");
    last = `active ${active.length} (${active.map((a) => `${a.scrapeUrl} ${a.health}${a.lastError ? ` ${a.lastError}` : ""}`).join("; ")}), dropped ${dropped.length}`;
    if (active.length === 2 && up.length === 2) {
      const problems = [];
      for (const role of ["stable", "canary"]) {
        const a = active.find((x) => x.labels.pod === svc[role].pod);
        if (!a) {
          problems.push(`${role} pod not among the active targets`);
          continue;
        }
        const keys = Object.keys(a.labels).sort().join(",");
        if (keys !== "instance,job,namespace,pod,rollouts_pod_template_hash") problems.push(`${role} target labels are ${keys}`);
        if (a.labels.namespace !== namespace || a.labels.rollouts_pod_template_hash !== svc[role].hash || a.labels.job !== job) problems.push(`${role} target labels wrong: ${JSON.stringify(a.labels)}`);
        if (!a.scrapeUrl.endsWith(`:${svc[role].admin}/metrics`)) problems.push(`${role} scraped at ${a.scrapeUrl}, not its admin port`);
      }
      if (problems.length) throw new Error(`relabeling: ${problems.join("; ")}`);
      let series = [];
      for (let i = 0; i < 20; i++) {
        const d = await prom.query(`count by (version, rollouts_pod_template_hash, namespace, pod) (auth_requests_total{job="${job}"})`);
        series = d.result.map((r) => r.metric);
        if (series.length >= 2) break;
        await sleep(scrapeMs);
      }
      for (const role of ["stable", "canary"])
        if (!series.some((m) => m.version === svc[role].version && m.rollouts_pod_template_hash === svc[role].hash && m.pod === svc[role].pod))
          throw new Error(`relabeling: no auth_requests_total{version="${svc[role].version}", rollouts_pod_template_hash="${svc[role].hash}"} (found ${JSON.stringify(series)})`);
      log(`relabeling: 2 active targets (the Running pods' admin ports) with labels instance, job, namespace, pod, rollouts_pod_template_hash; ${dropped.length} dropped (http ports, the Pending pod); version label intact`);
      return { active: active.map((a) => ({ labels: a.labels, scrapeUrl: a.scrapeUrl })), dropped: dropped.length };
    }
    await sleep(200);
  }
  throw new Error(`Prometheus never scraped both services: ${last}${/404/.test(last) ? " (the binary serves no /metrics on its admin port yet)" : ""}`);
}

// Every dashboard panel query, variables substituted, must return data now.
async function checkDashboard(prom, manifests, { namespace, rateInterval, log }) {
  const out = [];
  for (const q of dashboardQueries(manifests)) {
    const expr = substituteGrafana(q.expr, { namespace }, rateInterval);
    let series = 0;
    let error = null;
    try {
      const d = await prom.query(expr);
      series = d.resultType === "vector" ? d.result.length : 1;
    } catch (e) {
      error = e.message;
    }
    out.push({ panel: q.panel, refId: q.refId, expr, series, error });
  }
  const empty = out.filter((d) => !d.series);
  log(`dashboard: ${out.length - empty.length}/${out.length} panel queries returned data${empty.length ? `; EMPTY: ${empty.map((d) => `"${d.panel}" ${d.refId}${d.error ? ` (${d.error})` : ""}`).join(", ")}` : ""}`);
  return out;
}

// Longest possible rollout in rehearsal milliseconds (metric durations are scaled
// already; pauses and the error retry are not).
function planMaxMs(plan, runSpecs, scale) {
  let total = 0;
  for (const s of plan.steps) {
    if (s.kind === "pause") total += (s.durationMs || 0) / scale;
    if (s.kind === "analysis") {
      const spec = runSpecs.find((r) => r.kind === "step" && r.step === s.i);
      total += Math.max(0, ...spec.metrics.map((m) => m.initialDelayMs + (m.count || 1) * (m.intervalMs || 0) + ((m.consecutiveErrorLimit + 1) * DEFAULT_ERROR_RETRY_MS) / scale));
    }
  }
  return total;
}

// authload, restarted whenever the weight changes: two targets (stable first), --weight =
// percent to the canary. "none" mode (no-traffic scenario): the canary never gets any.
class Traffic {
  constructor(o) {
    Object.assign(this, o);
    this.proc = null;
    this.weight = null;
    this.seq = 0;
  }

  async set(w, why) {
    const eff = this.mode === "none" ? 0 : w;
    this.record.trafficWeights.push({ at: Date.now(), weight: eff });
    if (this.proc && !this.proc.exited && eff === this.weight) {
      if (eff !== w) this.log(`traffic: the canary still gets none (${why}; no-traffic scenario)`);
      return;
    }
    await this.stop();
    this.weight = eff;
    const conns = Math.max(32, Math.ceil(this.rps * 0.8));
    const json = path.join(this.out, `authload-${this.seq}.json`);
    const args = ["--target", `127.0.0.1:${this.svc.stable.port}`, "--target", `127.0.0.1:${this.svc.canary.port}`, "--weight", String(eff), "--rate", this.rps.toFixed(1), "--connections", String(conns), "--duration", String(this.maxDurationS || 600), "--warmup", "0", "--timeout", "5", "--body", this.bodyFile, "--quiet", "--json", json];
    this.proc = startProcess(`authload-${this.seq}`, this.authload, args, { logFile: path.join(this.out, `authload-${this.seq}.log`) });
    this.record.traffic.push({ seq: this.seq, weight: eff, startedAt: Date.now(), args, why, json });
    this.log(`traffic: authload ${eff}% to the canary, ${this.rps.toFixed(0)} req/s over ${conns} connections (${why})`);
    this.seq++;
    const p = this.proc;
    p.exitPromise.then((e) => {
      if (this.proc === p) this.log(`traffic: authload exited by itself (${e.code ?? e.signal}); the canary gets no more traffic (log: ${p.logFile})`);
    });
    await sleep(100);
    if (this.proc.exited) throw new Error(`authload exited at once (${this.proc.exited.code}): ${this.proc.lines.slice(-5).join(" | ")}`);
  }

  async stop() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    const seg = this.record.traffic[this.record.traffic.length - 1];
    if (!p.exited) await stopProcess(p, { signal: "SIGINT", graceMs: 2000 });
    if (seg) seg.endedAt = Date.now();
    if (seg && fs.existsSync(seg.json)) {
      try {
        seg.report = JSON.parse(fs.readFileSync(seg.json, "utf8"));
      } catch {
        /* partial */
      }
    }
  }
}

main()
  .then((code) => process.exit(code))
  .catch(async (e) => {
    process.stderr.write(`canary-rehearsal: HARNESS ERROR: ${(process.env.REHEARSAL_DEBUG && e.stack) || e.message || e}\n`);
    await stopAll();
    process.exit(EXIT.error);
  });
