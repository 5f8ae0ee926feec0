// The validation context: the documents of the tree, indexed, plus the error list.
import { CLUSTER_SCOPED, podTemplate, isWorkload } from "./k8s.mjs";

export class Context {
  constructor({ dir, tree, config, options }) {
    this.dir = dir;
    this.tree = tree;
    this.docs = tree.docs;
    this.config = config;
    this.options = options;
    this.problems = [];
    this.byKind = new Map();
    for (const d of this.docs) {
      if (!this.byKind.has(d.kind)) this.byKind.set(d.kind, []);
      this.byKind.get(d.kind).push(d);
    }
    this.namespaceLabels = new Map(); // ns -> labels (tree + declared external)
    for (const n of this.of("Namespace")) {
      this.namespaceLabels.set(n.name, { ...(n.obj.metadata.labels || {}), "kubernetes.io/metadata.name": n.name });
    }
    this.externalNamespaces = new Map(Object.entries(config.externalNamespaces || {}));
    for (const ns of this.externalNamespaces.keys()) {
      if (!this.namespaceLabels.has(ns)) this.namespaceLabels.set(ns, { "kubernetes.io/metadata.name": ns });
    }
    this.pods = this.buildPods();
  }

  of(kind) {
    return this.byKind.get(kind) || [];
  }

  // Namespace a namespaced document lives in ("" when missing).
  nsOf(doc) {
    if (CLUSTER_SCOPED.has(doc.kind)) return null;
    return doc.namespace || "";
  }

  get(kind, ns, name) {
    return this.of(kind).find((d) => d.name === name && (ns === null || this.nsOf(d) === ns)) || null;
  }

  isTreeNamespace(ns) {
    return this.of("Namespace").some((n) => n.name === ns);
  }

  // Pods the tree will produce: from workload templates, plus the pods Istio generates
  // from Gateway objects (labelled with the gateway name).
  buildPods() {
    const pods = [];
    for (const d of this.docs) {
      if (!isWorkload(d)) continue;
      const t = podTemplate(d);
      if (!t) continue;
      const labels = { ...((t.template.metadata && t.template.metadata.labels) || {}) };
      if (d.kind === "Rollout") labels["rollouts-pod-template-hash"] = "<hash>";
      const ports = [];
      for (const c of [...((t.template.spec || {}).containers || []), ...((t.template.spec || {}).initContainers || [])])
        for (const p of c.ports || []) ports.push({ name: p.name, containerPort: p.containerPort, protocol: p.protocol || "TCP" });
      pods.push({ ns: this.nsOf(d), labels, ports, owner: d, generated: false });
    }
    // Pods of the Jobs that AnalysisTemplates' job metrics create (the synthetic load).
    for (const d of this.docs) {
      if (d.kind !== "AnalysisTemplate") continue;
      for (const m of (d.obj.spec && d.obj.spec.metrics) || []) {
        const t = m.provider && m.provider.job && m.provider.job.spec && m.provider.job.spec.template;
        if (t) pods.push({ ns: this.nsOf(d), labels: { ...((t.metadata && t.metadata.labels) || {}) }, ports: [], owner: d, generated: true });
      }
    }
    const label = this.config.generatedGatewayPodLabel;
    for (const g of this.of("Gateway")) {
      const ports = [{ name: "status", containerPort: 15021, protocol: "TCP" }];
      for (const l of (g.obj.spec && g.obj.spec.listeners) || []) ports.push({ name: l.name, containerPort: l.port, protocol: "TCP" });
      pods.push({ ns: this.nsOf(g), labels: { [label]: g.name }, ports, owner: g, generated: true });
    }
    for (const [ns, spec] of this.externalNamespaces) {
      for (const labels of spec.pods || []) pods.push({ ns, labels, ports: null, owner: null, generated: true, external: true });
    }
    return pods;
  }

  error(doc, pointer, message) {
    this.problems.push({ file: doc.file, index: doc.index, kind: doc.kind, name: doc.name, line: doc.line, pointer, message });
  }

  fileError(file, line, message) {
    this.problems.push({ file, line, message });
  }

  globalError(message) {
    this.problems.push({ message });
  }
}

export function formatProblem(p) {
  if (p.kind !== undefined) {
    const ptr = p.pointer ? `${p.pointer}: ` : "";
    return `${p.file}: doc ${p.index} (${p.kind}/${p.name || "<unnamed>"}, line ${p.line}): ${ptr}${p.message}`;
  }
  if (p.file) return `${p.file}${p.line ? `:${p.line}` : ""}: ${p.message}`;
  return p.message;
}
