#!/usr/bin/env node
// tools/canary-rehearsal: a canary rollout of the authorization service without a
// cluster, decided by the AnalysisTemplates of k8s/ against a real Prometheus scraping
// real service processes, which call one shared processor simulator. See
// tools/rehearsal/README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadManifests, rolloutPlan, buildRunMetrics, dashboardQueries, substituteGrafana, repoRoot } from "./manifests.mjs";
import { AnalysisRun, realClock, DEFAULT_ERROR_RETRY_MS } from "./controller.mjs";
import { thresholds as conditionThresholds } from "./expr.mjs";
import { formatPromDuration, formatShort } from "./durations.mjs";
import { prepareConfig, Prometheus, podTargets, meshPodTargets, providerResult } from "./prometheus.mjs";
import { startProcess, waitForLine, stopProcess, stopAll, httpJson, sleep } from "./procs.mjs";
import { Mesh } from "./mesh.mjs";
import { Simulator, SIM_BASELINE, poolSizing, serviceEnv, simulatorNextTo, processorSeries, processorSummary } from "./processor.mjs";
import { parseDuration } from "./durations.mjs";
import { gnuplotAvailable, plotTimeline } from "./plot.mjs";

const EXIT = { promoted: 0, aborted: 10, paused: 11, error: 1 };
const PRODUCTION_RPS = 2_400_000 / 86_400; // 2.4M authorizations a day, on average

// fault: POSTed to /admin/fault-inject of the canary (faultOn "processor": PUT once to the
// shared simulator's /admin/faults instead, so that every caller sees it), at the
// rollout's start or, with faultAfterWeight W, when the first setWeight above W is
// applied. action: a signal sent to the canary process actionDelayS production seconds
// after traffic first reaches it. traffic: "normal"; "unrouted" (the mesh never applies
// the Rollout's weights: the canary gets nothing at weight 10); "none" (nothing is sent
// from the rollout's start). rateFactor scales --rate; scale is the default --time-scale
// (timing scenarios: the route timeout and the probes' real-time parts are not scaled).
// retry: after the verdict of the first rollout, a good release is rolled out one
// production minute later; the verdict is the second rollout's.
const errors5 = { enabled: true, error_rate: 0.05 };
const SCENARIOS = {
  healthy: { fault: null, traffic: "normal", expect: "promoted", what: "a good release" },
  latency: { fault: { enabled: true, latency_ms: 350, jitter_ms: 50 }, slo: "latency", traffic: "normal", expect: "aborted", what: "350 +/- 50 ms added before each of the canary's processor calls" },
  errors: { fault: errors5, traffic: "normal", expect: "aborted", what: "5% of the canary's processor calls fail before they are sent" },
  declines: { fault: { enabled: true, success_rate: 0.5 }, traffic: "normal", expect: "aborted", what: "half the canary's processor calls declined before they are sent (47% approvals)" },
  breaker: { fault: { enabled: true, error_rate: 1 }, traffic: "normal", expect: "aborted", what: "every processor call fails on the canary (breaker opens)" },
  hang: { fault: null, action: "SIGSTOP", actionDelayS: 10, scale: 4, traffic: "normal", expect: "aborted", what: "the canary stops answering (SIGSTOP) 10 s after traffic reaches it" },
  crash: { fault: null, action: "SIGKILL", actionDelayS: 10, scale: 10, traffic: "normal", expect: "aborted", what: "the canary is killed (SIGKILL) 10 s after traffic reaches it and stays down" },
  reset: { fault: { enabled: true, reset_rate: 0.5 }, traffic: "normal", expect: "aborted", what: "the canary resets half of its connections instead of answering" },
  unrouted: { fault: null, traffic: "unrouted", expect: "aborted", what: "the canary gets nothing although the Rollout's weight is 10 (routes not applied)" },
  "error-budget": { fault: { enabled: true, error_rate: 0.005 }, traffic: "normal", expect: "aborted", what: "0.5% processor errors on the canary (5x the error budget)" },
  "slow-tail": { fault: { enabled: true, slow_rate: 0.035, slow_latency_ms: 150 }, slo: "latency", traffic: "normal", expect: "aborted", what: "3.5% of the canary's processor calls 150 ms later (over 0.3 s; with the processor's 0.5%, 4%), p95 under 0.3 s" },
  "shared-incident": { fault: errors5, faultOn: "processor", traffic: "normal", expect: "paused", what: "5% errors from the processor that stable and canary share (a processor incident, injected on the simulator)" },
  late: { fault: errors5, faultAfterWeight: 50, traffic: "normal", expect: "aborted", what: "5% processor errors on the canary from the first step after 50%" },
  "thin-traffic": { fault: errors5, rateFactor: 0.3, traffic: "normal", expect: "aborted", what: "30% of the default rate, 5% processor errors on the canary" },
  "retry-after-abort": { fault: errors5, retry: true, traffic: "normal", expect: "promoted", what: "a release with 5% errors (aborted), then a good release one production minute later" },
  "no-traffic": { fault: null, traffic: "none", expect: "paused", what: "no traffic at all from before the rollout's start" },
};

function usage(code) {
  (code ? process.stderr : process.stdout).write(`usage: tools/canary-rehearsal [options]

Plays the Rollout of k8s/ (steps and AnalysisTemplates read from the files) against a
stable and a canary paystream-authd calling one shared paystream-processor-sim, a real
Prometheus (file_sd targets, the ConfigMap's relabel_configs) and authload traffic that
follows the setWeight steps; evaluates every analysis metric the way the Argo Rollouts
controller does.

  --scenario NAME     ${Object.keys(SCENARIOS).join(" | ")} (default healthy)
  --scenarios A,B|all --runs N
                      run each scenario N times (one rehearsal process each, in order);
                      summary table on stdout, OUT/matrix.json; exit 0 when every run
                      gave its expected verdict
  --fault JSON        POST this body to the canary's /admin/fault-inject instead of the
                      scenario's fault (at the start of the rollout)
  --processor-fault JSON
                      PUT this body to the shared simulator's /admin/faults instead (a
                      processor incident: stable and canary both see it)
  --time-scale N      divide every duration by N (default 20, or the scenario's: hang 4,
                      crash 10; ~15 min of rollout in ~50 s at 20)
  --rate R            production-equivalent requests/s (default ${PRODUCTION_RPS.toFixed(1)}: 2.4M/day);
                      the load generator sends R x N
  --authd PATH        service binary (default build/svc/paystream-authd)
  --processor-sim PATH
                      the shared processor (default: paystream-processor-sim of the
                      service's build directory, svc/processor_sim/)
  --authload PATH     load generator (default build/bench/authload/authload or build/bench/authload)
  --k8s DIR           manifests (default k8s/); --namespace NS (paystream); --rollout NAME (auth-service)
  --out DIR           JSON record, PNG timeline and logs (default: a new directory in $TMPDIR)
  --keep              keep Prometheus' TSDB and the logs of a successful run

Exit status: 0 promoted, 10 aborted, 11 paused (inconclusive), 1 harness error.
`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { scenario: "healthy", scenarios: null, runs: 1, fault: undefined, faultOn: undefined, processorSim: null, scale: null, rate: PRODUCTION_RPS, authd: null, authload: null, k8s: path.join(repoRoot, "k8s"), namespace: "paystream", rollout: "auth-service", out: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "-h" || a === "--help") usage(0);
    else if (a === "--scenario") o.scenario = v();
    else if (a === "--scenarios") o.scenarios = v() === "all" ? Object.keys(SCENARIOS) : argv[i].split(",");
    else if (a === "--runs") o.runs = Number(v());
    else if (a === "--fault" || a === "--processor-fault") {
      const t = v();
      if (o.fault !== undefined) fail("--fault and --processor-fault: one of them, once");
      try {
        o.fault = JSON.parse(t);
      } catch (e) {
        fail(`${a}: not JSON: ${e.message}`);
      }
      o.faultOn = a === "--fault" ? "canary" : "processor";
    } else if (a === "--time-scale") o.scale = Number(v());
    else if (a === "--rate") o.rate = Number(v());
    else if (a === "--authd") o.authd = path.resolve(v());
    else if (a === "--authload") o.authload = path.resolve(v());
    else if (a === "--processor-sim") o.processorSim = path.resolve(v());
    else if (a === "--k8s") o.k8s = path.resolve(v());
    else if (a === "--namespace") o.namespace = v();
    else if (a === "--rollout") o.rollout = v();
    else if (a === "--out") o.out = path.resolve(v());
    else if (a === "--keep") o.keep = true;
    else fail(`unknown option ${a} (--help)`);
  }
  for (const sc of [o.scenario, ...(o.scenarios || [])]) if (!SCENARIOS[sc]) fail(`unknown scenario "${sc}" (${Object.keys(SCENARIOS).join(", ")})`);
  if (!(Number.isInteger(o.runs) && o.runs >= 1)) fail("--runs must be a positive integer");
  o.explicitScale = o.scale !== null;
  if (o.scale === null) o.scale = SCENARIOS[o.scenario].scale || 20;
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

// The full matrix: each scenario N times, each in its own rehearsal process.
async function matrix(opt) {
  const out = opt.out || fs.mkdtempSync(path.join(os.tmpdir(), "canary-rehearsal-matrix-"));
  fs.mkdirSync(out, { recursive: true });
  const passOn = [];
  for (const flag of ["--authd", "--authload", "--k8s"]) if (opt[flag.slice(2)]) passOn.push(flag, opt[flag.slice(2)]);
  if (opt.processorSim) passOn.push("--processor-sim", opt.processorSim);
  if (opt.explicitScale) passOn.push("--time-scale", String(opt.scale));
  if (opt.rate !== PRODUCTION_RPS) passOn.push("--rate", String(opt.rate));
  const rows = [];
  for (const name of opt.scenarios)
    for (let run = 1; run <= opt.runs; run++) {
      const dir = path.join(out, `${name}-${run}`);
      const t = Date.now();
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--scenario", name, "--out", dir, ...passOn], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", maxBuffer: 64 << 20 });
      fs.writeFileSync(path.join(out, `${name}-${run}.log`), r.stderr || "");
      let rec = null;
      try {
        rec = JSON.parse(fs.readFileSync(path.join(dir, "rehearsal.json"), "utf8"));
      } catch {
        /* harness error */
      }
      const row = { scenario: name, run, exit: r.status, verdict: rec ? rec.verdict : "error", expected: SCENARIOS[name].expect, seconds: (Date.now() - t) / 1000, timeScale: rec && rec.timeScale, abort: rec ? rec.abort : null, meshCheck: rec && rec.meshCheck ? rec.meshCheck.ok : null };
      row.ok = row.verdict === row.expected && r.status === EXIT[row.expected];
      rows.push(row);
      const a = row.abort;
      process.stderr.write(`${row.ok ? "ok  " : "FAIL"} ${name} #${run}: ${row.verdict} (expected ${row.expected}), exit ${r.status}, ${row.seconds.toFixed(0)} s${a && a.firstFailureToAbortS !== null ? `; abort ${a.firstFailureToAbortS.toFixed(0)} s after the first client-visible failure, ${a.failedBeforeAbort} failed requests` : ""}\n`);
    }
  fs.writeFileSync(path.join(out, "matrix.json"), JSON.stringify(rows, null, 2));
  const lines = ["| scenario | runs | expected | verdicts | first failure -> abort (production s) | failed requests before abort |", "| --- | --- | --- | --- | --- | --- |"];
  for (const name of opt.scenarios) {
    const rs = rows.filter((r) => r.scenario === name);
    const ab = rs.map((r) => r.abort).filter((a) => a && a.firstFailureToAbortS !== null);
    const range = (xs) => (xs.length ? `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}` : "-");
    lines.push(`| ${name} | ${rs.length} | ${SCENARIOS[name].expect} | ${rs.map((r) => r.verdict).join(", ")} | ${range(ab.map((a) => a.firstFailureToAbortS))} | ${range(ab.map((a) => a.failedBeforeAbort))} |`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  process.stderr.write(`matrix: ${rows.filter((r) => r.ok).length}/${rows.length} runs gave their expected verdict; ${path.join(out, "matrix.json")}\n`);
  return rows.every((r) => r.ok) ? 0 : 1;
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  if (opt.scenarios) return matrix(opt);
  const sc = SCENARIOS[opt.scenario];
  const fault = opt.fault !== undefined ? opt.fault : sc.fault;
  const scenarioName = opt.fault !== undefined ? `${opt.scenario}+fault` : opt.scenario;
  const out = opt.out || fs.mkdtempSync(path.join(os.tmpdir(), `canary-rehearsal-${opt.scenario}-`));
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(out, ".work-"));
  const N = opt.scale;
  const rate = opt.rate * (sc.rateFactor || 1);
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
    faultOn: opt.faultOn || sc.faultOn || "canary",
    action: sc.action || null,
    expected: opt.fault !== undefined ? null : sc.expect,
    timeScale: N,
    productionRps: rate,
    sentRps: rate * N,
    baseline: SIM_BASELINE,
    processor: null,
    startedAt: new Date(t0).toISOString(),
    rollouts: [],
    steps: [],
    weights: [],
    trafficWeights: [],
    runs: [],
    traffic: [],
    dashboard: [],
    alerts: [],
    relabeling: null,
    mesh: null,
    meshCheck: null,
    verdict: null,
    reason: null,
    faultAt: null,
    verdictAt: null,
    faultToVerdict: null,
    abort: null,
  };
  let exitCode = EXIT.error;

  // ---- manifests ----
  const manifests = loadManifests(opt.k8s, { namespace: opt.namespace, rolloutName: opt.rollout });
  const plan = rolloutPlan(manifests.rollout);
  const canarySpec = manifests.rollout.obj.spec.strategy.canary;
  const rolloutContainer = manifests.rollout.obj.spec.template.spec.containers[0];
  const podLabels = manifests.rollout.obj.spec.template.metadata.labels || {};
  // A release: its pod-template hash and its canonical revision (the immutable image tag
  // CD sets as service.istio.io/canonical-revision in the same patch as the image).
  const newRelease = (version) => ({ hash: hex(5).slice(0, 10), revision: `sha-${hex(6)}`, version });
  const stableRelease = newRelease("1.0.0-stable");
  // Compile every run's metrics for a canary release: a condition outside the supported
  // subset stops the rehearsal before anything starts.
  const compile = (canary) => {
    const labels = { ...podLabels, "rollouts-pod-template-hash": canary.hash, "service.istio.io/canonical-revision": canary.revision };
    // CD's patch sets the release label on the Rollout (the analyses read it there) and on
    // the pod template (the mesh reports it): both carry this canary's revision.
    const argCtx = { canaryHash: canary.hash, stableHash: stableRelease.hash, canaryRevision: canary.revision, stableRevision: stableRelease.revision, podTemplateLabels: labels, labels: { ...(manifests.rollout.obj.metadata.labels || {}), "service.istio.io/canonical-revision": canary.revision }, namespace: opt.namespace, rolloutName: opt.rollout };
    const specs = [];
    for (const s of plan.steps) if (s.kind === "analysis") specs.push({ kind: "step", step: s.i, analysis: s.analysis, metrics: buildRunMetrics(s.analysis, manifests.templates, argCtx, N) });
    if (plan.background) specs.push({ kind: "background", step: plan.background.startingStep, analysis: plan.background.analysis, metrics: buildRunMetrics(plan.background.analysis, manifests.templates, argCtx, N) });
    return specs;
  };
  const releases = [newRelease("1.1.0-canary")];
  if (sc.retry && opt.fault === undefined) releases.push(newRelease("1.1.1-canary"));
  const runSpecsOf = releases.map(compile);
  const metricNames = [];
  const metricThresholds = new Map();
  for (const r of runSpecsOf[0])
    for (const m of r.metrics) {
      if (!metricNames.includes(m.name)) metricNames.push(m.name);
      const th = new Set(metricThresholds.get(m.name) || []);
      for (const ast of [m.successAst, m.failureAst]) if (ast) for (const t of conditionThresholds(ast)) th.add(t);
      metricThresholds.set(m.name, [...th]);
    }

  const authd = findBinary(opt.authd, ["build/svc/paystream-authd"], ["build"], "paystream-authd");
  const authload = findBinary(opt.authload, ["build/bench/authload/authload", "build/bench/authload"], ["build", "-Dbenchmarks=true"], "authload");
  const simBin = opt.processorSim || simulatorNextTo(authd);
  if (!simBin || !fs.existsSync(simBin)) throw new Error(`paystream-processor-sim: ${opt.processorSim || `not found in the build directory of ${authd} (svc/processor_sim/)`}; build it or give --processor-sim PATH`);
  log(`scenario ${scenarioName}: ${record.description}; expected: ${record.expected || "-"}`);
  log(`time scale ${N}: every duration / ${N}; traffic ${rate.toFixed(1)} req/s production-equivalent, sent at ${(rate * N).toFixed(0)} req/s; output ${out}`);

  // ---- Prometheus configuration ----
  const promCm = manifests.configMap("prometheus-config");
  const promCfgText = promCm && promCm.obj.data && promCm.obj.data["prometheus.yml"];
  if (!promCfgText) throw new Error("ConfigMap prometheus-config has no prometheus.yml");
  const config = prepareConfig({ dir: path.join(work, "prometheus"), k8sDir: opt.k8s, scale: N, configMapText: promCfgText });
  const jobs = { service: "auth-service", waypoint: "istio-waypoint", gateway: "istio-gateway" };
  for (const j of Object.values(jobs)) if (!config.jobs.includes(j)) throw new Error(`prometheus.yml has no scrape job ${j} (found ${config.jobs.join(", ")})`);
  const job = jobs.service;
  log(`prometheus.yml from the ConfigMap via --emit-prometheus: jobs ${config.jobs.join(", ")}, scrape ${formatShort(config.scrapeIntervalMs)}, rules every ${formatShort(config.evaluationIntervalMs)}, relabel_configs unchanged; ${config.ruleFiles.length} rule file(s), windows / ${N}`);

  // ---- the services ----
  const token = hex(24);
  const tokenFile = path.join(work, "admin-token");
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  // ---- the processor both versions call ----
  const apiKeyFile = path.join(work, "processor-api-key");
  fs.writeFileSync(apiKeyFile, `${hex(24)}\n`, { mode: 0o600 });
  const sim = await new Simulator({ bin: simBin, apiKeyFile, seed: 7, logFile: path.join(out, "processor-sim.log") }).start();
  const pool = poolSizing(rate * N);
  const processorEnv = serviceEnv(sim, pool);
  record.processor = { bin: simBin, args: sim.args, port: sim.port, admin: sim.admin, baseline: SIM_BASELINE, pool, env: processorEnv, fault: null, stats: null, services: {} };
  log(`processor: ${simBin} http 127.0.0.1:${sim.port} admin 127.0.0.1:${sim.admin}, 1 reactor, API key file; baseline latency ${SIM_BASELINE.latencyMs} +/- ${SIM_BASELINE.jitterMs} ms, ${SIM_BASELINE.errorRate * 100}% errors, ${SIM_BASELINE.slowRate * 100}% +${SIM_BASELINE.slowLatencyMs} ms, ${SIM_BASELINE.successRate * 100}% approvals`);
  log(`processor pools (Little's law): ${pool.sentRps.toFixed(0)} calls/s x ${pool.meanCallMs.toFixed(0)} ms mean (${pool.worstCallMs} ms worst) = ${pool.busyMean.toFixed(0)} busy connections (${pool.busyWorst.toFixed(0)} worst) -> PROCESSOR_MAX_CONNECTIONS=${pool.maxConnections}, PROCESSOR_MAX_QUEUE=${pool.maxQueue} per service`);

  let seq = 0;
  const startService = async (role, release) => {
    const name = `authd-${role}${seq++ ? `-${seq - 1}` : ""}`;
    const p = startProcess(name, authd, [], {
      logFile: path.join(out, `${name}.log`),
      env: {
        SERVICE_VERSION: release.version,
        PORT: "0",
        BIND_ADDR: "127.0.0.1",
        ADMIN_PORT: "0",
        ADMIN_BIND_ADDR: "127.0.0.1",
        ADMIN_TOKEN_FILE: tokenFile,
        REACTORS: "1",
        LOG_LEVEL: "info",
        RANDOM_SEED: String(11 * seq),
        ...processorEnv,
      },
    });
    const line = await waitForLine(p, /"listening"/, 10000);
    const j = JSON.parse(line.slice(line.indexOf("{")));
    const s = { role, proc: p, port: j.port, admin: j.admin_port, version: release.version, hash: release.hash, revision: release.revision, pod: `${opt.rollout}-${release.hash}-${podSuffix()}` };
    log(`${role}: ${authd} SERVICE_VERSION=${release.version} http 127.0.0.1:${j.port} admin 127.0.0.1:${j.admin_port} pod ${s.pod} canonical-revision ${release.revision}`);
    return s;
  };
  const svc = { stable: await startService("stable", stableRelease), canary: await startService("canary", releases[0]) };
  const portsOf = (s) => rolloutContainer.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, port: p.name === "admin" ? s.admin : s.port }));

  // ---- the mesh ----
  const routes = meshRoutes(manifests, { namespace: opt.namespace, canaryService: canarySpec.canaryService, stableService: canarySpec.stableService });
  const probe = rolloutContainer.readinessProbe || {};
  // The probe timeout is scaled like the period, but never below 500 ms: the rehearsal's
  // processes share two cores with everything else, and a probe that missed a short
  // deadline on a healthy pod would withdraw its endpoints (false 503s).
  const PROBE_TIMEOUT_FLOOR_MS = 500;
  const mesh = new Mesh({
    namespace: opt.namespace,
    services: { stable: canarySpec.stableService, canary: canarySpec.canaryService },
    workload: opt.rollout,
    canonicalService: podLabels["app.kubernetes.io/name"] || opt.rollout,
    serviceAccount: manifests.rollout.obj.spec.template.spec.serviceAccountName || "default",
    routeTimeoutMs: routes.timeoutMs,
    retry: routes.retry,
    probe: {
      periodMs: ((probe.periodSeconds ?? 10) * 1000) / N,
      timeoutMs: Math.max(PROBE_TIMEOUT_FLOOR_MS, ((probe.timeoutSeconds ?? 1) * 1000) / N),
      failureThreshold: probe.failureThreshold ?? 3,
      successThreshold: probe.successThreshold ?? 1,
    },
    northSouthShare: 0.6,
    sloMs: 300, // the latency SLO: 99% of authorizations under 0.3 s
    gateway: { workload: "public-istio", namespace: "istio-ingress", serviceAccount: "public-istio" },
    eastWest: { workload: "checkout", namespace: "shop" },
    log,
  });
  await mesh.start();
  const meshBackend = (s) => ({ port: s.port, revision: s.revision, pod: s.pod });
  mesh.setBackend("stable", meshBackend(svc.stable));
  mesh.setBackend("canary", meshBackend(svc.canary));
  record.mesh = { port: mesh.port, metricsPorts: mesh.metricsPorts, routeTimeoutMs: routes.timeoutMs, routeTimeoutFrom: routes.from, retry: routes.retry, probe: mesh.probe, northSouthShare: mesh.northSouthShare, gateway: mesh.gateway, eastWest: mesh.eastWest, services: mesh.services, events: mesh.events };
  log(`mesh: 127.0.0.1:${mesh.port} (waypoint metrics :${mesh.metricsPorts.waypoint}, gateway metrics :${mesh.metricsPorts.source}); route timeout ${formatShort(routes.timeoutMs)} (${routes.from}, real time, not scaled), retry ${routes.retry.attempts} x connect-failure; readiness probe every ${formatShort(mesh.probe.periodMs)}, timeout ${formatShort(mesh.probe.timeoutMs)}, ${mesh.probe.failureThreshold} failures -> no endpoints; 60% north-south (gateway, reporter=source), 40% east-west (waypoint)`);

  // ---- Prometheus ----
  const prom = new Prometheus({ dir: path.join(work, "prometheus"), config, scale: N, logFile: path.join(out, "prometheus.log") });
  const servicePod = (s, phase = "Running") => ({ namespace: opt.namespace, name: s.pod, uid: crypto.randomUUID(), phase, app: "auth-service", hash: s.hash, revision: s.revision, container: rolloutContainer.name, image: `${rolloutContainer.image.split(":")[0]}:${s.version}`, ports: portsOf(s) });
  const pendingPod = (release) => ({ namespace: opt.namespace, name: `${opt.rollout}-${release.hash}-${podSuffix()}`, uid: crypto.randomUUID(), phase: "Pending", app: "auth-service", hash: release.hash, revision: release.revision, container: rolloutContainer.name, image: rolloutContainer.image, ports: rolloutContainer.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, port: 9 })) });
  // A canary pod still starting (phase Pending): discovery lists it, relabeling drops it.
  let servicePods = [servicePod(svc.stable), servicePod(svc.canary), pendingPod(releases[0])];
  const meshPods = {
    waypoint: { namespace: opt.namespace, name: `waypoint-${hex(5).slice(0, 10)}-${podSuffix()}`, gateway: "waypoint", gatewayClass: "istio-waypoint", metricsPort: mesh.metricsPorts.waypoint },
    gateway: { namespace: "istio-ingress", name: `public-istio-${hex(5).slice(0, 10)}-${podSuffix()}`, gateway: "public", gatewayClass: "istio", metricsPort: mesh.metricsPorts.source },
  };
  // auth-service pods in discovery for the mesh jobs too (they must be dropped there).
  const writeAllTargets = () => {
    prom.writeTargets(jobs.service, servicePods.flatMap(podTargets));
    prom.writeTargets(jobs.waypoint, [...meshPodTargets(meshPods.waypoint), ...servicePods.flatMap(podTargets)]);
    prom.writeTargets(jobs.gateway, meshPodTargets(meshPods.gateway));
  };
  writeAllTargets();
  await prom.start();
  log(`prometheus ${prom.url} (TSDB ${path.join(work, "prometheus", "tsdb")}); file_sd: ${jobs.service} ${servicePods.length} pods x ${rolloutContainer.ports.length} ports; ${jobs.waypoint} the waypoint pod (+ the auth-service pods); ${jobs.gateway} the gateway pod`);
  record.relabeling = await verifyRelabeling(prom, { job, svc, namespace: opt.namespace, log, scrapeMs: config.scrapeIntervalMs });
  record.relabeling.mesh = await verifyMeshRelabeling(prom, { jobs, meshPods, log, scrapeMs: config.scrapeIntervalMs });

  // ---- traffic ----
  // Every request carries the same Luhn-valid authorization, so every decline comes from
  // the shared processor. authload sends all of it to the mesh, which splits it.
  const bodyFile = path.join(work, "authorize.json");
  fs.writeFileSync(bodyFile, JSON.stringify({ card_number: "4111111111111111", currency: "EUR", amount: "42.50", merchant: "canary-rehearsal", merchant_id: "rehearsal" }));
  const traffic = new Traffic({ authload, target: `127.0.0.1:${mesh.port}`, rps: rate * N, out, record, el, N, log, bodyFile });
  traffic.maxDurationS = Math.ceil(((planMaxMs(plan, runSpecsOf[0], N) * releases.length + (releases.length - 1) * (plan.abortScaleDownDelayMs + 60_000) / N) / 1000) * 1.5 + 60);
  const setWeight = (w, why) => {
    record.weights.push({ at: now(), weight: w });
    const eff = sc.traffic === "unrouted" && opt.fault === undefined ? 0 : w;
    record.trafficWeights.push({ at: now(), weight: eff });
    mesh.setWeight(eff);
    log(`mesh: ${eff}% of authorize requests to the canary${eff !== w ? ` (the Rollout says ${w}: routes not applied)` : ""} (${why})`);
  };
  setWeight(0, "steady state before the rollout");
  await traffic.start();
  await sleep(Math.max(3000, 4 * config.scrapeIntervalMs));

  // ---- faults ----
  const inject = async (s, body) => {
    const url = `http://127.0.0.1:${s.admin}/admin/fault-inject`;
    const unauth = await httpJson(url, { method: "POST", body });
    if (unauth.status !== 401) throw new Error(`POST /admin/fault-inject without the token answered ${unauth.status}, expected 401`);
    const r = await httpJson(url, { method: "POST", body, headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`POST /admin/fault-inject answered ${r.status}: ${r.text.slice(0, 300)}`);
    return r;
  };
  const injectFault = async (why) => {
    if (record.faultOn === "processor") {
      record.processor.statsAtFault = await sim.stats();
      const r = await sim.inject(fault);
      record.faultResponse = r.json;
      record.processor.fault = fault;
      log(`fault injected into the shared processor (simulator admin port, PUT /admin/faults)${why ? ` ${why}` : ""}: ${JSON.stringify(fault)} -> ${r.text.trim().slice(0, 200)}`);
      record.faultAt = now();
      return;
    }
    for (const role of ["canary"]) {
      const r = await inject(svc[role], fault);
      record.faultResponse = r.json;
      log(`fault injected into ${role} (admin port, Bearer token; 401 without it)${why ? ` ${why}` : ""}: ${JSON.stringify(fault)} -> ${r.text.trim().slice(0, 200)}`);
    }
    record.faultAt = now();
  };
  let actionTimer = null;
  const armAction = () => {
    if (!sc.action || actionTimer || opt.fault !== undefined) return;
    const target = svc.canary;
    actionTimer = setTimeout(() => {
      if (target.proc.exited) return;
      target.proc.child.kill(sc.action);
      record.faultAt = now();
      log(`fault: ${sc.action} sent to the canary process (pid ${target.proc.child.pid})${sc.action === "SIGKILL" ? "; it stays down" : ": it answers nothing from now on"}`);
    }, ((sc.actionDelayS || 0) * 1000) / N);
  };

  // ---- the rollouts ----
  let verdict = null;
  let reason = null;
  for (let k = 0; k < releases.length; k++) {
    const release = releases[k];
    const isRetry = k > 0;
    if (isRetry) {
      // The aborted canary's pods are gone; one production minute later a new release.
      log(`rollout ${k + 1}: a new release ${release.version} (canonical-revision ${release.revision}) one production minute after the abort`);
      await sleep(60_000 / N);
      mesh.setBackend("canary", null);
      await stopProcess(svc.canary.proc);
      svc.canary = await startService("canary", release);
      mesh.setBackend("canary", meshBackend(svc.canary));
      servicePods = [servicePod(svc.stable), servicePod(svc.canary)];
      writeAllTargets();
      await sleep(Math.max(1000, 3 * config.scrapeIntervalMs));
    }
    if (sc.traffic === "none" && opt.fault === undefined) {
      // No traffic at all (a night): the load stops, and the rollout starts once the
      // mesh's 1m windows (and the recording rules over them) hold none of the traffic
      // sent before, as when nothing was sent for a while.
      await traffic.stop("no-traffic: nothing is sent from here on");
      await sleep((2 * 60_000) / N + 3 * config.scrapeIntervalMs + 2 * config.evaluationIntervalMs);
    }
    if (r0 === null) r0 = now();
    const rolloutRec = { release: { ...release, pod: svc.canary.pod }, startedAt: now(), verdict: null, reason: null, verdictAt: null };
    record.rollouts.push(rolloutRec);
    const withFault = !isRetry && fault && !(sc.faultAfterWeight !== undefined && opt.fault === undefined);
    if (withFault) await injectFault("at the rollout's start");
    const res = await runRollout({
      runSpecs: runSpecsOf[k],
      label: releases.length > 1 ? `#${k + 1} ` : "",
      onWeight: (w) => {
        if (w > 0 && !isRetry) armAction();
        if (!isRetry && fault && sc.faultAfterWeight !== undefined && opt.fault === undefined && w > sc.faultAfterWeight && !record.faultAt) return injectFault(`(first step above ${sc.faultAfterWeight}%)`);
        return null;
      },
    });
    Object.assign(rolloutRec, res, { verdictAt: res.decidedAt });
    verdict = res.verdict;
    reason = res.reason;
    if (actionTimer) clearTimeout(actionTimer);
    if (!isRetry) {
      record.verdictAt = res.decidedAt;
      record.abort = abortReport({ mesh, faultAt: record.faultAt, verdictAt: record.verdictAt, verdict, N, latency: sc.slo === "latency" && opt.fault === undefined });
      if (record.abort) log(`abort report: ${record.abort.summary}`);
    }
    if (verdict !== "aborted" || k + 1 >= releases.length) break;
  }
  record.verdictAt = record.rollouts[record.rollouts.length - 1].verdictAt;
  log(`${releases.length > 1 ? `final (rollout ${record.rollouts.length}): ` : ""}${verdict.toUpperCase()}: ${reason}`);

  // Dashboard panels, while traffic still flows.
  record.dashboard = await checkDashboard(prom, manifests, { namespace: opt.namespace, rateInterval: formatPromDuration(Math.max(60_000 / N, 4 * config.scrapeIntervalMs)), log });
  record.alerts = (await prom.alerts()).map((a) => ({ name: a.labels.alertname, state: a.state, labels: a.labels }));
  if (record.alerts.length) log(`alerts: ${record.alerts.map((a) => `${a.name}{${a.labels.rollouts_pod_template_hash || a.labels.pod || a.labels.namespace || ""}} ${a.state}`).join(", ")}`);
  record.verdict = verdict;
  record.reason = reason;
  record.endedAt = now();
  record.rolloutMinutes = prodS(record.verdictAt) / 60;
  if (record.faultAt && record.rollouts[0].verdictAt) record.faultToVerdict = { seconds: (record.rollouts[0].verdictAt - record.faultAt) / 1000, realMinutes: (((record.rollouts[0].verdictAt - record.faultAt) / 1000) * N) / 60 };
  exitCode = EXIT[verdict];

  // The mesh's counts against authload's own report and against what Prometheus scraped.
  await traffic.stop("end of the rehearsal");
  if (svc.canary.proc.child && sc.action === "SIGSTOP") svc.canary.proc.child.kill("SIGCONT");
  await sleep(Math.max(1500, 3 * config.scrapeIntervalMs));
  record.meshCheck = await checkMesh({ mesh, prom, traffic, record, jobs, meshPods, svc, releases, stableRelease, namespace: opt.namespace, log });
  await checkProcessor({ sim, svc, record, log });
  if (!record.meshCheck.ok) {
    log(`HARNESS ERROR: the mesh's counts do not match: ${record.meshCheck.problems.join("; ")}`);
    exitCode = EXIT.error;
    record.harnessError = "mesh counts";
  }

  const emptyPanels = record.dashboard.filter((d) => !d.series);
  if (emptyPanels.length) {
    log(`HARNESS ERROR: ${emptyPanels.length} dashboard panel queries returned nothing while traffic flowed`);
    exitCode = EXIT.error;
    record.harnessError = "empty dashboard panel queries";
  }
  if (record.expected) log(`verdict ${verdict}, expected ${record.expected}: ${verdict === record.expected ? "as expected" : "UNEXPECTED"}`);
  if (record.faultToVerdict) log(`fault to verdict: ${record.faultToVerdict.seconds.toFixed(1)} s here, ${record.faultToVerdict.realMinutes.toFixed(1)} min in production time`);

  await finish(record, out, metricNames, metricThresholds, log);
  await mesh.stop();
  await prom.stop();
  await stopAll();
  if (!opt.keep) fs.rmSync(work, { recursive: true, force: true });
  return exitCode;

  // One rollout of the canary now in svc.canary: steps, gate runs, the background run.
  async function runRollout({ runSpecs, label, onWeight }) {
    const ctl = { bg: null, stepRun: null };
    const newRun = (spec, name) => {
      const runRec = { name, kind: spec.kind, step: spec.step, rollout: record.rollouts.length, templates: (spec.analysis.templates || []).map((t) => t.templateName), startedAt: now(), phase: "Running", message: "", metrics: spec.metrics.map((m) => ({ name: m.name, template: m.template, query: m.query, successCondition: m.successCondition, failureCondition: m.failureCondition, limits: { interval: m.raw.interval, initialDelay: m.raw.initialDelay, count: m.raw.count, failureLimit: m.failureLimit, inconclusiveLimit: m.inconclusiveLimit, consecutiveErrorLimit: m.consecutiveErrorLimit }, phase: "Running", measurements: [] })) };
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
    const bgSpec = runSpecs.find((r) => r.kind === "background");
    const verdictOf = (run) => (run.phase === "Successful" ? null : run.phase === "Inconclusive" ? "paused" : "aborted");
    let v = null;
    let why = null;
    const bgWatch = () =>
      ctl.bg
        ? ctl.bg.done.then((r) => {
            const x = verdictOf(r);
            return x ? { verdict: x, reason: `background AnalysisRun ${r.name}: ${r.phase} (${r.message})` } : new Promise(() => {});
          })
        : new Promise(() => {});
    const weight = async (w, why2) => {
      setWeight(w, why2);
      const p = onWeight(w);
      if (p) await p;
    };
    await weight(0, `rollout ${label}starts (canary pods ready, no traffic yet)`);
    for (const step of plan.steps) {
      if (v) break;
      if (bgSpec && !ctl.bg && step.i >= plan.background.startingStep) {
        ctl.bg = newRun(bgSpec, `${label}${bgSpec.analysis.templates.map((t) => t.templateName).join("+")}(background)`);
        log(`background analysis started at step ${step.i}`);
      }
      record.steps.push({ at: now(), rollout: record.rollouts.length, step: step.i, kind: step.kind, weight: step.weight ?? null });
      if (step.kind === "setWeight") {
        log(`step ${step.i}: setWeight ${step.weight}`);
        await weight(step.weight, `setWeight ${step.weight}`);
        continue;
      }
      if (step.kind === "pause") {
        if (step.durationMs === null) {
          v = "paused";
          why = `step ${step.i}: pause without a duration (waits for a human)`;
          break;
        }
        log(`step ${step.i}: pause ${formatShort(step.durationMs)} (${formatShort(step.durationMs / N)} here)`);
        const r = await Promise.race([sleep(step.durationMs / N).then(() => null), bgWatch()]);
        if (r) ({ verdict: v, reason: why } = r);
        continue;
      }
      if (step.kind === "analysis") {
        const spec = runSpecs.find((r) => r.kind === "step" && r.step === step.i);
        const name = `${label}${spec.analysis.templates.map((t) => t.templateName).join("+")}`;
        log(`step ${step.i}: analysis ${name} (${spec.metrics.length} metrics)`);
        ctl.stepRun = newRun(spec, name);
        const r = await Promise.race([
          ctl.stepRun.done.then((run) => {
            const x = verdictOf(run);
            return x ? { verdict: x, reason: `AnalysisRun ${run.name}: ${run.phase} (${run.message})` } : null;
          }),
          bgWatch(),
        ]);
        if (r) ({ verdict: v, reason: why } = r);
        continue;
      }
    }
    if (!v) {
      v = "promoted";
      why = "all steps completed";
    }
    log(`ROLLOUT ${label}${v.toUpperCase()}: ${why}`);
    const at = now();
    if (v === "aborted") {
      await weight(0, "abort: all traffic back to stable");
      log(`abort: traffic back to stable; canary pods scaled down after abortScaleDownDelaySeconds (${formatShort(plan.abortScaleDownDelayMs)}, ${formatShort(plan.abortScaleDownDelayMs / N)} here)`);
      await sleep(plan.abortScaleDownDelayMs / N);
    }
    // Promoted or aborted: the controller terminates the runs. Paused: they would go on
    // while the rollout waits for a human; the rehearsal ends here.
    for (const r of [ctl.stepRun, ctl.bg]) if (r) (v === "paused" ? r.halt() : r.terminate());
    for (const rr of record.runs) if (rr.phase === "Running") rr.message = "still running when the rehearsal ended (the rollout is paused, waiting for a human)";
    await sleep(50);
    return { verdict: v, reason: why, decidedAt: at };
  }

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

// The route the mesh plays: the HTTPRoutes whose rule for POST /v1/authorize has the
// Rollout's canary and stable Services as backends (north-south and east-west must
// agree); its timeouts.request and retry stanza.
function meshRoutes(manifests, { namespace, canaryService, stableService }) {
  const found = [];
  for (const d of manifests.tree.docs) {
    if (d.kind !== "HTTPRoute" || d.namespace !== namespace) continue;
    for (const rule of d.obj.spec.rules || []) {
      const m = (rule.matches || []).some((x) => x.method === "POST" && x.path && x.path.value === "/v1/authorize");
      const names = (rule.backendRefs || []).map((b) => b.name);
      if (m && names.includes(canaryService) && names.includes(stableService)) found.push({ route: d.name, rule });
    }
  }
  if (!found.length) throw new Error(`no HTTPRoute in ${namespace} routes POST /v1/authorize to ${stableService} and ${canaryService}`);
  const one = (r) => ({
    timeoutMs: r.rule.timeouts && r.rule.timeouts.request ? parseDuration(r.rule.timeouts.request) : 15_000, // Envoy's default route timeout
    retry: { attempts: r.rule.retry ? Number(r.rule.retry.attempts ?? 0) : 2, backoffMs: r.rule.retry && r.rule.retry.backoff ? parseDuration(r.rule.retry.backoff) : 25 },
  });
  const first = one(found[0]);
  for (const f of found.slice(1)) {
    const o = one(f);
    if (o.timeoutMs !== first.timeoutMs || o.retry.attempts !== first.retry.attempts) throw new Error(`HTTPRoutes ${found[0].route} and ${f.route} disagree on the authorize rule's timeout or retries; the rehearsal plays one`);
  }
  return { ...first, from: found.map((f) => `${f.route} timeouts.request`).join(", ") };
}

// Time to abort and failed requests, from the mesh's own counts: the first
// client-visible failure of the canary at or after the fault, to the verdict. A failure
// is an error (5xx or no response); for a latency fault, an answer slower than the
// 0.3 s SLO as the client saw it.
function abortReport({ mesh, faultAt, verdictAt, verdict, N, latency }) {
  if (!faultAt) return null;
  const source = latency ? mesh.sloMisses : mesh.failures;
  const after = source.filter((f) => f.at >= faultAt && f.at <= verdictAt);
  const firstCanary = after.find((f) => f.role === "canary");
  const first = firstCanary || after[0] || null;
  const failed = first ? after.filter((f) => f.at >= first.at) : [];
  const rep = {
    verdict,
    failure: latency ? `answered slower than ${mesh.sloMs} ms` : "5xx or no response",
    firstFailureAt: first ? first.at : null,
    firstFailure: first ? { role: first.role, code: first.code, flags: first.flags } : null,
    faultToFirstFailureS: first ? ((first.at - faultAt) / 1000) * N : null,
    firstFailureToAbortS: first && verdict === "aborted" ? ((verdictAt - first.at) / 1000) * N : null,
    firstFailureToVerdictS: first ? ((verdictAt - first.at) / 1000) * N : null,
    failedBeforeAbort: failed.length,
    failedBeforeAbortCanary: failed.filter((f) => f.role === "canary").length,
    failedByCode: failed.reduce((o, f) => ((o[`${f.code} ${f.flags}`] = (o[`${f.code} ${f.flags}`] || 0) + 1), o), {}),
  };
  rep.summary = first
    ? `first client-visible failure ${rep.faultToFirstFailureS.toFixed(0)} s (production) after the fault (${first.role} ${first.code} ${first.flags}); ${verdict} ${rep.firstFailureToVerdictS.toFixed(0)} production s later; ${rep.failedBeforeAbort} client requests failed before the ${verdict === "aborted" ? "abort" : "verdict"} (${rep.failedBeforeAbortCanary} on the canary) ${JSON.stringify(rep.failedByCode)}`
    : `no client-visible failure between the fault and the verdict (${verdict})`;
  return rep;
}

// The mesh's counts equal authload's own report (what the clients saw), and Prometheus
// holds exactly the mesh's series with the istio labels intact plus namespace and pod.
async function checkMesh({ mesh, prom, traffic, record, jobs, meshPods, svc, releases, stableRelease, namespace, log }) {
  const problems = [];
  const t = mesh.totals;
  // Every segment that finished by itself: its requests as the mesh counted them equal
  // its own report, request for request and status code for status code.
  const client = { segments: 0, sent: 0, byCode: {} };
  for (const seg of record.traffic) {
    if (!seg.report) continue;
    const m = mesh.segments.get(String(seg.seq)) || { requests: 0, byCode: {} };
    const r = seg.report;
    client.segments++;
    client.sent += r.requests.sent;
    for (const [c, n] of Object.entries(r.status_codes || {})) client.byCode[c] = (client.byCode[c] || 0) + n;
    if (m.requests !== r.requests.sent) problems.push(`segment ${seg.seq}: mesh counted ${m.requests} requests, authload sent ${r.requests.sent}`);
    for (const c of new Set([...Object.keys(r.status_codes || {}), ...Object.keys(m.byCode)]))
      if ((m.byCode[c] || 0) !== ((r.status_codes || {})[c] || 0)) problems.push(`segment ${seg.seq} code ${c}: mesh ${m.byCode[c] || 0}, authload ${(r.status_codes || {})[c] || 0}`);
  }
  const finished = record.traffic.filter((x) => !x.stopped);
  if (finished.some((x) => !x.report)) problems.push(`authload segments without a report: ${finished.filter((x) => !x.report).map((x) => x.seq).join(", ")}`);
  // Prometheus: the last scrape of each reporter.
  const q = async (expr) => (await prom.query(expr)).result;
  const scraped = await q(`sum by (job, namespace, pod, reporter, source_workload, source_workload_namespace, destination_service_name, destination_service_namespace, destination_workload, destination_canonical_revision, response_code, response_flags, request_protocol) (istio_requests_total)`);
  const promTotal = scraped.reduce((s, r) => s + Number(r.value[1]), 0);
  const meshSeries = [...mesh.registries.waypoint.series.values(), ...mesh.registries.source.series.values()];
  if (promTotal !== t.requests) problems.push(`Prometheus has ${promTotal} requests in istio_requests_total, the mesh ${t.requests}`);
  for (const r of scraped) {
    const m = r.metric;
    const expectJob = m.reporter === "waypoint" ? jobs.waypoint : jobs.gateway;
    const pod = m.reporter === "waypoint" ? meshPods.waypoint : meshPods.gateway;
    if (m.job !== expectJob || m.pod !== pod.name || m.namespace !== pod.namespace) problems.push(`series ${JSON.stringify(m)}: job/pod/namespace not the ${m.reporter} pod's`);
    if (m.reporter === "source" && (m.source_workload !== mesh.gateway.workload || m.source_workload_namespace !== mesh.gateway.namespace)) problems.push(`reporter=source series without the gateway's source_workload: ${JSON.stringify(m)}`);
    if (![mesh.services.stable, mesh.services.canary].includes(m.destination_service_name) || m.destination_service_namespace !== namespace) problems.push(`unexpected destination_service: ${JSON.stringify(m)}`);
    const revs = [stableRelease.revision, ...releases.map((x) => x.revision), "unknown"];
    if (!revs.includes(m.destination_canonical_revision)) problems.push(`unexpected destination_canonical_revision ${m.destination_canonical_revision}`);
  }
  const hist = await q(`sum(istio_request_duration_milliseconds_count)`);
  const histTotal = hist.length ? Number(hist[0].value[1]) : 0;
  if (histTotal !== t.requests) problems.push(`istio_request_duration_milliseconds_count sums to ${histTotal}, the mesh counted ${t.requests}`);
  // Each release's canary series carry its own revision: never another release's.
  const byRev = await q(`sum by (destination_service_name, destination_canonical_revision) (istio_requests_total)`);
  for (const r of byRev) {
    const m = r.metric;
    if (m.destination_service_name === mesh.services.stable && ![stableRelease.revision, "unknown"].includes(m.destination_canonical_revision) && m.destination_canonical_revision !== undefined) {
      // After a promotion the canary release serves behind the stable Service; the
      // rehearsal ends at the verdict, so stable's series carry stable's revision only.
      problems.push(`stable Service series with revision ${m.destination_canonical_revision}`);
    }
  }
  const out = {
    ok: problems.length === 0,
    problems,
    mesh: { requests: t.requests, byCode: t.byCode, byRole: t.byRole, byReporter: t.byReporter, series: meshSeries.length },
    authload: client,
    segmentsCompared: client.segments,
    prometheus: { requests: promTotal, histogramCount: histTotal, series: scraped.length, byRevision: byRev.map((r) => ({ ...r.metric, requests: Number(r.value[1]) })) },
  };
  log(`mesh check: ${out.ok ? "OK" : "FAILED"}: mesh ${t.requests} requests (${Object.entries(t.byCode).map(([c, n]) => `${c}: ${n}`).join(", ")}; waypoint ${t.byReporter.waypoint}, gateway ${t.byReporter.source}), authload's ${client.segments} finished segment(s) ${client.sent} requests, all equal to the mesh's counts of them, Prometheus ${promTotal} in ${scraped.length} series${problems.length ? `; ${problems.join("; ")}` : ""}`);
  return out;
}

// What the shared processor saw (its /admin/stats) and what each service's pool did (the
// processor series of its /metrics); busy = 503 processor_busy answers, which the pool
// sizing rules out in every scenario: any is reported loudly and recorded.
async function checkProcessor({ sim, svc, record, log }) {
  const p = record.processor;
  p.stats = await sim.stats();
  p.busy = 0;
  for (const role of ["stable", "canary"]) {
    const s = svc[role];
    if (s.proc.exited || s.proc.child.signalCode) continue; // crash: gone
    let text = "";
    try {
      const r = await fetch(`http://127.0.0.1:${s.admin}/metrics`, { signal: AbortSignal.timeout(3000) });
      text = await r.text();
    } catch {
      continue;
    }
    const series = processorSeries(text);
    const sum = processorSummary(series);
    p.services[role] = { version: s.version, ...sum, series };
    p.busy += sum.busy;
  }
  const st = p.stats;
  const f = p.statsAtFault;
  if (f) p.sinceFault = { requests: st.requests - f.requests, errors: st.errors - f.errors };
  log(`processor: ${st.requests} calls (${st.executed} decided: ${st.approved} approved, ${st.declined} declined; ${st.errors} errors, ${st.duplicates} duplicates, ${st.rejected ?? 0} rejected)${f ? `; since ${JSON.stringify(p.fault)}: ${p.sinceFault.errors} errors in ${p.sinceFault.requests} calls` : ""}; 503 processor_busy: ${p.busy}; ${Object.entries(p.services).map(([r, x]) => `${r}: mode ${x.mode}, calls ${JSON.stringify(x.calls)}, ${x.retries} resent`).join("; ")}`);
  if (p.busy > 0) log(`PROCESSOR POOL TOO SMALL: ${p.busy} requests answered 503 processor_busy (PROCESSOR_MAX_CONNECTIONS=${p.pool.maxConnections}, PROCESSOR_MAX_QUEUE=${p.pool.maxQueue})`);
}

// The relabeling proof: exactly the Running pods' admin ports are scraped, with exactly
// the target labels namespace, pod and rollouts_pod_template_hash, and the service's own
// version label arrives intact.
async function verifyRelabeling(prom, { job, svc, namespace, log, scrapeMs }) {
  const deadline = Date.now() + Math.max(15000, 20 * scrapeMs);
  let last = "";
  while (Date.now() < deadline) {
    const t = await prom.targets();
    const active = ((t && t.activeTargets) || []).filter((a) => a.scrapePool === job);
    const dropped = ((t && t.droppedTargets) || []).filter((d) => d.discoveredLabels && d.discoveredLabels.job === job);
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

// authload, in back-to-back segments of SEGMENT_S seconds, all of their requests to the
// mesh (which splits them and outlives every segment). A segment ends by itself (its
// --duration, then a drain that waits for every outstanding answer) and writes its JSON
// report; the next one starts when the previous one's send window ends, so the rate
// never dips. Each segment marks its requests (header x-rehearsal-segment), so that the
// mesh's counts can be compared with each finished segment's own report exactly. The
// segment running when the rehearsal ends is stopped (SIGINT: no report).
const SEGMENT_S = 15;
class Traffic {
  constructor(o) {
    Object.assign(this, o);
    this.procs = new Set();
    this.seq = 0;
    this.timer = null;
    this.stopped = false;
  }

  async start() {
    this.stopped = false;
    this.startedAt = Date.now();
    await this.segment();
  }

  async segment() {
    if (this.stopped) return;
    const conns = Math.max(32, Math.ceil(this.rps * 0.8));
    const seq = this.seq++;
    const json = path.join(this.out, `authload-${seq}.json`);
    const args = ["--target", this.target, "--rate", this.rps.toFixed(1), "--connections", String(conns), "--duration", String(SEGMENT_S), "--warmup", "0", "--timeout", "5", "--body", this.bodyFile, "--header", `x-rehearsal-segment: ${seq}`, "--quiet", "--json", json];
    const p = startProcess(`authload-${seq}`, this.authload, args, { logFile: path.join(this.out, `authload-${seq}.log`) });
    const seg = { seq, startedAt: Date.now(), args, json };
    this.record.traffic.push(seg);
    this.procs.add(p);
    if (seq === 0) this.log(`traffic: authload ${this.rps.toFixed(0)} req/s over ${conns} connections, all to the mesh at ${this.target}, in ${SEGMENT_S} s segments`);
    p.exitPromise.then((e) => {
      this.procs.delete(p);
      seg.endedAt = Date.now();
      seg.exit = e.code ?? e.signal;
      if (fs.existsSync(json)) {
        try {
          seg.report = JSON.parse(fs.readFileSync(json, "utf8"));
        } catch {
          /* partial */
        }
      }
      if (e.code !== 0 && !seg.stopped) this.log(`traffic: authload segment ${seq} exited with ${e.code ?? e.signal} (log: ${p.logFile})`);
    });
    // Bounded: no new segment beyond the longest possible rehearsal.
    if (Date.now() + SEGMENT_S * 1000 - this.startedAt < (this.maxDurationS || 600) * 1000) this.timer = setTimeout(() => this.segment(), SEGMENT_S * 1000);
    await sleep(100);
    if (p.exited && p.exited.code !== 0) throw new Error(`authload exited at once (${p.exited.code}): ${p.lines.slice(-5).join(" | ")}`);
  }

  async stop(why) {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    for (const seg of this.record.traffic) if (!seg.endedAt) seg.stopped = true;
    await Promise.all([...this.procs].map((p) => stopProcess(p, { signal: "SIGINT", graceMs: 2000 })));
    this.log(`traffic: authload stopped (${why})`);
  }
}

// The mesh jobs' relabeling: exactly the waypoint pod and the gateway pod are scraped on
// 15020 (their other ports and the auth-service pods dropped), with exactly the target
// labels namespace and pod, and the istio labels arrive unchanged.
async function verifyMeshRelabeling(prom, { jobs, meshPods, log, scrapeMs }) {
  const deadline = Date.now() + Math.max(15000, 20 * scrapeMs);
  let last = "";
  while (Date.now() < deadline) {
    const t = await prom.targets();
    const problems = [];
    let ready = true;
    const out = {};
    for (const [kind, job] of [["waypoint", jobs.waypoint], ["gateway", jobs.gateway]]) {
      const active = ((t && t.activeTargets) || []).filter((a) => a.scrapePool === job);
      const dropped = ((t && t.droppedTargets) || []).filter((d) => d.discoveredLabels && d.discoveredLabels.job === job);
      last = `${job}: active ${active.map((a) => `${a.scrapeUrl} ${a.health}`).join("; ")}, dropped ${dropped.length}`;
      if (active.length !== 1 || active[0].health !== "up") {
        ready = false;
        if (active.length > 1) problems.push(`${job}: ${active.length} active targets, expected the ${kind} pod's 15020 only`);
        continue;
      }
      const a = active[0];
      const keys = Object.keys(a.labels).sort().join(",");
      if (keys !== "instance,job,namespace,pod") problems.push(`${job} target labels are ${keys}`);
      if (a.labels.pod !== meshPods[kind].name || a.labels.namespace !== meshPods[kind].namespace) problems.push(`${job} target labels wrong: ${JSON.stringify(a.labels)}`);
      if (!a.scrapeUrl.endsWith(`:${meshPods[kind].metricsPort}/stats/prometheus`)) problems.push(`${job} scraped at ${a.scrapeUrl}`);
      out[kind] = { labels: a.labels, scrapeUrl: a.scrapeUrl, dropped: dropped.length };
    }
    if (problems.length) throw new Error(`relabeling (mesh jobs): ${problems.join("; ")}`);
    if (ready) {
      log(`relabeling: ${jobs.waypoint} scrapes the waypoint pod, ${jobs.gateway} the gateway pod, /stats/prometheus, target labels instance, job, namespace, pod; ${out.waypoint.dropped + out.gateway.dropped} other targets dropped`);
      return out;
    }
    await sleep(200);
  }
  throw new Error(`Prometheus never scraped the mesh's waypoint and gateway: ${last}`);
}

main()
  .then((code) => process.exit(code))
  .catch(async (e) => {
    process.stderr.write(`canary-rehearsal: HARNESS ERROR: ${(process.env.REHEARSAL_DEBUG && e.stack) || e.message || e}\n`);
    await stopAll();
    process.exit(EXIT.error);
  });
