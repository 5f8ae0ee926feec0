// Idempotency keys (DESIGN.md "Retries and idempotency"): which route rules are keyed,
// and where the service's idempotency store lives.
//
// The embedded store holds the keys of one process, so a workload that can run more than
// one pod of the service needs the shared store (IDEMPOTENCY_REDIS_URL). A Redis URL is
// redis://HOST:PORT with no credentials (the password comes from a file); HOST is a
// Service of the tree or one declared in config.yaml externalNamespaces, and the
// NetworkPolicies let the service's pods reach exactly its pods on its target port (plus
// 15008, ztunnel's HBONE), with no egress rule broader than selected pods.
import { podTemplate, isWorkload, envValue, parseImage, selectorMatches, isEmptySelector, mapSelectorMatches } from "../k8s.mjs";

export function isKeyHeaderName(h, key) {
  return Boolean(h && key.name && String(h.name).toLowerCase() === key.name.toLowerCase());
}

export function isKeyHeaderMatch(h, key) {
  return isKeyHeaderName(h, key) && (h.type || "Exact") === key.type && h.value === key.value;
}

// A keyed rule: every match requires the key header.
export function isKeyedRule(rule, key) {
  const ms = (rule && rule.matches) || [];
  return ms.length > 0 && ms.every((m) => (m.headers || []).some((h) => isKeyHeaderMatch(h, key)));
}

// Most pods of the workload that can serve at once, and why.
function maxPods(ctx, doc) {
  const spec = doc.obj.spec || {};
  let max = spec.replicas === undefined ? 1 : spec.replicas;
  let why = `replicas ${max}`;
  for (const h of ctx.of("HorizontalPodAutoscaler")) {
    const ref = (h.obj.spec && h.obj.spec.scaleTargetRef) || {};
    if (ctx.nsOf(h) !== ctx.nsOf(doc) || ref.kind !== doc.kind || ref.name !== doc.name) continue;
    if (h.obj.spec.maxReplicas > max) (max = h.obj.spec.maxReplicas), (why = `HorizontalPodAutoscaler ${h.name} maxReplicas ${max}`);
  }
  if (max < 1) return { max, why };
  if (doc.kind === "Rollout") return { max: max + 1, why: `${why}, and a Rollout runs the new ReplicaSet next to the stable one during an update` };
  const st = spec.strategy || {};
  if (doc.kind === "Deployment" && (st.type || "RollingUpdate") === "RollingUpdate") {
    const surge = st.rollingUpdate && st.rollingUpdate.maxSurge;
    if (surge !== 0 && surge !== "0%") return { max: max + 1, why: `${why}, and a rolling update surges a new pod next to the old ones` };
  }
  return { max, why };
}

// redis://HOST:PORT, HOST a DNS name, IPv4 or [IPv6]; anything else is a problem string.
export function parseRedisUrl(url) {
  if (typeof url !== "string") return { problem: "must be a literal redis://HOST:PORT" };
  const m = /^redis:\/\/([^/?#]*)(.*)$/.exec(url);
  if (!m) return { problem: `"${url}" must be redis://HOST:PORT` };
  if (m[1].includes("@")) return { problem: "carries credentials (user or password): the password comes from IDEMPOTENCY_REDIS_PASSWORD_FILE, and a URL shows up in logs, kubectl describe and the process environment" };
  if (m[2]) return { problem: `"${url}" must be redis://HOST:PORT (no database, path or query)` };
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})$/.exec(m[1]);
  if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) return { problem: `"${url}" must be redis://HOST:PORT with a port 1-65535` };
  return { host: hp[1], port: Number(hp[2]) };
}

// The Service a cluster DNS name points at: { ns, name, selector, targetPort } or a problem.
function resolveService(ctx, host, ns, port) {
  const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(host);
  if (!m) return { problem: `host "${host}" is not a Service name (<service>.<namespace>.svc.cluster.local): the NetworkPolicy selects the store's pods by labels, which an address cannot name` };
  const sns = m[2] || ns;
  const svc = ctx.get("Service", sns, m[1]);
  if (svc) {
    const sp = ((svc.obj.spec && svc.obj.spec.ports) || []).find((x) => x.port === port);
    if (!sp) return { problem: `Service "${sns}/${m[1]}" has no port ${port}` };
    return { ns: sns, name: m[1], selector: svc.obj.spec.selector, targetPort: sp.targetPort === undefined ? port : sp.targetPort };
  }
  const ext = ctx.externalNamespaces.get(sns);
  const decl = ext && (ext.services || []).find((x) => x.name === m[1]);
  if (!decl) return { problem: `Service "${sns}/${m[1]}" is neither in the tree nor declared in config.yaml externalNamespaces.${sns}.services` };
  if (decl.port !== port) return { problem: `Service "${sns}/${m[1]}" is declared with port ${decl.port}, not ${port}` };
  return { ns: sns, name: m[1], selector: decl.selector, targetPort: decl.targetPort };
}

function peerMatches(ctx, peer, fromNs, pod) {
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector ? isEmptySelector(peer.namespaceSelector) || selectorMatches(peer.namespaceSelector, ctx.namespaceLabels.get(pod.ns)) : pod.ns === fromNs;
  const podOk = !peer.podSelector || isEmptySelector(peer.podSelector) || selectorMatches(peer.podSelector, pod.labels);
  return nsOk && podOk;
}

function portNumbers(ports, pods) {
  // A named port resolves through the peer pods' container ports.
  return ports.map((pt) => {
    if (typeof pt.port !== "string") return { protocol: pt.protocol || "TCP", port: pt.port };
    const hit = pods.flatMap((p) => p.ports || []).find((x) => x.name === pt.port);
    return { protocol: pt.protocol || "TCP", port: hit ? hit.containerPort : pt.port };
  });
}

function checkEgress(ctx, doc, labels, store, storePods, url) {
  const ns = ctx.nsOf(doc);
  const where = `${(podTemplate(doc) || { pointer: "" }).pointer}/metadata/labels`;
  const policies = ctx.of("NetworkPolicy").filter((np) => ctx.nsOf(np) === ns && ((np.obj.spec && np.obj.spec.policyTypes) || []).includes("Egress") && (isEmptySelector(np.obj.spec.podSelector) || selectorMatches(np.obj.spec.podSelector, labels)));
  const target = typeof store.targetPort === "number" ? store.targetPort : ((storePods.flatMap((p) => p.ports || []).find((x) => x.name === store.targetPort)) || {}).containerPort;
  let reached = false;
  for (const np of policies)
    ((np.obj.spec && np.obj.spec.egress) || []).forEach((rule, ri) => {
      const p = `/spec/egress/${ri}`;
      const peers = rule.to || [];
      if (!peers.length) return ctx.error(np, p, "an egress rule without peers allows every address: the service reaches DNS and its idempotency store only");
      peers.forEach((peer, pi) => {
        if (peer.ipBlock) ctx.error(np, `${p}/to/${pi}/ipBlock`, "an ipBlock is broader than the pods it means: select the idempotency store (and DNS) by namespace and pod labels");
        else if (!peer.podSelector || isEmptySelector(peer.podSelector)) ctx.error(np, `${p}/to/${pi}`, "a peer without a podSelector allows a whole namespace: select the pods");
      });
      const toStore = storePods.filter((sp) => peers.some((peer) => peerMatches(ctx, peer, ns, sp)));
      if (!toStore.length) return;
      const ports = portNumbers(rule.ports || [], toStore);
      if (!ports.length) return ctx.error(np, `${p}/ports`, `allows every port of the idempotency store's pods: allow TCP ${target} (and 15008, HBONE) only`);
      ports.forEach((pt, i) => {
        if (pt.protocol !== "TCP" || (pt.port !== target && pt.port !== 15008) || pt.endPort !== undefined)
          ctx.error(np, `${p}/ports/${i}`, `the idempotency store's pods are reached on TCP ${target} (and 15008, HBONE) only, found ${pt.protocol} ${pt.port}`);
      });
      if (ports.some((pt) => pt.protocol === "TCP" && pt.port === target)) reached = true;
    });
  if (!policies.length) ctx.error(doc, where, "no NetworkPolicy isolates the egress of its pods: allow DNS and the idempotency store only");
  else if (!reached) ctx.error(doc, where, `its NetworkPolicies do not let its pods reach the idempotency store ${url} (pods of Service ${store.ns}/${store.name}, TCP ${target})`);
}

export function checkIdempotencyStore(ctx) {
  const idem = (ctx.config.service && ctx.config.service.idempotency) || {};
  const urlEnv = idem.redisUrlEnv;
  if (!urlEnv) return;
  const image = idem.serviceImage || "auth-service";
  for (const doc of ctx.docs) {
    if (!isWorkload(doc) || !["Deployment", "StatefulSet", "ReplicaSet", "Rollout"].includes(doc.kind)) continue;
    const t = podTemplate(doc);
    if (!t) continue;
    const labels = { ...((t.template.metadata && t.template.metadata.labels) || {}) };
    if (doc.kind === "Rollout") labels["rollouts-pod-template-hash"] = "<hash>";
    ((t.template.spec && t.template.spec.containers) || []).forEach((c, ci) => {
      const img = parseImage(c.image);
      if (!img || img.repo.split("/").pop() !== image) return;
      const p = `${t.pointer}/spec/containers/${ci}/env`;
      const e = envValue(c, urlEnv);
      if (!e) {
        const { max, why } = maxPods(ctx, doc);
        if (max > 1) ctx.error(doc, p, `can run ${max} pods of the service (${why}) without ${urlEnv}: the embedded idempotency store serves one replica only (each pod would accept the same key once), set ${urlEnv}`);
        return;
      }
      const i = c.env.indexOf(e);
      if (e.valueFrom) return ctx.error(doc, `${p}/${i}`, `${urlEnv} must be a literal value (the address is a reviewed parameter, not a secret)`);
      const u = parseRedisUrl(e.value);
      if (u.problem) return ctx.error(doc, `${p}/${i}/value`, `${urlEnv} ${u.problem}`);
      for (const n of idem.redisRequiredEnv || []) if (!envValue(c, n)) ctx.error(doc, p, `${n} is required with ${urlEnv}`);
      const store = resolveService(ctx, u.host, ctx.nsOf(doc), u.port);
      if (store.problem) return ctx.error(doc, `${p}/${i}/value`, `${urlEnv}: ${store.problem}`);
      const storePods = ctx.pods.filter((q) => q.ns === store.ns && mapSelectorMatches(store.selector, q.labels));
      if (!storePods.length) return ctx.error(doc, `${p}/${i}/value`, `${urlEnv}: Service ${store.ns}/${store.name} selects no pod of the tree nor a declared one`);
      checkEgress(ctx, doc, labels, store, storePods, e.value);
    });
  }
}
