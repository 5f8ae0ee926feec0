#!/usr/bin/env node
// A stand-in for bench/authload (the flags the rehearsal uses: --target, --rate,
// --connections, --duration, --warmup, --timeout, --body, --header, --quiet, --json), open
// loop, a drain that waits for every outstanding answer, and the report fields the
// rehearsal reads (requests.sent, status_codes), for developing the rehearsal harness
// without the real load generator. Not authload.
import http from "node:http";
import fs from "node:fs";

const o = { targets: [], rate: 0, connections: 16, duration: 10, json: null, timeout: 5, body: null, headers: {} };
const a = process.argv.slice(2);
for (let i = 0; i < a.length; i++) {
  const k = a[i];
  if (k === "--quiet") continue;
  const v = a[++i];
  if (k === "--target") o.targets.push(v);
  else if (k === "--rate") o.rate = Number(v);
  else if (k === "--connections") o.connections = Number(v);
  else if (k === "--duration") o.duration = Number(v);
  else if (k === "--json") o.json = v;
  else if (k === "--timeout") o.timeout = Number(v);
  else if (k === "--body") o.body = fs.readFileSync(v, "utf8");
  else if (k === "--header") o.headers[v.slice(0, v.indexOf(":")).trim().toLowerCase()] = v.slice(v.indexOf(":") + 1).trim();
}
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
const stats = { sent: 0, responses: 0, errors: 0, status_codes: {} };
let outstanding = 0;
const t0 = Date.now();
const body = o.body || JSON.stringify({ card_number: "4111111111111111", amount: "10.00", currency: "EUR", merchant_id: "m-1" });
const [host, port] = o.targets[0].split(":");
const tick = setInterval(() => {
  const el = (Date.now() - t0) / 1000;
  if (el >= o.duration) return drain();
  let credit = o.rate * el - stats.sent;
  while (credit >= 1) {
    credit--;
    stats.sent++;
    outstanding++;
    const req = http.request({ host, port, method: "POST", path: "/v1/authorize", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...o.headers }, timeout: o.timeout * 1000 }, (res) => {
      res.resume();
      res.on("end", () => {
        stats.responses++;
        stats.status_codes[res.statusCode] = (stats.status_codes[res.statusCode] || 0) + 1;
        outstanding--;
      });
    });
    req.on("error", () => {
      stats.errors++;
      outstanding--;
    });
    req.end(body);
  }
}, 5);
function drain() {
  clearInterval(tick);
  const wait = setInterval(() => {
    if (outstanding > 0 && Date.now() - t0 < (o.duration + o.timeout) * 1000) return;
    clearInterval(wait);
    if (o.json) fs.writeFileSync(o.json, JSON.stringify({ mock: true, requests: { sent: stats.sent, responses: stats.responses, errors: stats.errors }, status_codes: stats.status_codes }));
    process.exit(0);
  }, 10);
}
process.on("SIGINT", () => process.exit(130));
