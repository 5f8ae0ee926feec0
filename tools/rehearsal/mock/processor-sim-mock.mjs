#!/usr/bin/env node
// A stand-in for paystream-processor-sim, for working on the rehearsal harness without the
// C++ build (tools/canary-rehearsal --processor-sim tools/rehearsal/mock/processor-sim-mock.mjs).
// The flags the rehearsal passes, the same listening line, the contract's POST with key
// dedupe (answers replayed), PUT|GET|DELETE /admin/faults and GET /admin/stats. Not the
// simulator.
import http from "node:http";
import fs from "node:fs";

const flags = {};
for (let i = 2; i < process.argv.length; i += 2) flags[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const f = (k, d) => (flags[k] === undefined ? d : flags[k]);
const base = { latency_ms: Number(f("latency-ms", 50)), jitter_ms: Number(f("jitter-ms", 10)), success_rate: Number(f("success-rate", 0.94)), error_rate: Number(f("error-rate", 0)), slow_rate: Number(f("slow-rate", 0)), slow_latency_ms: Number(f("slow-latency-ms", 0)), reset_rate: 0, garbage_rate: 0, truncate_rate: 0 };
const CLEAR = Object.fromEntries(Object.keys(base).map((k) => [k, null]));
const fault = { enabled: false, ...CLEAR };
const eff = (k) => (fault.enabled && fault[k] !== null ? fault[k] : base[k]);
const state = () => ({ ...fault, effective: Object.fromEntries(Object.keys(base).map((k) => [k, eff(k)])) });
const keyFile = f("api-key-file", null);
const key = keyFile ? fs.readFileSync(keyFile, "utf8").trimEnd() : null;
const stats = { requests: 0, executed: 0, duplicates: 0, in_flight_duplicates: 0, approved: 0, declined: 0, errors: 0, keys: 0, evictions: 0, rejected: 0 };
const answers = new Map();
const path = f("path", "/v1/authorizations");

const pub = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const send = (code, obj, extra = {}) => {
      res.writeHead(code, { "content-type": "application/json", ...extra });
      res.end(typeof obj === "string" ? obj : JSON.stringify(obj));
    };
    if (req.method === "GET" && (req.url === "/livez" || req.url === "/readyz")) return send(200, { status: "ok" });
    if (req.method !== "POST" || req.url !== path) return send(404, { error: "not_found" });
    stats.requests++;
    if (key && req.headers.authorization !== `Bearer ${key}`) return stats.rejected++, send(401, { error: "unauthorized", message: "bad key" });
    const k = req.headers["idempotency-key"];
    if (!k) return stats.rejected++, send(400, { error: "invalid_request", message: "Idempotency-Key" });
    const prev = answers.get(k);
    if (prev) {
      if (prev.body !== body) return stats.rejected++, send(422, { error: "idempotency_key_reused", message: "" });
      stats.duplicates++;
      return send(200, prev.answer, { "idempotent-replayed": "true" });
    }
    const lat = Math.max(0, eff("latency_ms") + Math.round((Math.random() * 2 - 1) * eff("jitter_ms"))) + (Math.random() < eff("slow_rate") ? eff("slow_latency_ms") : 0);
    setTimeout(() => {
      if (Math.random() < eff("error_rate")) return stats.errors++, send(500, { error: "processor_error", message: "simulated" });
      const ok = Math.random() < eff("success_rate");
      const answer = ok ? { status: "approved", authorization_code: "A1B2C3" } : { status: "declined", decline_code: "do_not_honor" };
      answers.set(k, { body, answer: JSON.stringify(answer) });
      stats.executed++;
      stats.keys = answers.size;
      ok ? stats.approved++ : stats.declined++;
      send(200, answer);
    }, lat);
  });
});
const admin = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const send = (code, obj) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    if (req.method === "GET" && req.url === "/admin/stats") return send(200, stats);
    if (req.url !== "/admin/faults") return send(404, { error: "not_found" });
    if (req.method === "GET") return send(200, state());
    if (req.method === "DELETE") return Object.assign(fault, { enabled: false, ...CLEAR }), send(200, state());
    if (req.method !== "PUT") return send(405, { error: "method_not_allowed" });
    let j;
    try {
      j = JSON.parse(body);
    } catch {
      return send(400, { error: "invalid_request" });
    }
    for (const k of Object.keys(j)) if (!(k in fault)) return send(400, { error: "invalid_request", field: k });
    Object.assign(fault, j);
    console.error(JSON.stringify({ level: "info", msg: "faults changed", faults: fault }));
    send(200, state());
  });
});
pub.keepAliveTimeout = Number(f("idle-timeout-ms", 60000));
pub.listen(Number(f("port", 9090)), f("bind", "0.0.0.0"), () =>
  admin.listen(Number(f("admin-port", 9091)), f("admin-bind", "127.0.0.1"), () =>
    console.error(JSON.stringify({ level: "info", msg: "listening", port: pub.address().port, admin_port: admin.address().port, mock: true }))));
process.on("SIGTERM", () => process.exit(0));
