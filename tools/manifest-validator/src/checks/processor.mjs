// The processor link (config.yaml service.processor; docs/egress.md). For every workload
// of the service image:
//  - production: PROCESSOR_MODE=http (never "simulated", the in-process simulation that
//    approves anything) and a literal PROCESSOR_URL http://HOST[:PORT][/PATH] whose host is
//    a MESH_EXTERNAL ServiceEntry bound to a waypoint (istio.io/use-waypoint). Then, for that
//    ServiceEntry: a DestinationRule with tls MUTUAL, credentialName (an ExternalSecret's
//    target with tls.crt, tls.key, ca.crt), subjectAltNames and sni; an HTTPRoute on it
//    whose rules retry on connect failure only; an ALLOW AuthorizationPolicy on it (or on
//    its waypoint) naming the service's own service account and nothing else; and the
//    pods' egress NetworkPolicies reaching the waypoint's pods on 15008, with no rule that
//    could reach the processor's address directly.
//  - other environments: PROCESSOR_URL, when set, is http:// and its host a Service of the
//    tree with that port (the simulator) or a ServiceEntry host.
import { isWorkload, podTemplate, parseImage, envValue, selectorMatches, isEmptySelector, mapSelectorMatches } from "../k8s.mjs";
import { serviceEntryOfHost } from "./references.mjs";

const HBONE = 15008;

// http://host[:port][/path] -> { host, port, path } or { problem }.
export function parseProcessorUrl(url) {
  if (typeof url !== "string") return { problem: "must be a literal string" };
  if (/^https:/i.test(url)) return { problem: `"${url}" is https: the pod speaks plain HTTP to the mesh, which encrypts the link (the service refuses https)` };
  const m = /^http:\/\/([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(\/[^\s?#]*)?$/.exec(url);
  if (!m) return { problem: `"${url}" is not http://HOST[:PORT][/PATH]` };
  const port = m[2] ? Number(m[2]) : 80;
  if (port < 1 || port > 65535) return { problem: `"${url}": port ${port} out of range` };
  return { host: m[1].toLowerCase(), port, path: m[3] || "/" };
}

function serviceOfHost(ctx, host, ns) {
  const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(host);
  return m ? ctx.get("Service", m[2] || ns, m[1]) : null;
}

function waypointOf(ctx, se) {
  const ns = ctx.nsOf(se);
  const own = (se.obj.metadata.labels || {})["istio.io/use-waypoint"];
  const nsDoc = ctx.get("Namespace", null, ns);
  const name = own || (nsDoc && (nsDoc.obj.metadata.labels || {})["istio.io/use-waypoint"]);
  if (!name || name === "none") return null;
  const wns = (se.obj.metadata.labels || {})["istio.io/use-waypoint-namespace"] || ns;
  const gw = ctx.get("Gateway", wns, name);
  return gw && gw.obj.spec && gw.obj.spec.gatewayClassName === "istio-waypoint" ? gw : null;
}

function checkDestinationRule(ctx, se, host) {
  const ns = ctx.nsOf(se);
  const drs = ctx.of("DestinationRule").filter((d) => ctx.nsOf(d) === ns && d.obj.spec && d.obj.spec.host === host);
  if (!drs.length) return ctx.error(se, "/spec/hosts", `no DestinationRule for "${host}" in "${ns}": the waypoint must originate mutual TLS to the processor (tls.mode MUTUAL)`);
  for (const dr of drs) {
    const tp = dr.obj.spec.trafficPolicy || {};
    const levels = [{ tls: tp.tls, p: "/spec/trafficPolicy/tls" }, ...(tp.portLevelSettings || []).map((x, i) => ({ tls: x.tls, p: `/spec/trafficPolicy/portLevelSettings/${i}/tls` }))];
    if (!tp.tls) ctx.error(dr, "/spec/trafficPolicy/tls", "tls is required: mode MUTUAL with credentialName, subjectAltNames and sni");
    for (const { tls, p } of levels) {
      if (!tls) continue;
      if (tls.mode !== "MUTUAL") ctx.error(dr, `${p}/mode`, `tls.mode must be MUTUAL (the processor authenticates our client certificate), found ${tls.mode ?? "unset"}`);
      if (!tls.credentialName) ctx.error(dr, `${p}/credentialName`, "credentialName is required: the client certificate, key and the processor's CA come from a Secret synced from Vault, never from files in the proxy");
      for (const f of ["clientCertificate", "privateKey", "caCertificates"]) if (tls[f]) ctx.error(dr, `${p}/${f}`, `${f} names a file in the proxy: use credentialName`);
      if (!Array.isArray(tls.subjectAltNames) || !tls.subjectAltNames.length) ctx.error(dr, `${p}/subjectAltNames`, "subjectAltNames must pin the processor's certificate names: any certificate of the same CA would be accepted otherwise");
      if (!tls.sni) ctx.error(dr, `${p}/sni`, "sni is required (the processor's host name)");
      if (tls.insecureSkipVerify === true) ctx.error(dr, `${p}/insecureSkipVerify`, "must not skip verifying the processor's certificate");
      if (tls.credentialName) {
        const es = ctx.of("ExternalSecret").find((e) => ctx.nsOf(e) === ns && ((e.obj.spec.target && e.obj.spec.target.name) || e.name) === tls.credentialName);
        if (!es) ctx.error(dr, `${p}/credentialName`, `Secret "${ns}/${tls.credentialName}" is not the target of an ExternalSecret (the client certificate comes from Vault)`);
        else {
          const keys = new Set((es.obj.spec.data || []).map((x) => x.secretKey));
          for (const k of ["tls.crt", "tls.key", "ca.crt"]) if (!keys.has(k)) ctx.error(es, "/spec/data", `key "${k}" is required by the DestinationRule's credentialName (client certificate, key, processor CA)`);
        }
      }
    }
  }
}

function checkRoute(ctx, se, host) {
  const ns = ctx.nsOf(se);
  const routes = ctx.of("HTTPRoute").filter((r) => ((r.obj.spec && r.obj.spec.parentRefs) || []).some((pr) => pr.kind === "ServiceEntry" && pr.group === "networking.istio.io" && pr.name === se.name && (pr.namespace || ctx.nsOf(r)) === ns));
  const vss = ctx.of("VirtualService").filter((v) => ((v.obj.spec && v.obj.spec.hosts) || []).includes(host));
  if (!routes.length && !vss.length) ctx.error(se, "", `no HTTPRoute has this ServiceEntry as parent: Istio's default retry policy would also retry 503s to the processor; add a route whose retry is connect failures only`);
  for (const r of routes)
    ((r.obj.spec && r.obj.spec.rules) || []).forEach((rule, ri) => {
      const p = `/spec/rules/${ri}`;
      if (!rule.retry) return ctx.error(r, `${p}/retry`, "set retry (attempts, no codes) explicitly: without it Istio's default policy also retries 503s");
      if ((rule.retry.codes || []).length) ctx.error(r, `${p}/retry/codes`, "the processor link retries connect failures only: a 5xx may come after the processor authorized");
      if (!(rule.retry.attempts >= 1 && rule.retry.attempts <= 1)) ctx.error(r, `${p}/retry/attempts`, "one retry (attempts: 1): a connect failure is resent once, within the service's deadline");
      if (rule.timeouts && rule.timeouts.backendRequest) ctx.error(r, `${p}/timeouts/backendRequest`, "no per-try timeout: a timed-out attempt may have been processed");
    });
  for (const v of vss)
    ((v.obj.spec && v.obj.spec.http) || []).forEach((h, hi) => {
      const p = `/spec/http/${hi}/retries`;
      const on = ((h.retries && h.retries.retryOn) || "").split(",").map((x) => x.trim()).filter(Boolean);
      if (!h.retries || on.length !== 1 || on[0] !== "connect-failure") ctx.error(v, p, `retryOn must be exactly "connect-failure" on the processor link, found ${JSON.stringify(h.retries ? h.retries.retryOn ?? null : null)}`);
      if (h.retries && h.retries.perTryTimeout) ctx.error(v, `${p}/perTryTimeout`, "no per-try timeout: a timed-out attempt may have been processed");
    });
}

function checkAuthorization(ctx, se, waypoint, principal) {
  const ns = ctx.nsOf(se);
  const targets = (ap) => ((ap.obj.spec && ap.obj.spec.targetRefs) || (ap.obj.spec && ap.obj.spec.targetRef ? [ap.obj.spec.targetRef] : []));
  const hits = (ap) =>
    targets(ap).some((t) => (t.kind === "ServiceEntry" && t.name === se.name) || (waypoint && t.kind === "Gateway" && t.name === waypoint.name && ctx.nsOf(waypoint) === ns));
  const policies = ctx.of("AuthorizationPolicy").filter((ap) => ctx.nsOf(ap) === ns && hits(ap));
  const allow = policies.filter((ap) => (ap.obj.spec.action || "ALLOW") === "ALLOW");
  if (!allow.length) return ctx.error(se, "", `no ALLOW AuthorizationPolicy targets this ServiceEntry (or its waypoint): only ${principal} may use the processor link`);
  for (const ap of allow)
    ((ap.obj.spec && ap.obj.spec.rules) || []).forEach((rule, ri) => {
      const p = `/spec/rules/${ri}`;
      if (!rule.from || !rule.from.length) return ctx.error(ap, p, `a rule without "from" admits every caller: name ${principal} only`);
      rule.from.forEach((f, fi) => {
        const s = f.source || {};
        const other = Object.keys(s).filter((k) => k !== "principals");
        if (other.length) ctx.error(ap, `${p}/from/${fi}/source`, `only principals may name the caller (found ${other.join(", ")}): ${principal} only`);
        const pr = s.principals || [];
        if (!pr.length || pr.some((x) => x !== principal)) ctx.error(ap, `${p}/from/${fi}/source/principals`, `must be exactly [${principal}] (the auth-service's service account), found ${JSON.stringify(pr)}`);
      });
    });
}

function peerSelectsPod(ctx, peer, fromNs, pod) {
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector ? isEmptySelector(peer.namespaceSelector) || selectorMatches(peer.namespaceSelector, ctx.namespaceLabels.get(pod.ns)) : pod.ns === fromNs;
  const podOk = !peer.podSelector || isEmptySelector(peer.podSelector) || selectorMatches(peer.podSelector, pod.labels);
  return nsOk && podOk;
}

function checkEgress(ctx, doc, labels, waypoint, host) {
  const ns = ctx.nsOf(doc);
  const where = `${(podTemplate(doc) || { pointer: "" }).pointer}/metadata/labels`;
  const policies = ctx.of("NetworkPolicy").filter((np) => ctx.nsOf(np) === ns && ((np.obj.spec && np.obj.spec.policyTypes) || []).includes("Egress") && (isEmptySelector(np.obj.spec.podSelector) || selectorMatches(np.obj.spec.podSelector, labels)));
  const wpods = ctx.pods.filter((q) => q.ns === ctx.nsOf(waypoint) && mapSelectorMatches({ [ctx.config.generatedGatewayPodLabel]: waypoint.name }, q.labels));
  let reached = false;
  for (const np of policies)
    ((np.obj.spec && np.obj.spec.egress) || []).forEach((rule, ri) => {
      const p = `/spec/egress/${ri}`;
      const peers = rule.to || [];
      if (!peers.length) return ctx.error(np, p, `an egress rule without peers lets the pods reach the processor ${host} directly: only its egress waypoint may`);
      peers.forEach((peer, pi) => {
        if (peer.ipBlock) ctx.error(np, `${p}/to/${pi}/ipBlock`, `an ipBlock can reach the processor ${host} directly, around the egress waypoint (no mutual TLS, no policy): select the waypoint's pods`);
      });
      if (!peers.some((peer) => wpods.some((w) => peerSelectsPod(ctx, peer, ns, w)))) return;
      const ports = rule.ports || [];
      if (!ports.length || ports.some((pt) => (pt.protocol || "TCP") === "TCP" && pt.port === HBONE)) reached = true;
    });
  if (!policies.length) ctx.error(doc, where, "no NetworkPolicy isolates the egress of its pods: the processor must be reached through the egress waypoint only");
  else if (!reached) ctx.error(doc, where, `its NetworkPolicies do not let its pods reach the egress waypoint ${ctx.nsOf(waypoint)}/${waypoint.name} (its pods, TCP ${HBONE}, HBONE), the only way to the processor ${host}`);
}

export function checkProcessorLink(ctx) {
  const cfg = (ctx.config.service && ctx.config.service.processor) || null;
  if (!cfg) return;
  const prod = ctx.config.environments && ctx.config.environments.production;
  const image = (ctx.config.service.idempotency && ctx.config.service.idempotency.serviceImage) || "auth-service";
  for (const doc of ctx.docs) {
    if (!isWorkload(doc)) continue;
    const t = podTemplate(doc);
    if (!t) continue;
    const labels = { ...((t.template.metadata && t.template.metadata.labels) || {}) };
    if (doc.kind === "Rollout") labels["rollouts-pod-template-hash"] = "<hash>";
    const ns = ctx.nsOf(doc);
    const production = ns === prod;
    ((t.template.spec && t.template.spec.containers) || []).forEach((c, ci) => {
      const img = parseImage(c.image);
      if (!img || img.repo.split("/").pop() !== image) return;
      const p = `${t.pointer}/spec/containers/${ci}/env`;
      const mode = envValue(c, cfg.modeEnv);
      const url = envValue(c, cfg.urlEnv);
      if (production) {
        if (!mode) return ctx.error(doc, p, `${cfg.modeEnv} must be set to "${cfg.productionMode}" in production (unset means "simulated": the in-process simulation, which approves without a processor)`);
        const mi = c.env.indexOf(mode);
        if (mode.valueFrom) return ctx.error(doc, `${p}/${mi}`, `${cfg.modeEnv} must be a literal "${cfg.productionMode}" in production`);
        if (mode.value !== cfg.productionMode) return ctx.error(doc, `${p}/${mi}/value`, `${cfg.modeEnv} "${mode.value}" in production: only "${cfg.productionMode}" (a real processor) is allowed${(cfg.forbiddenInProduction || []).includes(mode.value) ? `; "${mode.value}" approves payments without a processor` : ""}`);
        if (!url) return ctx.error(doc, p, `${cfg.urlEnv} is required with ${cfg.modeEnv}=${cfg.productionMode}`);
      }
      if (!url) return;
      const ui = c.env.indexOf(url);
      if (url.valueFrom) return ctx.error(doc, `${p}/${ui}`, `${cfg.urlEnv} must be a literal value (the processor's address is a reviewed parameter)`);
      const u = parseProcessorUrl(url.value);
      if (u.problem) return ctx.error(doc, `${p}/${ui}/value`, `${cfg.urlEnv} ${u.problem}`);
      const se = serviceEntryOfHost(ctx, u.host, ns);
      if (!se) {
        const svc = serviceOfHost(ctx, u.host, ns);
        if (production) return ctx.error(doc, `${p}/${ui}/value`, `${cfg.urlEnv}: "${u.host}" is not the host of a ServiceEntry visible in "${ns}": production calls the real processor through its egress waypoint${svc ? ` (${svc.namespace}/${svc.name} is a Service of the tree, e.g. the simulator)` : ""}`);
        if (!svc) return ctx.error(doc, `${p}/${ui}/value`, `${cfg.urlEnv}: "${u.host}" is neither a Service of the tree nor a ServiceEntry host`);
        if (!((svc.obj.spec && svc.obj.spec.ports) || []).some((x) => x.port === u.port)) ctx.error(doc, `${p}/${ui}/value`, `${cfg.urlEnv}: Service ${svc.namespace}/${svc.name} has no port ${u.port}`);
        return;
      }
      const sp = ((se.obj.spec && se.obj.spec.ports) || []).find((x) => x.number === u.port);
      if (!sp) ctx.error(doc, `${p}/${ui}/value`, `${cfg.urlEnv}: ServiceEntry ${ctx.nsOf(se)}/${se.name} has no port ${u.port}`);
      else if (sp.protocol !== "HTTP") ctx.error(se, "/spec/ports", `port ${u.port} must be protocol HTTP (the waypoint handles the calls at L7: routes, policy, TLS origination), found ${sp.protocol}`);
      if (!production) return;
      if (se.obj.spec.location !== "MESH_EXTERNAL") ctx.error(se, "/spec/location", "the processor is outside the mesh: location MESH_EXTERNAL");
      const waypoint = waypointOf(ctx, se);
      if (!waypoint) return ctx.error(se, "/metadata/labels", "the processor's ServiceEntry must be bound to an egress waypoint (label istio.io/use-waypoint naming an istio-waypoint Gateway, or its namespace's)");
      const sa = (t.template.spec && t.template.spec.serviceAccountName) || "default";
      checkDestinationRule(ctx, se, u.host);
      checkRoute(ctx, se, u.host);
      checkAuthorization(ctx, se, waypoint, `cluster.local/ns/${ns}/sa/${sa}`);
      checkEgress(ctx, doc, labels, waypoint, u.host);
    });
  }
}
