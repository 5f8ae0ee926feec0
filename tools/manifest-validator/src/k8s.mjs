// Kubernetes helpers shared by the checks: pod templates, selectors, quantities.

export const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "GatewayClass",
  "ClusterSecretStore",
  "ClusterExternalSecret",
  "ClusterAnalysisTemplate",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
]);

// Workload kinds and where their pod template lives.
const TEMPLATE_PATH = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  Job: ["spec", "template"],
  Rollout: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

export function isWorkload(doc) {
  return Object.prototype.hasOwnProperty.call(TEMPLATE_PATH, doc.kind) || doc.kind === "Pod";
}

// Long-running workloads (need a PDB, liveness and readiness probes).
export function isLongRunning(doc) {
  return ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Rollout"].includes(doc.kind);
}

// Returns { template, pointer } or null. For a Pod the "template" is the Pod itself.
export function podTemplate(doc) {
  if (doc.kind === "Pod") return { template: doc.obj, pointer: "" };
  const p = TEMPLATE_PATH[doc.kind];
  if (!p) return null;
  let cur = doc.obj;
  for (const k of p) {
    if (!cur || typeof cur !== "object") return null;
    cur = cur[k];
  }
  if (!cur || typeof cur !== "object") return null;
  return { template: cur, pointer: "/" + p.join("/") };
}

// The containers (not init containers) of every workload's pod template for which
// predicate(container) holds, with where they stand: { doc, spec, c, labels, pointer }.
export function workloadContainers(ctx, predicate) {
  const found = [];
  for (const doc of ctx.docs) {
    if (!isWorkload(doc)) continue;
    const t = podTemplate(doc);
    if (!t) continue;
    const spec = t.template.spec || {};
    const labels = (t.template.metadata && t.template.metadata.labels) || {};
    (spec.containers || []).forEach((c, i) => {
      if (predicate(c)) found.push({ doc, spec, c, labels, pointer: `${t.pointer}/spec/containers/${i}` });
    });
  }
  return found;
}

export function allContainers(podSpec) {
  const out = [];
  for (const field of ["initContainers", "containers"]) {
    const list = (podSpec && podSpec[field]) || [];
    list.forEach((c, i) => out.push({ c, field, i, pointer: `/spec/${field}/${i}` }));
  }
  return out;
}

// Label selector (matchLabels + matchExpressions) against a label map.
export function selectorMatches(selector, labels) {
  if (!selector) return false;
  labels = labels || {};
  const ml = selector.matchLabels || {};
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values || [];
    switch (e.operator) {
      case "In":
        if (!has || !vals.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        if (has && vals.includes(labels[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function isEmptySelector(selector) {
  return (
    !selector ||
    (Object.keys(selector.matchLabels || {}).length === 0 && (selector.matchExpressions || []).length === 0)
  );
}

// Service selectors are plain maps.
export function mapSelectorMatches(map, labels) {
  if (!map || Object.keys(map).length === 0) return false;
  return Object.entries(map).every(([k, v]) => (labels || {})[k] === v);
}

// CPU quantity in millicores, or NaN.
export function cpuMillis(q) {
  if (typeof q === "number") return q * 1000;
  if (typeof q !== "string") return NaN;
  const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(q);
  if (!m) return NaN;
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

const BIN = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DEC = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3, "": 1 };
export function bytes(q) {
  if (typeof q === "number") return q;
  if (typeof q !== "string") return NaN;
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/.exec(q);
  if (!m) return NaN;
  const unit = m[2] || "";
  return Number(m[1]) * (BIN[unit] || DEC[unit]);
}

// Go/Prometheus-style duration ("1m", "500ms", "1h30m") to milliseconds, or NaN.
export function durationMs(s) {
  if (typeof s !== "string" || s.length === 0) return NaN;
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w|y)/gy;
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8, y: 3.1536e10 };
  let total = 0;
  let m;
  let consumed = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === s.length ? total : NaN;
}

// "ghcr.io/a/b:tag@sha256:..." -> { repo, tag, digest }
export function parseImage(ref) {
  if (typeof ref !== "string") return null;
  let rest = ref;
  let digest = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = null;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repo: rest, tag, digest };
}

export function envValue(container, name) {
  for (const e of container.env || []) if (e && e.name === name) return e;
  return null;
}
