// The rehearsal's mesh: what the waypoint (east-west) and the ingress gateway
// (north-south) do to the authorize traffic, in one in-process HTTP proxy that lives for
// the whole rehearsal (the load generator sends everything to it, whatever it restarts).
//
//  - Routing: POST /v1/authorize goes to the canary with probability weight/100, else to
//    stable, decided per request (Envoy's weighted clusters); anything else gets the
//    proxy's 404 and reaches no pod. Each request is reported by exactly one reporter:
//    with probability northSouthShare by the gateway (reporter="source", source_workload
//    the gateway's Deployment), otherwise by the waypoint (reporter="waypoint", source
//    the in-mesh client).
//  - Upstream: keep-alive connections per version; the HTTPRoute's request timeout
//    (504, flags UT); a refused connection is retried as the route's retry stanza says
//    (connect-failure only: attempts, backoff), then 503 UF,URX; a connection reset or
//    closed before the answer is 503 UC (not retried: the request may have been
//    processed); the client going away first is code 0, flags DC.
//  - Readiness: each version's /readyz is probed (in its own thread, like a kubelet
//    that is not the proxy) with the Rollout's readinessProbe
//    (period and timeout divided by the time scale, failureThreshold and
//    successThreshold as given). A version whose probe failed failureThreshold times
//    in a row has no endpoints: requests routed to it complete at once with 503, flags
//    UH, as Envoy answers "no healthy upstream"; it is back after successThreshold
//    successes.
//  - Metrics: istio_requests_total and istio_request_duration_milliseconds (Istio's
//    default buckets) with Istio's standard labels, a series created when first seen.
//    Each reporter is served on its own loopback port at /stats/prometheus, the way
//    Prometheus scrapes a waypoint pod and a gateway pod on 15020.
//    Without an upstream host (UH) the destination workload labels are "unknown" and
//    only destination_service_* name the version, as in Istio.
import http from "node:http";
import { Worker } from "node:worker_threads";

export const ISTIO_DEFAULT_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

// The label names of Istio's standard metrics, in the order Envoy writes them.
const LABELS = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
];

const esc = (v) => String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

class Registry {
  constructor(buckets) {
    this.buckets = buckets;
    this.series = new Map(); // label text -> {labels, count, sum, bucketCounts}
  }

  observe(labels, ms) {
    const key = LABELS.map((l) => `${l}="${esc(labels[l] ?? "unknown")}"`).join(",");
    let s = this.series.get(key);
    if (!s) {
      s = { key, labels, count: 0, sum: 0, bucketCounts: this.buckets.map(() => 0) };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += ms;
    for (let i = 0; i < this.buckets.length; i++) if (ms <= this.buckets[i]) s.bucketCounts[i]++;
  }

  text() {
    const L = ["# TYPE istio_requests_total counter"];
    for (const s of this.series.values()) L.push(`istio_requests_total{${s.key}} ${s.count}`);
    L.push("# TYPE istio_request_duration_milliseconds histogram");
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => L.push(`istio_request_duration_milliseconds_bucket{${s.key},le="${b}"} ${s.bucketCounts[i]}`));
      L.push(`istio_request_duration_milliseconds_bucket{${s.key},le="+Inf"} ${s.count}`);
      L.push(`istio_request_duration_milliseconds_sum{${s.key}} ${s.sum}`);
      L.push(`istio_request_duration_milliseconds_count{${s.key}} ${s.count}`);
    }
    return `${L.join("\n")}\n`;
  }
}

export class Mesh {
  // o: { namespace, services: {stable, canary} (Service names), workload (destination
  // workload name), canonicalService, routeTimeoutMs, retry: {attempts, backoffMs},
  // probe: {periodMs, timeoutMs, failureThreshold, successThreshold}, northSouthShare,
  // gateway: {workload, namespace}, eastWest: {workload, namespace}, buckets, log }
  constructor(o) {
    Object.assign(this, o);
    this.buckets = o.buckets || ISTIO_DEFAULT_BUCKETS_MS;
    this.weight = 0;
    this.backends = { stable: null, canary: null };
    this.registries = { waypoint: new Registry(this.buckets), source: new Registry(this.buckets) };
    this.totals = { requests: 0, byCode: {}, byRole: { stable: {}, canary: {} }, byReporter: { waypoint: 0, source: 0 }, routedByWeight: { stable: 0, canary: 0 } };
    this.events = []; // readiness changes, weight changes: {at, what}
    this.failures = []; // client-visible failures: {at, role, code, flags}
    this.sloMisses = []; // answered, but slower than sloMs: {at, role}
    this.segments = new Map(); // x-rehearsal-segment -> {requests, byCode}: the harness's check
    this.servers = [];
    this.inflight = new Set();
  }

  // role: "stable" | "canary"; b: {port, revision, pod} or null (no pods at all).
  setBackend(role, b) {
    const old = this.backends[role];
    if (old) this.stopProbe(old);
    if (!b) {
      this.backends[role] = null;
      return;
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4096, timeout: 30_000 });
    const be = { role, ...b, agent, ready: true, worker: null, stopped: false };
    this.backends[role] = be;
    this.startProbe(be);
  }

  setWeight(w) {
    this.weight = w;
    this.events.push({ at: Date.now(), what: `weight ${w}` });
  }

  async start() {
    this.proxy = http.createServer({ keepAlive: true, keepAliveTimeout: 75_000 }, (req, res) => this.handle(req, res));
    this.proxy.keepAliveTimeout = 75_000;
    this.proxy.headersTimeout = 80_000;
    const metricsServer = (reporter) =>
      http.createServer((req, res) => {
        if (req.method === "GET" && req.url.split("?")[0] === "/stats/prometheus") {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
          res.end(this.registries[reporter].text());
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    this.metricsServers = { waypoint: metricsServer("waypoint"), source: metricsServer("source") };
    const listen = (s) => new Promise((resolve, reject) => {
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve(s.address().port));
    });
    this.port = await listen(this.proxy);
    this.metricsPorts = { waypoint: await listen(this.metricsServers.waypoint), source: await listen(this.metricsServers.source) };
    this.servers = [this.proxy, this.metricsServers.waypoint, this.metricsServers.source];
    return this;
  }

  async stop() {
    for (const role of ["stable", "canary"]) if (this.backends[role]) this.stopProbe(this.backends[role]);
    for (const s of this.servers) {
      s.closeAllConnections?.();
      await new Promise((r) => s.close(() => r()));
    }
  }

  // ---- readiness ----
  // The probe runs in its own thread (probe-worker.mjs), as the kubelet is not the proxy.
  startProbe(be) {
    be.worker = new Worker(new URL("./probe-worker.mjs", import.meta.url), { workerData: { port: be.port, ...this.probe } });
    be.worker.unref();
    be.worker.on("message", (m) => {
      if (!be.stopped) this.readiness(be, m.ready, m.why);
    });
    be.worker.on("error", (e) => {
      if (this.log) this.log(`mesh: readiness probe of ${be.role} failed to run: ${e.message}`);
    });
  }

  stopProbe(be) {
    be.stopped = true;
    if (be.worker) be.worker.terminate();
    be.agent.destroy();
  }

  readiness(be, ready, why) {
    be.ready = ready;
    const what = `${be.role} (${be.pod}) ${ready ? `ready again (${why}): endpoints back` : `not ready (${why}): no endpoints, requests to it get 503 UH`}`;
    this.events.push({ at: Date.now(), what });
    if (this.log) this.log(`mesh: ${what}`);
  }

  // ---- requests ----
  handle(req, res) {
    const t0 = performance.now();
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const path = req.url.split("?")[0];
      if (req.method !== "POST" || path !== "/v1/authorize") {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end();
        return;
      }
      const seg = req.headers["x-rehearsal-segment"];
      if (seg !== undefined) {
        if (!this.segments.has(seg)) this.segments.set(seg, { requests: 0, byCode: {} });
        res.segment = this.segments.get(seg);
      }
      const role = Math.random() * 100 < this.weight ? "canary" : "stable";
      const reporter = Math.random() < this.northSouthShare ? "source" : "waypoint";
      this.totals.routedByWeight[role]++;
      this.forward({ req, res, body: Buffer.concat(chunks), role, reporter, t0 });
    });
  }

  forward(x) {
    const { req, res, body, role, reporter, t0 } = x;
    const be = this.backends[role];
    let settled = false;
    let upstream = null;
    let attempt = 0;
    const onClientGone = () => {
      if (settled) return;
      if (upstream) upstream.destroy();
      complete(0, "DC", true, null);
    };
    res.on("close", () => {
      if (!res.writableFinished) onClientGone();
    });
    const timer = setTimeout(() => {
      if (settled) return;
      if (upstream) upstream.destroy();
      respond(504, "UT", "upstream request timeout", true);
    }, this.routeTimeoutMs);
    const complete = (code, flags, hostKnown, _) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.count({ role, reporter, code, flags, hostKnown, be, ms: performance.now() - t0 });
      if (res.segment) {
        res.segment.requests++;
        res.segment.byCode[code] = (res.segment.byCode[code] || 0) + 1;
      }
    };
    const respond = (code, flags, text, hostKnown, headers = {}, payload = null) => {
      if (settled) return;
      complete(code, flags, hostKnown);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(code, { "content-type": payload ? headers["content-type"] || "application/json" : "text/plain", ...(headers["x-request-id"] ? { "x-request-id": headers["x-request-id"] } : {}) });
        res.end(payload ?? text);
      }
    };
    if (!be || !be.ready) {
      respond(503, "UH", "no healthy upstream", false);
      return;
    }
    const tryOnce = () => {
      attempt++;
      const headers = { "content-type": req.headers["content-type"] || "application/json", "content-length": body.length };
      if (req.headers["x-request-id"]) headers["x-request-id"] = req.headers["x-request-id"];
      upstream = http.request({ host: "127.0.0.1", port: be.port, method: "POST", path: "/v1/authorize", headers, agent: be.agent }, (ures) => {
        const parts = [];
        ures.on("data", (c) => parts.push(c));
        ures.on("end", () => respond(ures.statusCode, "-", null, true, ures.headers, Buffer.concat(parts)));
        ures.on("error", () => respond(503, "UC", "upstream connect error or disconnect/reset before headers. reset reason: connection termination", true));
        ures.on("aborted", () => respond(503, "UC", "upstream connect error or disconnect/reset before headers. reset reason: connection termination", true));
      });
      upstream.on("error", (e) => {
        if (settled) return;
        const refused = e.code === "ECONNREFUSED";
        if (refused && attempt <= this.retry.attempts) {
          // retryOn connect-failure: the request never reached a pod.
          setTimeout(() => {
            if (!settled) tryOnce();
          }, this.retry.backoffMs * (1 + Math.random()));
          return;
        }
        if (refused) respond(503, attempt > 1 ? "UF,URX" : "UF", "upstream connect error or disconnect/reset before headers. reset reason: connection failure", true);
        else respond(503, "UC", "upstream connect error or disconnect/reset before headers. reset reason: connection termination", true);
      });
      upstream.end(body);
    };
    tryOnce();
  }

  count({ role, reporter, code, flags, hostKnown, be, ms }) {
    const svc = this.services[role];
    const ns = this.namespace;
    const src = reporter === "source" ? this.gateway : this.eastWest;
    const known = hostKnown && be;
    const labels = {
      reporter,
      source_workload: src.workload,
      source_canonical_service: src.workload,
      source_canonical_revision: "latest",
      source_workload_namespace: src.namespace,
      source_principal: `spiffe://cluster.local/ns/${src.namespace}/sa/${src.serviceAccount || src.workload}`,
      source_app: src.workload,
      source_version: "unknown",
      source_cluster: "Kubernetes",
      destination_workload: known ? this.workload : "unknown",
      destination_workload_namespace: known ? ns : "unknown",
      destination_principal: known ? `spiffe://cluster.local/ns/${ns}/sa/${this.serviceAccount}` : "unknown",
      destination_app: known ? this.canonicalService : "unknown",
      destination_version: "unknown",
      destination_service: `${svc}.${ns}.svc.cluster.local`,
      destination_canonical_service: known ? this.canonicalService : "unknown",
      destination_canonical_revision: known ? be.revision : "unknown",
      destination_service_name: svc,
      destination_service_namespace: ns,
      destination_cluster: known ? "Kubernetes" : "unknown",
      request_protocol: "http",
      response_code: String(code),
      grpc_response_status: "",
      response_flags: flags,
      connection_security_policy: "unknown",
    };
    this.registries[reporter].observe(labels, ms);
    const t = this.totals;
    t.requests++;
    t.byCode[code] = (t.byCode[code] || 0) + 1;
    t.byRole[role][code] = (t.byRole[role][code] || 0) + 1;
    t.byReporter[reporter]++;
    if (code === 0 || code >= 500) this.failures.push({ at: Date.now(), role, code, flags, revision: be ? be.revision : null });
    else if (this.sloMs && ms > this.sloMs) this.sloMisses.push({ at: Date.now(), role, code, flags: `>${this.sloMs}ms` });
  }

  // Client-visible failures of a version at or after `from` (epoch ms), before `to`.
  failuresBetween(from, to, role) {
    return this.failures.filter((f) => f.at >= from && f.at < to && (!role || f.role === role));
  }
}
