// Policy specific to the authorization service: what the Rollout's pods, the Services,
// routes, DestinationRules and namespaces around them must look like.
import fs from "node:fs";
import { podTemplate, allContainers, cpuMillis, bytes, envValue, parseImage, durationMs, mapSelectorMatches } from "../k8s.mjs";
import { isKeyHeaderName, isKeyHeaderMatch, isKeyedRule } from "./idempotency.mjs";

// docs/config.md lists every environment variable in a table whose first column holds
// the name in backticks: | `PORT` | 8080 | ... |
export function readConfigDoc(file) {
  const text = fs.readFileSync(file, "utf8");
  const names = new Set();
  for (const line of text.split("\n")) {
    const m = /^\s*\|([^|]*)\|/.exec(line);
    if (!m) continue;
    for (const [, n] of m[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(n);
  }
  return names;
}

function servicePods(ctx) {
  return ctx.of("Rollout").map((ro) => ({ ro, t: podTemplate(ro) })).filter((x) => x.t);
}

function checkPodTemplate(ctx, ro, t, envNames, configDoc) {
  const cfg = ctx.config.service;
  const spec = t.template.spec || {};
  const b = t.pointer;
  if (spec.automountServiceAccountToken !== false) ctx.error(ro, `${b}/spec/automountServiceAccountToken`, "must be false: the service calls no Kubernetes API");
  if (spec.enableServiceLinks !== false) ctx.error(ro, `${b}/spec/enableServiceLinks`, "must be false: service links inject variables that docs/config.md does not list");
  const psc = spec.securityContext || {};
  if (psc.runAsUser !== cfg.runAsUser) ctx.error(ro, `${b}/spec/securityContext/runAsUser`, `must be ${cfg.runAsUser} (the distroless nonroot user)`);
  const tsc = spec.topologySpreadConstraints || [];
  if (!tsc.length) ctx.error(ro, `${b}/spec/topologySpreadConstraints`, "spread the pods across nodes");
  tsc.forEach((c, i) => {
    if (!(c.matchLabelKeys || []).includes("rollouts-pod-template-hash"))
      ctx.error(ro, `${b}/spec/topologySpreadConstraints/${i}/matchLabelKeys`, "must include rollouts-pod-template-hash so stable and canary ReplicaSets spread independently");
  });
  const containers = allContainers(spec).filter((x) => x.field === "containers");
  if (containers.length !== 1) ctx.error(ro, `${b}/spec/containers`, "exactly one container (the service) is expected");
  for (const { c, pointer } of containers) {
    const p = `${b}${pointer}`;
    // Guaranteed QoS, integer CPU.
    const r = c.resources || {};
    const req = r.requests || {};
    const lim = r.limits || {};
    const cpuReq = cpuMillis(req.cpu);
    const cpuLim = cpuMillis(lim.cpu);
    if (Number.isNaN(cpuReq) || Number.isNaN(cpuLim) || cpuReq !== cpuLim) ctx.error(ro, `${p}/resources`, `CPU requests (${req.cpu}) must equal limits (${lim.cpu}) (Guaranteed QoS)`);
    else if (cpuReq % 1000 !== 0 || cpuReq === 0) ctx.error(ro, `${p}/resources/requests/cpu`, `integer CPU count required for the static CPU manager (found ${req.cpu})`);
    if (bytes(req.memory) !== bytes(lim.memory)) ctx.error(ro, `${p}/resources`, "memory requests must equal limits (Guaranteed QoS)");
    // Probes on the right paths and port.
    const probe = (name, path) => {
      const pr = c[name];
      if (!pr) return ctx.error(ro, `${p}/${name}`, `${name} on ${path} is required`);
      if (!pr.httpGet || pr.httpGet.path !== path) ctx.error(ro, `${p}/${name}/httpGet/path`, `${name} must be an HTTP GET on ${path}`);
      else if (pr.httpGet.port !== cfg.publicPort.name && pr.httpGet.port !== cfg.publicPort.containerPort)
        ctx.error(ro, `${p}/${name}/httpGet/port`, `${name} must use the "${cfg.publicPort.name}" port`);
    };
    probe("startupProbe", cfg.readinessPath);
    probe("readinessProbe", cfg.readinessPath);
    probe("livenessProbe", cfg.livenessPath);
    // Ports.
    const ports = c.ports || [];
    for (const want of [cfg.publicPort, cfg.adminPort]) {
      if (!ports.some((x) => x.name === want.name && x.containerPort === want.containerPort))
        ctx.error(ro, `${p}/ports`, `container port "${want.name}" ${want.containerPort} is required`);
    }
    // Environment.
    (c.env || []).forEach((e, i) => {
      if (configDoc && !envNames.has(e.name)) ctx.error(ro, `${p}/env/${i}/name`, `environment variable ${e.name} is not listed in ${configDoc}`);
      if (cfg.forbiddenEnv && cfg.forbiddenEnv[e.name]) ctx.error(ro, `${p}/env/${i}/name`, `${e.name} must not be set: ${cfg.forbiddenEnv[e.name]}`);
      if (e.valueFrom && e.valueFrom.secretKeyRef) ctx.error(ro, `${p}/env/${i}/valueFrom`, "secrets reach the service as files (*_FILE variables), never as environment values");
    });
    if ((c.envFrom || []).length) ctx.error(ro, `${p}/envFrom`, "envFrom would inject variables nobody reviewed; list each variable");
    for (const n of cfg.requiredEnv || []) if (!envValue(c, n)) ctx.error(ro, `${p}/env`, `${n} is required`);
    // CD patches the tag and env/0 together (k8s/README.md, "Releasing").
    if ((c.env || [])[0] && c.env[0].name !== "SERVICE_VERSION") ctx.error(ro, `${p}/env/0/name`, "SERVICE_VERSION must be the first variable (CD replaces env/0 together with the image)");
    const adminBind = envValue(c, "ADMIN_BIND_ADDR");
    if (adminBind && adminBind.value !== "0.0.0.0") ctx.error(ro, `${p}/env`, "ADMIN_BIND_ADDR must be 0.0.0.0 so Prometheus can scrape the pod IP");
    // Image tag and SERVICE_VERSION together.
    const img = parseImage(c.image);
    const sv = envValue(c, "SERVICE_VERSION");
    if (img && img.tag && sv && sv.value !== img.tag) ctx.error(ro, `${p}/env`, `SERVICE_VERSION "${sv.value}" must equal the image tag "${img.tag}" (set them together)`);
    // Secret files: each *_FILE variable points into a mounted Secret at a produced key.
    for (const n of cfg.secretFileEnv || []) {
      const e = envValue(c, n);
      if (!e) continue;
      const file = e.value || "";
      const mount = (c.volumeMounts || []).filter((m) => file.startsWith(m.mountPath.replace(/\/?$/, "/"))).sort((a, b2) => b2.mountPath.length - a.mountPath.length)[0];
      const vol = mount && (spec.volumes || []).find((v) => v.name === mount.name);
      if (!mount || !vol || !vol.secret) {
        ctx.error(ro, `${p}/env`, `${n}=${file} is not inside a mounted Secret volume`);
        continue;
      }
      if (mount.subPath) ctx.error(ro, `${p}/volumeMounts`, "secret volumes must not use subPath: updates would never reach the pod");
      const rel = file.slice(mount.mountPath.replace(/\/?$/, "/").length);
      const items = vol.secret.items;
      const key = items ? (items.find((it) => it.path === rel) || {}).key : rel;
      if (!key) ctx.error(ro, `${p}/env`, `${n}: no item of Secret volume "${vol.name}" is mounted at ${rel}`);
    }
    // Graceful shutdown: preStop sleep + drain must fit in the grace period.
    const sleep = c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.sleep && c.lifecycle.preStop.sleep.seconds;
    const delayMs = Number((envValue(c, "DRAIN_DELAY_MS") || {}).value || 0);
    const drainMs = Number((envValue(c, "DRAIN_TIMEOUT_MS") || {}).value || NaN);
    if (!sleep && !delayMs) ctx.error(ro, `${p}/lifecycle/preStop/sleep`, "a preStop sleep (or DRAIN_DELAY_MS on clusters before 1.30) must keep the pod serving while endpoints converge");
    if (Number.isNaN(drainMs)) ctx.error(ro, `${p}/env`, "DRAIN_TIMEOUT_MS must be set explicitly");
    const grace = spec.terminationGracePeriodSeconds === undefined ? 30 : spec.terminationGracePeriodSeconds;
    const need = (sleep || 0) + delayMs / 1000 + (Number.isNaN(drainMs) ? 0 : drainMs / 1000);
    if (!(grace > need)) ctx.error(ro, `${b}/spec/terminationGracePeriodSeconds`, `${grace}s must exceed preStop sleep + DRAIN_DELAY_MS + DRAIN_TIMEOUT_MS (${need}s)`);
  }
}

function checkStrategy(ctx, ro) {
  const spec = ro.obj.spec || {};
  const c = (spec.strategy && spec.strategy.canary) || null;
  if (!c) return ctx.error(ro, "/spec/strategy/canary", "canary strategy required");
  if (!(spec.replicas >= 3)) ctx.error(ro, "/spec/replicas", "at least 3 replicas");
  if (c.dynamicStableScale !== false) ctx.error(ro, "/spec/strategy/canary/dynamicStableScale", "must be false: stable stays at full size during the canary");
  if (c.abortScaleDownDelaySeconds === undefined) ctx.error(ro, "/spec/strategy/canary/abortScaleDownDelaySeconds", "set abortScaleDownDelaySeconds explicitly");
  if (!c.analysis || !(c.analysis.templates || []).length) ctx.error(ro, "/spec/strategy/canary/analysis", "background analysis is required");
  const steps = c.steps || [];
  // setWeight w<100 must be followed by an analysis step; the last weight is 100,
  // followed by a pause with a duration.
  let sawHundred = false;
  steps.forEach((s, i) => {
    if (s.setWeight !== undefined && s.setWeight < 100 && !(steps[i + 1] && steps[i + 1].analysis))
      ctx.error(ro, `/spec/strategy/canary/steps/${i}`, `setWeight ${s.setWeight} must be followed by an analysis gate`);
    if (s.setWeight === 100) {
      sawHundred = true;
      const n = steps[i + 1];
      if (!n || !n.pause || !n.pause.duration) ctx.error(ro, `/spec/strategy/canary/steps/${i}`, "setWeight 100 must be followed by a pause with a duration (routes settle before stable scales down)");
    }
  });
  if (!sawHundred) ctx.error(ro, "/spec/strategy/canary/steps", "the steps must end by shifting 100% to the canary (setWeight: 100)");
  // An analysis step changes nothing the controller counts as progress until it ends; the
  // progress deadline must outlast the longest one or the rollout aborts mid-analysis.
  const deadline = spec.progressDeadlineSeconds === undefined ? 600 : spec.progressDeadlineSeconds;
  steps.forEach((s, i) => {
    if (!s.analysis) return;
    let longest = 0;
    for (const t of s.analysis.templates || []) {
      const tpl = ctx.get("AnalysisTemplate", ctx.nsOf(ro), t.templateName);
      for (const m of (tpl && tpl.obj.spec.metrics) || []) {
        const d = (durationMs(m.initialDelay || "0s") || 0) + (m.count || 1) * (durationMs(m.interval || "0s") || 0);
        longest = Math.max(longest, d / 1000);
      }
    }
    if (longest >= deadline)
      ctx.error(ro, "/spec/progressDeadlineSeconds", `${deadline}s does not outlast the analysis of step ${i} (up to ${longest}s): the rollout would time out during the gate`);
  });
}

// Services that select the service's pods expose only the public port.
function checkServices(ctx, labelsByNs) {
  const cfg = ctx.config.service;
  for (const s of ctx.of("Service")) {
    const labels = labelsByNs.get(ctx.nsOf(s));
    if (!labels || !mapSelectorMatches(s.obj.spec.selector, labels)) continue;
    (s.obj.spec.ports || []).forEach((port, i) => {
      const p = `/spec/ports/${i}`;
      if (port.targetPort === cfg.adminPort.name || port.targetPort === cfg.adminPort.containerPort || port.port === cfg.adminPort.containerPort)
        ctx.error(s, p, `exposes the "${cfg.adminPort.name}" port: metrics and fault injection are reachable on the pod IP by Prometheus only`);
      else if (port.targetPort !== cfg.publicPort.name) ctx.error(s, `${p}/targetPort`, `must target the named port "${cfg.publicPort.name}"`);
      if (port.name !== cfg.publicPort.name) ctx.error(s, `${p}/name`, `must be named "${cfg.publicPort.name}"`);
      if (port.appProtocol !== "http") ctx.error(s, `${p}/appProtocol`, "appProtocol http is required (the mesh must treat it as HTTP)");
    });
  }
}

function routeTargetsService(ctx, route, serviceNames) {
  return (route.obj.spec.rules || []).some((r) => (r.backendRefs || []).some((b) => serviceNames.has(`${ctx.nsOf(route)}/${b.name}`)));
}

function checkRoutes(ctx, serviceNames, processorTimeoutMs) {
  const allowed = ctx.config.service.routes;
  const idem = ctx.config.service.idempotency || {};
  const key = idem.header || {};
  const codes = idem.retryCodes || [];
  const sameRequest = (a, b) => a.method === b.method && a.path && b.path && a.path.type === b.path.type && a.path.value === b.path.value;
  for (const r of ctx.of("HTTPRoute")) {
    if (!routeTargetsService(ctx, r, serviceNames)) continue;
    const rules = r.obj.spec.rules || [];
    rules.forEach((rule, ri) => {
      const p = `/spec/rules/${ri}`;
      const matches = rule.matches || [];
      if (!matches.length) ctx.error(r, `${p}/matches`, "a rule without matches routes every path (probes, admin); match the public API only");
      matches.forEach((m, mi) => {
        const ok = allowed.some((a) => m.method === a.method && m.path && m.path.type === "Exact" && m.path.value === a.path);
        if (!ok) ctx.error(r, `${p}/matches/${mi}`, `only ${allowed.map((a) => `${a.method} ${a.path}`).join(" and ")} may be routed (Exact path and method), found ${m.method || "any method"} ${m.path ? `${m.path.type} ${m.path.value}` : "any path"}`);
        (m.headers || []).forEach((h, hi) => {
          if (!isKeyHeaderName(h, key)) ctx.error(r, `${p}/matches/${mi}/headers/${hi}`, `only the ${key.name} header may select a rule (found ${h.name})`);
          else if (!isKeyHeaderMatch(h, key))
            ctx.error(r, `${p}/matches/${mi}/headers/${hi}`, `match ${key.name} as ${key.type} "${key.value}" (present and non-empty: an empty key is a 400, never a keyed request), found ${h.type || "Exact"} "${h.value}"`);
        });
      });
      const to = rule.timeouts || {};
      const req = durationMs(to.request);
      if (!to.request) ctx.error(r, `${p}/timeouts/request`, "a request timeout is required");
      else if (!Number.isNaN(processorTimeoutMs) && !(req > processorTimeoutMs)) ctx.error(r, `${p}/timeouts/request`, `request timeout ${to.request} must exceed PROCESSOR_TIMEOUT_MS (${processorTimeoutMs} ms)`);
      if (to.backendRequest) ctx.error(r, `${p}/timeouts/backendRequest`, "no per-try timeout: a timed-out attempt may have been processed, so it must not be retried");
      const keyed = isKeyedRule(rule, key);
      if (rule.retry) {
        const got = rule.retry.codes || [];
        if (got.length && !keyed)
          ctx.error(r, `${p}/retry/codes`, `retrying on status codes re-sends authorizations a pod may have processed; only a rule that matches the ${key.name} header may list codes (the key makes the retry safe), this one retries connection failures only (no codes)`);
        else if (got.length && (got.length !== codes.length || !codes.every((c) => got.includes(c))))
          ctx.error(r, `${p}/retry/codes`, `a keyed rule retries on ${codes.join(", ")} only (the service's "not executed" answers), found ${got.join(", ")}`);
        if (!(rule.retry.attempts <= 2)) ctx.error(r, `${p}/retry/attempts`, "at most 2 retries");
      } else ctx.error(r, `${p}/retry`, "set retry (attempts, no codes) explicitly: without it Istio's default policy also retries 503 responses");
      // The keyed rule goes first: read in order, an unkeyed rule before it would take
      // the same requests (Gateway API precedence agrees, it prefers more header matches).
      if (keyed)
        for (let rj = 0; rj < ri; rj++) {
          if (isKeyedRule(rules[rj], key)) continue;
          if ((rules[rj].matches || []).some((a) => matches.some((b) => sameRequest(a, b))))
            ctx.error(r, p, `the rule matching the ${key.name} header must come before rule ${rj}, the unkeyed rule for the same request`);
        }
    });
  }
}

function checkDestinationRules(ctx, serviceNames, idleTimeoutMs) {
  const hosts = new Set();
  for (const key of serviceNames) {
    const [ns, name] = key.split("/");
    hosts.add(`${name}.${ns}.svc.cluster.local`);
  }
  const covered = new Set();
  for (const dr of ctx.of("DestinationRule")) {
    const host = dr.obj.spec.host;
    if (!hosts.has(host)) continue;
    covered.add(host);
    const tp = dr.obj.spec.trafficPolicy || {};
    const http = (tp.connectionPool && tp.connectionPool.http) || {};
    if (http.maxRequestsPerConnection !== undefined && http.maxRequestsPerConnection !== 0)
      ctx.error(dr, "/spec/trafficPolicy/connectionPool/http/maxRequestsPerConnection", "must be 0 (unlimited): keep-alive connections are reused");
    if (!tp.outlierDetection) ctx.error(dr, "/spec/trafficPolicy/outlierDetection", "outlier detection is required");
    const idle = durationMs(http.idleTimeout);
    if (!http.idleTimeout) ctx.error(dr, "/spec/trafficPolicy/connectionPool/http/idleTimeout", "set idleTimeout below the service's IDLE_TIMEOUT_MS");
    else if (!Number.isNaN(idleTimeoutMs) && !(idle < idleTimeoutMs)) ctx.error(dr, "/spec/trafficPolicy/connectionPool/http/idleTimeout", `${http.idleTimeout} must be below IDLE_TIMEOUT_MS (${idleTimeoutMs} ms): the proxy must close idle connections first`);
  }
  for (const h of hosts) if (!covered.has(h)) ctx.globalError(`no DestinationRule for host ${h} (connection pool and outlier detection are required for every service host)`);
}

function checkNamespaces(ctx, namespaces) {
  for (const ns of namespaces) {
    const n = ctx.get("Namespace", null, ns);
    if (!n) continue;
    const l = n.obj.metadata.labels || {};
    const want = {
      "istio.io/dataplane-mode": "ambient",
      "pod-security.kubernetes.io/enforce": "restricted",
    };
    for (const [k, v] of Object.entries(want)) if (l[k] !== v) ctx.error(n, `/metadata/labels`, `label ${k}: ${v} is required`);
    if (!l["istio.io/use-waypoint"]) ctx.error(n, "/metadata/labels", "label istio.io/use-waypoint is required (weights, retries and timeouts live in the waypoint)");
    const pa = ctx.of("PeerAuthentication").find((p) => ctx.nsOf(p) === ns && !(p.obj.spec && p.obj.spec.selector) && p.obj.spec.mtls && p.obj.spec.mtls.mode === "STRICT");
    if (!pa) ctx.error(n, "", "a namespace-wide PeerAuthentication with mtls.mode STRICT is required");
  }
}

export function checkService(ctx) {
  const cfg = ctx.config.service;
  let envNames = new Set();
  const configDoc = ctx.options.configDoc;
  if (!configDoc || !fs.existsSync(configDoc)) ctx.globalError(`cannot check environment variable names: ${configDoc || "docs/config.md"} not found (pass --config-doc)`);
  else {
    envNames = readConfigDoc(configDoc);
    if (envNames.size === 0) ctx.globalError(`${configDoc} lists no variable (expected table rows like | \`PORT\` | ...)`);
  }
  const labelsByNs = new Map();
  const serviceNames = new Set();
  const namespaces = new Set();
  let processorTimeoutMs = NaN;
  let idleTimeoutMs = NaN;
  const repos = new Set();
  for (const { ro, t } of servicePods(ctx)) {
    const ns = ctx.nsOf(ro);
    namespaces.add(ns);
    labelsByNs.set(ns, { ...(t.template.metadata.labels || {}), "rollouts-pod-template-hash": "<hash>" });
    checkPodTemplate(ctx, ro, t, envNames, configDoc && fs.existsSync(configDoc) ? configDoc : null);
    checkStrategy(ctx, ro);
    for (const c of (t.template.spec || {}).containers || []) {
      const img = parseImage(c.image);
      if (img) repos.add(img.repo);
      const pt = envValue(c, "PROCESSOR_TIMEOUT_MS");
      if (pt) processorTimeoutMs = Number(pt.value);
      const it = envValue(c, "IDLE_TIMEOUT_MS");
      if (it) idleTimeoutMs = Number(it.value);
    }
  }
  if (repos.size > 1) ctx.globalError(`the Rollouts use different image names (${[...repos].join(", ")}): the image name is defined once`);
  for (const s of ctx.of("Service")) {
    const labels = labelsByNs.get(ctx.nsOf(s));
    if (labels && mapSelectorMatches(s.obj.spec.selector, labels)) serviceNames.add(`${ctx.nsOf(s)}/${s.name}`);
  }
  checkServices(ctx, labelsByNs);
  checkRoutes(ctx, serviceNames, processorTimeoutMs);
  checkDestinationRules(ctx, serviceNames, idleTimeoutMs);
  checkNamespaces(ctx, namespaces);
  return { imageRepo: repos.size === 1 ? [...repos][0] : null };
}
