#!/usr/bin/env node
// A stand-in for bench/authload (same flags the rehearsal uses: --target twice, --weight,
// --rate, --connections, --duration, --warmup, --timeout, --quiet, --json), open loop,
// for developing the rehearsal harness without the real load generator. Not authload.
import http from "node:http";
import fs from "node:fs";

const o = { targets: [], weight: 50, rate: 0, connections: 16, duration: 10, json: null, timeout: 5 };
const a = process.argv.slice(2);
for (let i = 0; i < a.length; i++) {
  const k = a[i];
  if (k === "--quiet") continue;
  const v = a[++i];
  if (k === "--target") o.targets.push(v);
  else if (k === "--weight") o.weight = Number(v);
  else if (k === "--rate") o.rate = Number(v);
  else if (k === "--connections") o.connections = Number(v);
  else if (k === "--duration") o.duration = Number(v);
  else if (k === "--json") o.json = v;
  else if (k === "--timeout") o.timeout = Number(v);
}
const agents = o.targets.map(() => new http.Agent({ keepAlive: true, maxSockets: o.connections }));
const stats = { sent: 0, ok: 0, errors: 0, byTarget: o.targets.map(() => 0) };
const t0 = Date.now();
let credit = 0;
let acc = 0;
const body = JSON.stringify({ card_number: "4111111111111111", amount: "10.00", currency: "EUR", merchant_id: "m-1" });
const tick = setInterval(() => {
  const el = (Date.now() - t0) / 1000;
  if (el >= o.duration) return finish();
  credit = o.rate * el - stats.sent;
  while (credit >= 1) {
    credit--;
    acc += o.targets.length === 2 ? o.weight : 0;
    let ti = 0;
    if (acc >= 100) { acc -= 100; ti = 1; }
    const [host, port] = o.targets[ti].split(":");
    stats.sent++;
    stats.byTarget[ti]++;
    const req = http.request({ host, port, method: "POST", path: "/v1/authorize", agent: agents[ti], headers: { "content-type": "application/json", "content-length": body.length }, timeout: o.timeout * 1000 }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode < 500 ? stats.ok++ : stats.errors++));
    });
    req.on("error", () => stats.errors++);
    req.end(body);
  }
}, 5);
function finish() {
  clearInterval(tick);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ mock: true, ...stats }));
  process.exit(0);
}
process.on("SIGINT", finish);
