// Reads the Rollout, its AnalysisTemplates, the rules and the dashboards from k8s/ (the
// very files that are applied; nothing is copied), resolves the analysis arguments
// the way the controller does and scales every duration by the time scale.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadTree } from "../../manifest-validator/src/load.mjs";
import YAML from "../../manifest-validator/node_modules/yaml/dist/index.js";
import { prepareMetric, dryRunMetrics } from "./controller.mjs";
import { parseDuration, scalePromQL } from "./durations.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../../..");
export { YAML };

export function loadManifests(k8sDir, { namespace, rolloutName }) {
  const tree = loadTree(k8sDir);
  if (tree.errors.length) throw new Error(`cannot parse ${k8sDir}: ${tree.errors.map((e) => `${e.display}:${e.line} ${e.msg}`).join("; ")}`);
  const find = (kind, name, ns) => tree.docs.find((d) => d.kind === kind && d.name === name && (ns === undefined || d.namespace === ns));
  const rollout = find("Rollout", rolloutName, namespace);
  if (!rollout) throw new Error(`Rollout ${namespace}/${rolloutName} not found under ${k8sDir}`);
  loadedRollouts.set(`${namespace}/${rolloutName}`, rollout.obj);
  const templates = new Map();
  for (const d of tree.docs) if (d.kind === "AnalysisTemplate" && d.namespace === namespace) templates.set(d.name, d);
  const configMap = (name) => tree.docs.find((d) => d.kind === "ConfigMap" && d.name === name);
  return { tree, rollout, templates, configMap };
}

// The dashboards: every panel query of every dashboard JSON in the grafana-dashboards
// ConfigMap.
export function dashboardQueries(manifests, cmName = "grafana-dashboards") {
  const cm = manifests.configMap(cmName);
  if (!cm) throw new Error(`ConfigMap ${cmName} not found`);
  const out = [];
  for (const [key, text] of Object.entries(cm.obj.data || {})) {
    if (!key.endsWith(".json")) continue;
    const dash = JSON.parse(text);
    const walk = (panels) =>
      (panels || []).forEach((p) => {
        for (const t of p.targets || []) if (typeof t.expr === "string" && t.expr.trim()) out.push({ dashboard: key, panel: p.title, refId: t.refId, expr: t.expr });
        walk(p.panels);
      });
    walk(dash.panels);
  }
  return out;
}

// Grafana variables -> values: $namespace (any ${var} / $var from vars), $__rate_interval
// and $__interval -> the given window.
export function substituteGrafana(expr, vars, rateInterval) {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, rateInterval)
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a, b) => {
      const k = a || b;
      if (!(k in vars)) throw new Error(`dashboard query uses $${k}, which the rehearsal does not define`);
      return vars[k];
    });
}

// The Rollout's canary steps, checked to be what the rehearsal can play.
export function rolloutPlan(rollout) {
  const c = rollout.obj.spec && rollout.obj.spec.strategy && rollout.obj.spec.strategy.canary;
  if (!c) throw new Error(`Rollout ${rollout.name}: no canary strategy`);
  const steps = (c.steps || []).map((s, i) => {
    const kinds = Object.keys(s);
    if (kinds.length !== 1) throw new Error(`step ${i}: one kind per step expected, found ${kinds.join(", ")}`);
    const kind = kinds[0];
    if (kind === "setWeight") return { i, kind, weight: Number(s.setWeight) };
    if (kind === "pause") return { i, kind, durationMs: s.pause && s.pause.duration !== undefined ? parseDuration(s.pause.duration) : null };
    if (kind === "analysis") return { i, kind, analysis: s.analysis };
    throw new Error(`step ${i}: "${kind}" steps are not supported by the rehearsal (setWeight, pause, analysis)`);
  });
  const bg = c.analysis && (c.analysis.templates || []).length ? { startingStep: Number(c.analysis.startingStep || 0), analysis: c.analysis } : null;
  return {
    steps,
    background: bg,
    abortScaleDownDelayMs: (c.abortScaleDownDelaySeconds === undefined ? 30 : Number(c.abortScaleDownDelaySeconds)) * 1000,
  };
}

// The Rollouts loadManifests read, by namespace/name: fieldRef arguments read them.
const loadedRollouts = new Map();

// Argo's extractValueFromRollout (utils/analysis/factory.go): the path split on ".", "["
// and "]"; array indexes numeric; the value must be a primitive.
export function extractValueFromRollout(obj, fieldPath) {
  let v = obj;
  for (const section of fieldPath.split(/[.[\]]+/)) {
    if (section === "") continue;
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(section)) throw new Error(`invalid index '${section}'`);
      if (Number(section) >= v.length) throw new Error(`index ${section} out of range`);
      v = v[Number(section)];
    } else if (v && typeof v === "object") v = v[section];
    else throw new Error(`invalid path ${fieldPath} in rollout`);
  }
  if (v === undefined || v === null) throw new Error(`invalid path ${fieldPath} in rollout`);
  if (typeof v === "object") throw new Error(`path ${fieldPath} in rollout must terminate in a primitive value`);
  return String(v);
}

// A fieldRef argument, as BuildArgumentsForRolloutAnalysisRun resolves it: paths under
// "metadata" with the Kubernetes field path syntax (metadata.name, metadata.namespace,
// metadata.labels['key'], metadata.annotations['key']; keys may contain dots), anything
// else with extractValueFromRollout. ctx.labels / ctx.annotations stand for the values
// the release being rehearsed sets on the Rollout (CD's patch); otherwise the Rollout
// from k8s/.
export function resolveFieldRef(fieldPath, ctx) {
  const rollout = ctx.rollout || loadedRollouts.get(`${ctx.namespace}/${ctx.rolloutName}`) || {};
  if (fieldPath.startsWith("metadata")) {
    if (fieldPath === "metadata.namespace") return ctx.namespace;
    if (fieldPath === "metadata.name") return ctx.rolloutName;
    const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
    if (!m) throw new Error(`fieldRef ${fieldPath} is not supported by the rehearsal`);
    const own = ctx[m[1]] && ctx[m[1]][m[2]];
    const fromTree = rollout.metadata && rollout.metadata[m[1]] && rollout.metadata[m[1]][m[2]];
    const v = own !== undefined ? own : fromTree;
    // The controller would substitute "" for a missing key; the rehearsal refuses.
    if (v === undefined) throw new Error(`fieldRef ${fieldPath}: the Rollout has no such ${m[1].slice(0, -1)}`);
    return String(v);
  }
  return extractValueFromRollout(rollout, fieldPath);
}

// Argument values, as the controller resolves them for an analysis of this Rollout.
export function resolveArgs(analysis, template, ctx) {
  const supplied = new Map();
  for (const a of analysis.args || []) {
    let v;
    if (a.value !== undefined) v = String(a.value);
    else if (a.valueFrom && a.valueFrom.podTemplateHashValue) {
      const w = a.valueFrom.podTemplateHashValue;
      if (w === "Latest") v = ctx.canaryHash;
      else if (w === "Stable") v = ctx.stableHash;
      else throw new Error(`arg ${a.name}: podTemplateHashValue "${w}" unknown`);
    } else if (a.valueFrom && a.valueFrom.fieldRef) {
      try {
        v = resolveFieldRef(String(a.valueFrom.fieldRef.fieldPath), ctx);
      } catch (e) {
        throw new Error(`arg ${a.name}: ${e.message}`);
      }
    } else throw new Error(`arg ${a.name}: no value, and its valueFrom is not supported by the rehearsal`);
    supplied.set(a.name, v);
  }
  const out = new Map();
  for (const ta of template.obj.spec.args || []) {
    if (supplied.has(ta.name)) out.set(ta.name, supplied.get(ta.name));
    else if (ta.value !== undefined) out.set(ta.name, String(ta.value));
    else throw new Error(`AnalysisTemplate ${template.name}: argument ${ta.name} is not supplied`);
  }
  return out;
}

// {{args.x}} -> value, in every string of the metric (Argo substitutes in the metric's
// JSON); an unresolved reference is an error, as in the controller.
export function substituteArgs(obj, args, where) {
  if (typeof obj === "string")
    return obj.replace(/\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g, (_, n) => {
      if (!args.has(n)) throw new Error(`${where}: {{args.${n}}} has no value`);
      return args.get(n);
    });
  if (Array.isArray(obj)) return obj.map((x) => substituteArgs(x, args, where));
  if (obj && typeof obj === "object") return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, substituteArgs(v, args, where)]));
  return obj;
}

// The metrics of one AnalysisRun: the templates' metrics merged (as the controller
// does for a step with several templates), args substituted, conditions compiled, the
// durations and every range window of the query divided by the scale.
export function buildRunMetrics(analysis, templates, ctx, scale) {
  const metrics = [];
  for (const t of analysis.templates || []) {
    if (t.clusterScope) throw new Error(`ClusterAnalysisTemplate ${t.templateName} is not supported by the rehearsal`);
    const tpl = templates.get(t.templateName);
    if (!tpl) throw new Error(`AnalysisTemplate ${t.templateName} not found`);
    const args = resolveArgs(analysis, tpl, ctx);
    for (const raw of tpl.obj.spec.metrics || []) {
      const resolved = substituteArgs(raw, args, `${tpl.name}/${raw.name}`);
      const prom = resolved.provider && resolved.provider.prometheus;
      if (!prom || typeof prom.query !== "string") throw new Error(`${tpl.name}/${raw.name}: only the prometheus provider is supported by the rehearsal`);
      let m;
      try {
        m = prepareMetric(resolved, { scale });
      } catch (e) {
        throw new Error(`${tpl.name}/${raw.name}: ${e.message}`);
      }
      if (metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} appears twice in one analysis run`);
      m.template = tpl.name;
      m.query = scalePromQL(prom.query, scale);
      m.originalQuery = prom.query;
      m.timeoutMs = Math.max(1000, (prom.timeout === undefined ? 30 : Number(prom.timeout)) * 1000 / scale);
      metrics.push(m);
    }
  }
  // The analysis' dryRun rules (Rollout step or background analysis): those metrics are
  // measured but never decide the run (controller.mjs).
  for (const name of dryRunMetrics(analysis.dryRun, metrics)) metrics.find((x) => x.name === name).dryRun = true;
  return metrics;
}

// The rule files of the rules ConfigMap, windows and "for" durations divided by the
// scale (the rehearsal's Prometheus evaluates them every evaluation_interval / scale).
export function scaleRuleFile(text, scale) {
  const doc = YAML.parse(text);
  for (const g of (doc && doc.groups) || []) {
    if (g.interval) g.interval = fmtScaled(g.interval, scale);
    for (const r of g.rules || []) {
      r.expr = scalePromQL(String(r.expr), scale);
      if (r.for) r.for = fmtScaled(r.for, scale);
      if (r.keep_firing_for) r.keep_firing_for = fmtScaled(r.keep_firing_for, scale);
    }
  }
  return YAML.stringify(doc);
}

function fmtScaled(d, scale) {
  const ms = Math.max(1, Math.round(parseDuration(d) / scale));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function readFileIfExists(p) {
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null;
}
