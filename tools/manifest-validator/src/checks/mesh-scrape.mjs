// The mesh's client-observed metrics reach Prometheus: for every waypoint Gateway of the
// tree (gatewayClassName istio-waypoint) and every Gateway an HTTPRoute of the tree
// attaches to (the ingress gateway), the Prometheus configuration has a scrape job that
//  - discovers pods (kubernetes_sd_configs role pod) in the Gateway's namespace,
//  - keeps the pods Istio generates from it (label gateway.networking.k8s.io/gateway-name),
//    port 15020, path /stats/prometheus (Istio's merged metrics),
//  - sets no target label but namespace and pod, and neither drops nor rewrites any of
//    Istio's labels (no metric_relabel_configs, no labeldrop/labelkeep/labelmap);
// and the NetworkPolicies let Prometheus reach those pods on 15020 (its egress, their
// ingress).
import YAML from "yaml";
import { selectorMatches } from "../k8s.mjs";

const METRICS_PORT = 15020;
const GATEWAY_LABEL_META = "__meta_kubernetes_pod_label_gateway_networking_k8s_io_gateway_name";

function prometheusConfig(ctx) {
  for (const cm of ctx.of("ConfigMap")) {
    const text = cm.obj.data && cm.obj.data["prometheus.yml"];
    if (typeof text !== "string") continue;
    try {
      return { cm, cfg: YAML.parse(text, { version: "1.1" }) || {} };
    } catch {
      return null; // reported by the Prometheus check
    }
  }
  return null;
}

// The Gateways whose pods carry client-observed metrics.
function meshGateways(ctx) {
  const out = new Map();
  for (const g of ctx.of("Gateway")) if (g.obj.spec && g.obj.spec.gatewayClassName === "istio-waypoint") out.set(`${ctx.nsOf(g)}/${g.name}`, { doc: g, ns: ctx.nsOf(g), name: g.name, kind: "waypoint" });
  for (const r of ctx.of("HTTPRoute"))
    for (const p of (r.obj.spec && r.obj.spec.parentRefs) || []) {
      if ((p.kind || "Gateway") !== "Gateway") continue;
      const ns = p.namespace || ctx.nsOf(r);
      const g = ctx.get("Gateway", ns, p.name);
      if (g && !out.has(`${ns}/${g.name}`)) out.set(`${ns}/${g.name}`, { doc: g, ns, name: g.name, kind: "ingress gateway" });
    }
  return [...out.values()];
}

// Does relabeling rule list keep a pod of this gateway at port 15020 (and only such)?
function jobSelects(job, gw) {
  const rcs = job.relabel_configs || [];
  const keeps = rcs.filter((r) => (r.action || "replace") === "keep");
  const labelsOf = (port) => ({
    [GATEWAY_LABEL_META]: gw.name,
    __meta_kubernetes_pod_container_name: "istio-proxy",
    __meta_kubernetes_pod_container_port_number: String(port),
    __meta_kubernetes_pod_container_port_name: port === METRICS_PORT ? "metrics" : "other",
    __meta_kubernetes_pod_phase: "Running",
    __meta_kubernetes_namespace: gw.ns,
  });
  const kept = (labels) =>
    keeps.every((r) => {
      const value = (r.source_labels || []).map((l) => labels[l] ?? "").join(r.separator ?? ";");
      return new RegExp(`^(?:${r.regex ?? "(.*)"})$`).test(value);
    });
  const gwKeep = keeps.some((r) => (r.source_labels || []).includes(GATEWAY_LABEL_META));
  return { keepsMetrics: gwKeep && kept(labelsOf(METRICS_PORT)), keepsOther: kept(labelsOf(15090)) || kept(labelsOf(15021)) };
}

function discovers(job, ns) {
  return (job.kubernetes_sd_configs || []).some((sd) => sd.role === "pod" && ((sd.namespaces && sd.namespaces.names) || []).includes(ns));
}

function portAllows(ports, port) {
  if (!ports || !ports.length) return true;
  return ports.some((p) => p.port === undefined || p.port === port || (p.endPort !== undefined && p.port <= port && port <= p.endPort));
}

function peerMatches(ctx, peer, policyNs, pod) {
  if (peer.ipBlock) return false;
  const nsLabels = ctx.namespaceLabels.get(pod.ns) || { "kubernetes.io/metadata.name": pod.ns };
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, nsLabels)) return false;
  } else if (pod.ns !== policyNs) return false;
  return !peer.podSelector || selectorMatches(peer.podSelector, pod.labels);
}

// Some NetworkPolicy of `self`'s namespace selecting it allows `other` in the direction.
function policyAllows(ctx, self, other, direction, port) {
  const key = direction === "Ingress" ? "ingress" : "egress";
  const peersKey = direction === "Ingress" ? "from" : "to";
  return ctx.of("NetworkPolicy").some((np) => {
    if (ctx.nsOf(np) !== self.ns || !selectorMatches(np.obj.spec.podSelector || {}, self.labels)) return false;
    return (np.obj.spec[key] || []).some((rule) => portAllows(rule.ports, port) && (!(rule[peersKey] || []).length || rule[peersKey].some((p) => peerMatches(ctx, p, self.ns, other))));
  });
}

// Whether any NetworkPolicy of the namespace selects the pod for the direction (if none,
// the direction is open).
function isolated(ctx, pod, direction) {
  return ctx.of("NetworkPolicy").some((np) => ctx.nsOf(np) === pod.ns && selectorMatches(np.obj.spec.podSelector || {}, pod.labels) && (np.obj.spec.policyTypes || ["Ingress"]).includes(direction));
}

export function checkMeshScrape(ctx) {
  const gateways = meshGateways(ctx);
  if (!gateways.length) return;
  const found = prometheusConfig(ctx);
  if (!found) return;
  const { cm, cfg } = found;
  const jobs = cfg.scrape_configs || [];
  const promPod = ctx.pods.find((p) => p.labels["app.kubernetes.io/name"] === "prometheus" && !p.generated);
  const label = ctx.config.generatedGatewayPodLabel;
  for (const gw of gateways) {
    const where = `/data/prometheus.yml`;
    const candidates = jobs.filter((j) => discovers(j, gw.ns) && jobSelects(j, gw).keepsMetrics);
    if (!candidates.length) {
      ctx.error(cm, where, `no scrape job keeps the ${gw.kind} pods of Gateway ${gw.ns}/${gw.name} (kubernetes_sd_configs role pod in namespace ${gw.ns}, keep ${GATEWAY_LABEL_META}=${gw.name} and port ${METRICS_PORT}): the mesh's client-observed metrics would never reach the analysis`);
      continue;
    }
    for (const j of candidates) {
      const w = `${where} scrape_configs (job ${j.job_name})`;
      if (j.metrics_path !== "/stats/prometheus") ctx.error(cm, w, `metrics_path must be /stats/prometheus (Istio's merged metrics on ${METRICS_PORT}), found ${j.metrics_path ?? "/metrics (default)"}`);
      if (jobSelects(j, gw).keepsOther) ctx.error(cm, w, `the job also keeps ports other than ${METRICS_PORT} of the ${gw.kind} pods (15021, 15090): every series would be scraped twice or from the wrong endpoint`);
      if (j.honor_labels === true) ctx.error(cm, w, "honor_labels must be false");
      if ((j.metric_relabel_configs || []).length) ctx.error(cm, w, "metric_relabel_configs on a mesh job: Istio's labels (reporter, destination_*, source_*, response_code, response_flags) must arrive unchanged");
      const targets = new Set();
      (j.relabel_configs || []).forEach((r, i) => {
        const action = r.action || "replace";
        if (["labeldrop", "labelkeep", "labelmap"].includes(action)) ctx.error(cm, `${w} relabel_configs[${i}]`, `action ${action} on a mesh job: only namespace and pod may be added, nothing else renamed or dropped`);
        if (r.target_label !== undefined && !String(r.target_label).startsWith("__")) targets.add(String(r.target_label));
      });
      const extra = [...targets].filter((t) => !["namespace", "pod"].includes(t));
      if (extra.length) ctx.error(cm, w, `target labels ${extra.join(", ")} on a mesh job: only namespace and pod (a target label named like an Istio label would rename Istio's to exported_<name>)`);
      for (const t of ["namespace", "pod"]) if (!targets.has(t)) ctx.error(cm, w, `the mesh job sets no "${t}" target label`);
    }
    // NetworkPolicies: Prometheus -> gateway pods on 15020.
    if (!promPod) continue;
    const gwPod = { ns: gw.ns, labels: { [label]: gw.name } };
    if (isolated(ctx, promPod, "Egress") && !policyAllows(ctx, promPod, gwPod, "Egress", METRICS_PORT))
      ctx.error(gw.doc, "/metadata/name", `no NetworkPolicy of namespace ${promPod.ns} lets Prometheus reach the ${gw.kind} pods (${label}=${gw.name}) in ${gw.ns} on ${METRICS_PORT}`);
    if (isolated(ctx, gwPod, "Ingress") && !policyAllows(ctx, gwPod, promPod, "Ingress", METRICS_PORT))
      ctx.error(gw.doc, "/metadata/name", `no NetworkPolicy of namespace ${gw.ns} admits Prometheus (${promPod.ns}) to the ${gw.kind} pods (${label}=${gw.name}) on ${METRICS_PORT}`);
  }
}
