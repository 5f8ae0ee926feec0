// The processor both versions share: one paystream-processor-sim process on ephemeral
// loopback ports, its baseline behaviour, the services' connection pools sized for the
// rehearsal's traffic, and its admin port (a processor incident is injected there, where
// it really happens: every caller sees it).
import path from "node:path";
import fs from "node:fs";
import { startProcess, waitForLine, stopProcess, httpJson } from "./procs.mjs";

// The baseline of every processor call, stable's and canary's alike: the latency of the
// service's simulated mode (200 +/- 50 ms), 0.05% processor errors, 0.5% of calls 150 ms
// slower (over the 0.3 s SLO), 94% approvals. A healthy run thus exercises the thresholds.
export const SIM_BASELINE = { latencyMs: 200, jitterMs: 50, successRate: 0.94, errorRate: 0.0005, slowRate: 0.005, slowLatencyMs: 150 };

// The service's per-call deadline (PROCESSOR_TIMEOUT_MS, left at its default): a call
// waiting longer for a connection has failed anyway.
export const PROCESSOR_TIMEOUT_MS = 2000;

const pow2 = (x) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

// Pool and queue of one service (one reactor), by Little's law, L = lambda x W.
//   lambda: the whole sent rate (rate x time scale) can reach one version: stable before the
//     rollout, the canary at 100%. At the defaults, 27.8 x 20 = 556 calls/s.
//   W: a call holds its connection for the simulator's answer time, at most latency +
//     jitter + slow latency = 400 ms (loopback transfer is negligible; faults injected on the
//     service act before the call, outside the pool). The mean is 200.75 ms, so on average
//     L = 556 x 0.2 = 112 connections are busy; if every call were the slowest, 222.
//   Pool: twice that bound (an open-loop load from hundreds of connections arrives in
//     bursts, and a process of this shared 2-core machine can stall for a scheduling slice),
//     rounded up to a power of two: 512 at the defaults. A pool below the concurrency would
//     make calls wait, which is latency the SLO counts, so the pool, not the queue, takes
//     the peaks.
//   Queue: the calls that arrive within one deadline, lambda x PROCESSOR_TIMEOUT_MS = 1112
//     (a longer queue would only hold calls that time out): 2048 after rounding.
// 503 processor_busy needs pool + queue (2560) calls in flight at once: about 10x the worst
// case above, so a healthy run never sees one (the record's processor.busy proves it).
export function poolSizing(sentRps, baseline = SIM_BASELINE) {
  const worstCallS = (baseline.latencyMs + baseline.jitterMs + baseline.slowLatencyMs) / 1000;
  const meanCallS = (baseline.latencyMs + baseline.slowRate * baseline.slowLatencyMs) / 1000;
  const busyMean = sentRps * meanCallS;
  const busyWorst = sentRps * worstCallS;
  const maxConnections = Math.min(4096, Math.max(16, pow2(2 * busyWorst)));
  const maxQueue = Math.min(65536, Math.max(64, pow2((sentRps * PROCESSOR_TIMEOUT_MS) / 1000)));
  return { sentRps, meanCallMs: meanCallS * 1000, worstCallMs: worstCallS * 1000, busyMean, busyWorst, maxConnections, maxQueue };
}

// Where the simulator is built: next to the service (the same build directory).
export function simulatorNextTo(authd) {
  const buildDir = path.dirname(path.dirname(authd)); // <build>/svc/paystream-authd
  return [path.join(buildDir, "svc", "processor_sim", "paystream-processor-sim"), path.join(path.dirname(authd), "paystream-processor-sim")].find((c) => fs.existsSync(c)) || null;
}

export function simulatorArgs(baseline = SIM_BASELINE, { seed, apiKeyFile } = {}) {
  const a = ["--bind", "127.0.0.1", "--port", "0", "--admin-bind", "127.0.0.1", "--admin-port", "0", "--reactors", "1"];
  a.push("--latency-ms", String(baseline.latencyMs), "--jitter-ms", String(baseline.jitterMs), "--success-rate", String(baseline.successRate));
  a.push("--error-rate", String(baseline.errorRate), "--slow-rate", String(baseline.slowRate), "--slow-latency-ms", String(baseline.slowLatencyMs));
  if (apiKeyFile) a.push("--api-key-file", apiKeyFile);
  if (seed !== undefined) a.push("--seed", String(seed));
  return a;
}

// The services' environment for this processor.
export function serviceEnv(sim, pool) {
  return {
    PROCESSOR_MODE: "http",
    PROCESSOR_URL: `http://127.0.0.1:${sim.port}/v1/authorizations`,
    PROCESSOR_MAX_CONNECTIONS: String(pool.maxConnections),
    PROCESSOR_MAX_QUEUE: String(pool.maxQueue),
    PROCESSOR_TIMEOUT_MS: String(PROCESSOR_TIMEOUT_MS),
    ...(sim.apiKeyFile ? { PROCESSOR_API_KEY_FILE: sim.apiKeyFile } : {}),
  };
}

export class Simulator {
  constructor({ bin, baseline = SIM_BASELINE, apiKeyFile, seed, logFile }) {
    Object.assign(this, { bin, baseline, apiKeyFile, seed, logFile });
    this.proc = null;
  }

  async start() {
    this.args = simulatorArgs(this.baseline, { seed: this.seed, apiKeyFile: this.apiKeyFile });
    this.proc = startProcess("processor-sim", this.bin, this.args, { logFile: this.logFile });
    const line = await waitForLine(this.proc, /"listening"/, 10000);
    const j = JSON.parse(line.slice(line.indexOf("{")));
    this.port = j.port;
    this.admin = j.admin_port;
    if (!(this.port > 0 && this.admin > 0)) throw new Error(`processor-sim: no ports in its listening line: ${line}`);
    const ready = await httpJson(`http://127.0.0.1:${this.port}/readyz`);
    if (ready.status !== 200) throw new Error(`processor-sim: /readyz answered ${ready.status}`);
    return this;
  }

  // A processor incident: the fault acts for every caller. Answers the simulator's state.
  async inject(fault) {
    const r = await httpJson(`http://127.0.0.1:${this.admin}/admin/faults`, { method: "PUT", body: fault });
    if (r.status !== 200) throw new Error(`processor-sim: PUT /admin/faults answered ${r.status}: ${r.text.slice(0, 300)}`);
    return r;
  }

  async stats() {
    const r = await httpJson(`http://127.0.0.1:${this.admin}/admin/stats`);
    if (r.status !== 200 || !r.json) throw new Error(`processor-sim: GET /admin/stats answered ${r.status}`);
    return r.json;
  }

  async stop() {
    await stopProcess(this.proc);
  }
}

// The processor series of a service's /metrics (name{labels} -> value, histogram buckets
// left out): auth_processor_mode, auth_processor_calls_total by result, connections,
// queue depth, retries, upstream duration sum and count.
export function processorSeries(text) {
  const out = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^(auth_processor_[a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1].endsWith("_bucket")) continue;
    out[`${m[1]}${m[2] || ""}`] = Number(m[3]);
  }
  return out;
}

// What the rehearsal checks of a service's pool: the mode in force and the calls answered
// 503 processor_busy (never sent).
export function processorSummary(series) {
  const mode = Object.entries(series).find(([k, v]) => k.startsWith("auth_processor_mode{") && v === 1);
  const byResult = {};
  for (const [k, v] of Object.entries(series)) {
    const m = /^auth_processor_calls_total\{.*result="([a-z_]+)"/.exec(k);
    if (m) byResult[m[1]] = (byResult[m[1]] || 0) + v;
  }
  return { mode: mode ? /mode="([a-z]+)"/.exec(mode[0])[1] : null, calls: byResult, busy: byResult.busy || 0, retries: series.auth_processor_retries_total || 0 };
}
