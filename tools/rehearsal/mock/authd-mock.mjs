#!/usr/bin/env node
// A stand-in for paystream-authd, for developing and testing the rehearsal harness
// without the real binary (tools/canary-rehearsal --authd tools/rehearsal/mock/authd-mock.mjs).
// Same environment variables, same listening line, same metric names and labels, same
// admin API (Bearer token from ADMIN_TOKEN_FILE); a simulated processor with latency,
// approvals, errors and a consecutive-failure circuit breaker, or with PROCESSOR_MODE=http
// calls to PROCESSOR_URL (keep-alive pool of PROCESSOR_MAX_CONNECTIONS, PROCESSOR_MAX_QUEUE
// waiting, beyond: 503 processor_busy; faults act before the call). Not the service.
import http from "node:http";
import fs from "node:fs";

const env = (k, d) => (process.env[k] === undefined ? d : process.env[k]);
const version = env("SERVICE_VERSION", "0.0.0-mock");
const base = { latency_ms: Number(env("LATENCY_BASE_MS", 200)), jitter_ms: Number(env("LATENCY_JITTER_MS", 50)), success_rate: Number(env("SUCCESS_RATE", 0.94)), error_rate: Number(env("ERROR_RATE", 0)), slow_rate: Number(env("SLOW_RATE", 0)), slow_latency_ms: Number(env("SLOW_LATENCY_MS", 0)), reset_rate: 0 };
const CLEAR = { enabled: false, latency_ms: null, jitter_ms: null, success_rate: null, error_rate: null, slow_rate: null, slow_latency_ms: null, reset_rate: null };
const fault = { ...CLEAR };
const eff = (k) => (fault.enabled && fault[k] !== null ? fault[k] : base[k]);
const token = env("ADMIN_TOKEN_FILE", "") ? fs.readFileSync(env("ADMIN_TOKEN_FILE"), "utf8").trimEnd() : null;
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3, 0.325, 0.35, 0.5, 1, 2.5];
const STATUSES = ["approved", "declined", "rejected", "error", "invalid"];
const PROCS = ["visa", "mastercard", "amex", "discover", "unknown"];
const counts = {};
const hist = {};
for (const s of STATUSES) for (const p of PROCS) {
  counts[`${s}|${p}`] = 0;
  hist[`${s}|${p}`] = { b: BUCKETS.map(() => 0), inf: 0, sum: 0 };
}
const cb = { state: 0, fails: 0, openedAt: 0, probes: 0, trips: 0 };
const openMs = Number(env("CB_OPEN_TIMEOUT_MS", 30000));
function observe(status, proc, sec) {
  counts[`${status}|${proc}`]++;
  const h = hist[`${status}|${proc}`];
  BUCKETS.forEach((b, i) => { if (sec <= b) h.b[i]++; });
  h.inf++;
  h.sum += sec;
}
function cbState() {
  if (cb.state === 2 && Date.now() - cb.openedAt >= openMs) { cb.state = 1; cb.probes = 0; }
  return cb.state;
}
function onResult(ok) {
  if (ok) { cb.fails = 0; if (cb.state === 1 && ++cb.probes >= 3) cb.state = 0; return; }
  cb.fails++;
  if (cb.state === 1 || cb.fails >= Number(env("CB_FAILURE_THRESHOLD", 5))) { cb.state = 2; cb.openedAt = Date.now(); cb.trips++; cb.fails = 0; }
}
const httpMode = env("PROCESSOR_MODE", "simulated") === "http";
const upstream = httpMode ? new URL(env("PROCESSOR_URL", "")) : null;
const maxConn = Number(env("PROCESSOR_MAX_CONNECTIONS", 64));
const maxQueue = Number(env("PROCESSOR_MAX_QUEUE", 1024));
const agent = new http.Agent({ keepAlive: true, maxSockets: maxConn });
const apiKey = env("PROCESSOR_API_KEY_FILE", "") ? fs.readFileSync(env("PROCESSOR_API_KEY_FILE"), "utf8").trimEnd() : null;
let inFlight = 0;
let busyCount = 0;
let answered = 0;
let txn = 0;
// One call to the upstream: cb(ok, approved) (ok false: a processor failure).
function callUpstream(card, cb) {
  inFlight++;
  const id = `txn_${String(process.pid).padStart(8, "0")}${String(txn++).padStart(18, "0")}`;
  const body = JSON.stringify({ transaction_id: id, amount: "42.50", currency: "EUR", card_number: card, merchant: "m", network: "visa" });
  const rq = http.request({ agent, host: upstream.hostname, port: upstream.port, path: upstream.pathname, method: "POST", timeout: Number(env("PROCESSOR_TIMEOUT_MS", 2000)), headers: { "content-type": "application/json", "idempotency-key": id, ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) } }, (rs) => {
    let b = "";
    rs.on("data", (d) => (b += d));
    rs.on("end", () => {
      inFlight--;
      let j = null;
      try { j = JSON.parse(b); } catch { /* invalid */ }
      if (rs.statusCode !== 200 || !j || !["approved", "declined"].includes(j.status)) return cb(false);
      answered++;
      cb(true, j.status === "approved");
    });
  });
  rq.on("timeout", () => rq.destroy(new Error("timeout")));
  rq.on("error", () => { inFlight--; cb(false); });
  rq.end(body);
}
const pub = http.createServer((req, res) => {
  const t0 = process.hrtime.bigint();
  const done = (code, status, proc, body) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
    observe(status, proc, Number(process.hrtime.bigint() - t0) / 1e9);
  };
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    if (req.method === "GET" && ["/health", "/livez", "/readyz"].includes(req.url)) { res.writeHead(200); res.end("{\"status\":\"healthy\"}"); return; }
    if (req.method !== "POST" || req.url !== "/v1/authorize") { res.writeHead(404); res.end("{}"); return; }
    let j;
    try { j = JSON.parse(body); } catch { return done(400, "invalid", "unknown", { error: "invalid_json" }); }
    const n = String((j && (j.card_number || (j.card && j.card.number))) || "4");
    const proc = n[0] === "4" ? "visa" : n[0] === "5" ? "mastercard" : n[0] === "3" ? "amex" : n[0] === "6" ? "discover" : "unknown";
    if (Math.random() < eff("reset_rate")) return req.socket.resetAndDestroy();
    if (cbState() === 2) return done(503, "rejected", proc, { status: "rejected", reason: "circuit_open" });
    if (httpMode) {
      if (inFlight >= maxConn + maxQueue) { busyCount++; return done(503, "rejected", proc, { error: "processor_busy" }); }
      const f = (k) => (fault.enabled ? fault[k] : null);
      const pre = (f("latency_ms") ?? 0) + (f("latency_ms") !== null ? (Math.random() * 2 - 1) * (f("jitter_ms") ?? 0) : 0) + (Math.random() < (f("slow_rate") ?? 0) ? f("slow_latency_ms") ?? 0 : 0);
      return setTimeout(() => {
        if (Math.random() < (f("error_rate") ?? 0)) { onResult(false); return done(502, "error", proc, { status: "error" }); }
        if (f("success_rate") !== null && Math.random() >= f("success_rate")) return done(200, "declined", proc, { status: "declined" });
        callUpstream(n, (ok, approved) => {
          onResult(ok);
          if (!ok) return done(502, "error", proc, { status: "error" });
          done(200, approved ? "approved" : "declined", proc, { status: approved ? "approved" : "declined" });
        });
      }, Math.max(0, pre));
    }
    const lat = Math.max(0, eff("latency_ms") + (Math.random() * 2 - 1) * eff("jitter_ms")) + (Math.random() < eff("slow_rate") ? eff("slow_latency_ms") : 0);
    setTimeout(() => {
      if (Math.random() < eff("error_rate")) { onResult(false); return done(502, "error", proc, { status: "error" }); }
      onResult(true);
      if (Math.random() < eff("success_rate")) return done(200, "approved", proc, { status: "approved" });
      return done(200, "declined", proc, { status: "declined" });
    }, lat);
  });
});
function metrics() {
  const L = [];
  L.push("# TYPE auth_requests_total counter");
  for (const s of STATUSES) for (const p of PROCS) L.push(`auth_requests_total{version="${version}",status="${s}",processor="${p}"} ${counts[`${s}|${p}`]}`);
  L.push("# TYPE auth_request_duration_seconds histogram");
  for (const s of STATUSES) for (const p of PROCS) {
    const h = hist[`${s}|${p}`];
    BUCKETS.forEach((b, i) => L.push(`auth_request_duration_seconds_bucket{version="${version}",status="${s}",processor="${p}",le="${b}"} ${h.b[i]}`));
    L.push(`auth_request_duration_seconds_bucket{version="${version}",status="${s}",processor="${p}",le="+Inf"} ${h.inf}`);
    L.push(`auth_request_duration_seconds_sum{version="${version}",status="${s}",processor="${p}"} ${h.sum}`);
    L.push(`auth_request_duration_seconds_count{version="${version}",status="${s}",processor="${p}"} ${h.inf}`);
  }
  L.push("# TYPE circuit_breaker_state gauge", `circuit_breaker_state ${cbState()}`);
  L.push("# TYPE circuit_breaker_trips_total counter", `circuit_breaker_trips_total ${cb.trips}`);
  L.push("# TYPE auth_processor_mode gauge", `auth_processor_mode{mode="simulated"} ${httpMode ? 0 : 1}`, `auth_processor_mode{mode="http"} ${httpMode ? 1 : 0}`);
  L.push("# TYPE auth_processor_calls_total counter", `auth_processor_calls_total{result="answered"} ${answered}`, `auth_processor_calls_total{result="busy"} ${busyCount}`);
  L.push("# TYPE fault_injection_enabled gauge", `fault_injection_enabled ${fault.enabled ? 1 : 0}`);
  L.push("# TYPE auth_build_info gauge", `auth_build_info{version="${version}",revision="mock",service_version="${version}"} 1`);
  return L.join("\n") + "\n";
}
const admin = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const send = (code, obj, type = "application/json") => { res.writeHead(code, { "content-type": type }); res.end(typeof obj === "string" ? obj : JSON.stringify(obj)); };
    if (req.method === "GET" && req.url === "/metrics") return send(200, metrics(), "text/plain; version=0.0.4");
    if (req.url === "/admin/fault-inject") {
      if (req.method === "GET") return send(200, { fault_injection: fault });
      if (token && req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "unauthorized" });
      if (req.method === "DELETE") { Object.assign(fault, CLEAR); return send(200, { fault_injection: fault }); }
      if (req.method === "POST") {
        let j;
        try { j = JSON.parse(body); } catch { return send(400, { error: "invalid_json" }); }
        for (const k of Object.keys(j)) if (!(k in fault)) return send(400, { error: `unknown field ${k}` });
        Object.assign(fault, j);
        return send(200, { fault_injection: fault });
      }
    }
    send(404, { error: "not_found" });
  });
});
pub.keepAliveTimeout = 60000;
pub.listen(Number(env("PORT", 8080)), env("BIND_ADDR", "0.0.0.0"), () =>
  admin.listen(Number(env("ADMIN_PORT", 8081)), env("ADMIN_BIND_ADDR", "127.0.0.1"), () =>
    console.log(JSON.stringify({ level: "info", msg: "listening", port: pub.address().port, admin_port: admin.address().port, version, mock: true }))));
process.on("SIGTERM", () => process.exit(0));
