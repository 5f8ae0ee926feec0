// The rehearsal's mesh against small loopback backends: routing by weight, what a
// client sees and what the mesh reports for an answer, a timeout, a refused connection
// (retried), a reset, no endpoints after failed probes, and the exposition.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { Mesh, ISTIO_DEFAULT_BUCKETS_MS } from "../src/mesh.mjs";

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

// A backend: /readyz per `ready()`, POST /v1/authorize per `mode()`.
async function backend(state) {
  const sockets = new Set();
  const s = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/readyz") {
        if (state.ready === "hang") return;
        res.writeHead(state.ready === false ? 503 : 200);
        return res.end();
      }
      if (state.mode === "hang") return;
      if (state.mode === "reset") return req.socket.resetAndDestroy();
      res.writeHead(state.status || 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "approved" }));
    });
  });
  s.on("connection", (c) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
  });
  const port = await listen(s);
  return {
    port,
    close: () => {
      for (const c of sockets) c.destroy();
      return new Promise((r) => s.close(() => r()));
    },
  };
}

async function freePort() {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(() => r()));
  return port;
}

function post(port, path = "/v1/authorize", method = "POST") {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false, headers: { "content-type": "application/json", "x-rehearsal-segment": "7" } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? "{}" : undefined);
  });
}

const scrape = (port) =>
  new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: "/stats/prometheus", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });

function newMesh(o = {}) {
  return new Mesh({
    namespace: "paystream",
    services: { stable: "auth-service-stable", canary: "auth-service-canary" },
    workload: "auth-service",
    canonicalService: "auth-service",
    serviceAccount: "auth-service",
    routeTimeoutMs: 300,
    retry: { attempts: 2, backoffMs: 5 },
    probe: { periodMs: 20, timeoutMs: 50, failureThreshold: 2, successThreshold: 1 },
    northSouthShare: 0.5,
    gateway: { workload: "public-istio", namespace: "istio-ingress" },
    eastWest: { workload: "checkout", namespace: "shop" },
    ...o,
  }).start();
}

// Resolves once cond() holds; fails the test after timeoutMs.
async function until(cond, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${cond}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const seriesOf = (text) => text.split("\n").filter((l) => l.startsWith("istio_requests_total{"));
const label = (line, name) => (new RegExp(`[{,]${name}="([^"]*)"`).exec(line) || [])[1];

test("routes by weight per request and reports each request under exactly one reporter", async () => {
  const a = await backend({});
  const b = await backend({});
  const mesh = await newMesh();
  mesh.setBackend("stable", { port: a.port, revision: "sha-aaaaaaaaaaaa", pod: "s" });
  mesh.setBackend("canary", { port: b.port, revision: "sha-bbbbbbbbbbbb", pod: "c" });
  assert.equal(seriesOf(await scrape(mesh.metricsPorts.waypoint)).length, 0, "no series before the first request");
  mesh.setWeight(30);
  const n = 400;
  for (let i = 0; i < n; i++) assert.equal((await post(mesh.port)).status, 200);
  const canary = mesh.totals.byRole.canary[200] || 0;
  assert.ok(canary > 0.3 * n - 50 && canary < 0.3 * n + 50, `canary got ${canary} of ${n}`);
  assert.equal(mesh.totals.byReporter.waypoint + mesh.totals.byReporter.source, n);
  const w = seriesOf(await scrape(mesh.metricsPorts.waypoint));
  const g = seriesOf(await scrape(mesh.metricsPorts.source));
  assert.ok(w.every((l) => label(l, "reporter") === "waypoint" && label(l, "source_workload") === "checkout"));
  assert.ok(g.every((l) => label(l, "reporter") === "source" && label(l, "source_workload") === "public-istio" && label(l, "source_workload_namespace") === "istio-ingress"));
  const total = [...w, ...g].reduce((s, l) => s + Number(l.split(" ").pop()), 0);
  assert.equal(total, n);
  const revs = new Set([...w, ...g].map((l) => `${label(l, "destination_service_name")}/${label(l, "destination_canonical_revision")}`));
  assert.deepEqual([...revs].sort(), ["auth-service-canary/sha-bbbbbbbbbbbb", "auth-service-stable/sha-aaaaaaaaaaaa"]);
  assert.equal(mesh.segments.get("7").requests, n);
  assert.equal((await post(mesh.port, "/readyz", "GET")).status, 404, "only POST /v1/authorize is routed");
  assert.equal(mesh.totals.requests, n, "a request no rule routes is not counted for either version");
  await mesh.stop();
  await a.close();
  await b.close();
});

test("timeout, refused, reset and the histogram", async () => {
  const hang = await backend({ mode: "hang" });
  const reset = await backend({ mode: "reset" });
  const mesh = await newMesh({ probe: { periodMs: 60_000, timeoutMs: 50, failureThreshold: 2, successThreshold: 1 } });
  mesh.setWeight(100);
  mesh.setBackend("stable", { port: reset.port, revision: "sha-s", pod: "s" });
  mesh.setBackend("canary", { port: hang.port, revision: "sha-c", pod: "c" });
  const t = Date.now();
  const r = await post(mesh.port);
  assert.equal(r.status, 504);
  assert.ok(Date.now() - t >= 290, "answered at the route's timeout");
  mesh.setBackend("canary", { port: await freePort(), revision: "sha-c", pod: "c" });
  assert.equal((await post(mesh.port)).status, 503);
  mesh.setWeight(0);
  assert.equal((await post(mesh.port)).status, 503);
  const text = (await scrape(mesh.metricsPorts.waypoint)) + (await scrape(mesh.metricsPorts.source));
  const lines = seriesOf(text);
  const flags = lines.map((l) => `${label(l, "response_code")} ${label(l, "response_flags")} ${label(l, "destination_canonical_revision")}`).sort();
  assert.deepEqual(flags, ["503 UC sha-s", "503 UF,URX sha-c", "504 UT sha-c"]);
  // Histogram: Istio's default buckets, the timeout in the 500 ms bucket, not in 250.
  const ut = text.split("\n").filter((l) => l.startsWith("istio_request_duration_milliseconds_bucket{") && l.includes('response_flags="UT"'));
  assert.equal(ut.length, ISTIO_DEFAULT_BUCKETS_MS.length + 1);
  assert.equal(Number(ut.find((l) => l.includes('le="250"')).split(" ").pop()), 0);
  assert.equal(Number(ut.find((l) => l.includes('le="500"')).split(" ").pop()), 1);
  await mesh.stop();
  await hang.close();
  await reset.close();
});

test("failed readiness probes withdraw the endpoints (503 UH) until a probe passes", async () => {
  const state = {};
  const a = await backend(state);
  const mesh = await newMesh();
  mesh.setWeight(0);
  mesh.setBackend("stable", { port: a.port, revision: "sha-s", pod: "s" });
  assert.equal((await post(mesh.port)).status, 200);
  state.ready = "hang";
  // Two failed probes (20 ms apart, 50 ms timeout) withdraw the endpoints: waited for, not
  // slept on, so a loaded machine's late probe thread does not fail the test.
  await until(() => mesh.events.some((e) => /not ready/.test(e.what)));
  const r = await post(mesh.port);
  assert.equal(r.status, 503);
  assert.equal(r.body, "no healthy upstream");
  const uh = seriesOf(await scrape(mesh.metricsPorts.waypoint) + (await scrape(mesh.metricsPorts.source))).find((l) => label(l, "response_flags") === "UH");
  assert.equal(label(uh, "destination_service_name"), "auth-service-stable");
  assert.equal(label(uh, "destination_workload"), "unknown", "no upstream host: no workload labels");
  state.ready = true;
  await until(() => mesh.events.some((e) => /ready again/.test(e.what)));
  assert.equal((await post(mesh.port)).status, 200);
  await mesh.stop();
  await a.close();
});
