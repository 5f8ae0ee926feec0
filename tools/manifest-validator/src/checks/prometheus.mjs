// Prometheus: the configuration in its ConfigMap, checked by promtool.
//
// Debian's promtool is built without Kubernetes service discovery and rejects
// kubernetes_sd_configs. So the configuration is copied with each kubernetes_sd_configs
// block replaced by a file_sd_configs block (text edit; relabel_configs stay
// byte-identical, which is asserted), rule_files pointed at copies of the rules
// ConfigMap, and promtool checks that copy. The kubernetes_sd_configs blocks themselves
// are checked here against the fields Prometheus defines for them, and their namespaces
// and RBAC against the tree. The same copy is what --emit-prometheus writes, for the
// canary rehearsal (file_sd targets carrying the __meta_kubernetes_* labels).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import YAML from "yaml";
import { workloadContainers } from "../k8s.mjs";

const SD_KEYS = new Set([
  "role",
  "namespaces",
  "selectors",
  "api_server",
  "kubeconfig_file",
  "attach_metadata",
  "basic_auth",
  "authorization",
  "oauth2",
  "tls_config",
  "proxy_url",
  "no_proxy",
  "proxy_from_environment",
  "proxy_connect_header",
  "follow_redirects",
  "enable_http2",
  "bearer_token",
  "bearer_token_file",
]);
const SD_ROLES = { pod: ["pods"], endpoints: ["endpoints", "services", "pods"], endpointslice: ["endpointslices", "services", "pods"], service: ["services"], node: ["nodes"], ingress: ["ingresses"] };
const TARGET_ACTIONS = new Set(["replace", "hashmod", "lowercase", "uppercase"]);

const indentOf = (l) => l.length - l.trimStart().length;

// Lines [start, end] of the block value of the key on line `start` (keyCol = column of
// the key). Continuation: deeper lines, or "- " items at the key's column.
function blockEnd(lines, start, keyCol) {
  const first = lines[start];
  const after = first.slice(first.indexOf(":") + 1).trim();
  if (after && !after.startsWith("#")) return start; // flow or scalar value on the same line
  let end = start;
  for (let j = start + 1; j < lines.length; j++) {
    const l = lines[j];
    const t = l.trim();
    if (t === "" || t.startsWith("#")) continue;
    const ind = indentOf(l);
    if (ind > keyCol || (ind === keyCol && t.startsWith("- "))) end = j;
    else break;
  }
  return end;
}

function findKeyBlocks(text, key) {
  const lines = text.split("\n");
  const re = new RegExp(`^(\\s*)(-\\s+)?${key}\\s*:(.*)$`);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const m = re.exec(lines[i]);
    if (!m) continue;
    const keyCol = m[1].length + (m[2] ? m[2].length : 0);
    const end = blockEnd(lines, i, keyCol);
    blocks.push({ start: i, end, indent: m[1], dash: m[2] || "", keyCol, text: lines.slice(i, end + 1).join("\n") });
  }
  return blocks;
}

// Returns { text, sdFiles: [{job, file}] }.
export function toFileSd(text, sdPathFor) {
  const lines = text.split("\n");
  const blocks = findKeyBlocks(text, "kubernetes_sd_configs");
  const out = [];
  const sdFiles = [];
  let cursor = 0;
  blocks.forEach((b, k) => {
    out.push(...lines.slice(cursor, b.start));
    const file = sdPathFor(k);
    sdFiles.push(file);
    const pad = " ".repeat(b.keyCol);
    out.push(`${b.indent}${b.dash}file_sd_configs:`);
    out.push(`${pad}  - files:`);
    out.push(`${pad}      - ${file}`);
    cursor = b.end + 1;
  });
  out.push(...lines.slice(cursor));
  return { text: out.join("\n"), sdFiles };
}

function globToRegExp(glob) {
  return new RegExp("^" + glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]") + "$");
}

// Finds the ConfigMap (and key pattern) behind a file path inside a container.
export function resolveMounted(ctx, doc, spec, container, filePath) {
  const ns = ctx.nsOf(doc);
  for (const m of container.volumeMounts || []) {
    const mp = m.mountPath.replace(/\/$/, "");
    let key = null;
    if (m.subPath) {
      if (filePath === mp) key = m.subPath;
    } else if (filePath.startsWith(mp + "/") && !filePath.slice(mp.length + 1).includes("/")) key = filePath.slice(mp.length + 1);
    if (key === null) continue;
    const vol = (spec.volumes || []).find((v) => v.name === m.name);
    if (!vol || !vol.configMap) return { error: `${filePath} is mounted from volume "${m.name}", which is not a ConfigMap` };
    const cm = ctx.get("ConfigMap", ns, vol.configMap.name);
    if (!cm) return { error: `ConfigMap "${ns}/${vol.configMap.name}" (mounted at ${m.mountPath}) not found` };
    return { cm, key };
  }
  return { error: `${filePath} is not inside any volume mount of container "${container.name}"` };
}

const CONFIG_FLAG = "--config.file=";

function configArg(c) {
  return [...(c.args || []), ...(c.command || [])].find((a) => typeof a === "string" && a.startsWith(CONFIG_FLAG));
}

export function prometheusContainers(ctx) {
  return workloadContainers(ctx, (c) => configArg(c) && /\/prometheus(:|@|$)/.test(c.image || "")).map((w) => ({
    ...w,
    configPath: configArg(w.c).slice(CONFIG_FLAG.length),
  }));
}

function checkSdBlock(ctx, cm, sd, where, saInfo) {
  for (const k of Object.keys(sd || {})) if (!SD_KEYS.has(k)) ctx.error(cm, where, `kubernetes_sd_configs: unknown field "${k}"`);
  if (!SD_ROLES[sd.role]) return ctx.error(cm, where, `kubernetes_sd_configs: role must be one of ${Object.keys(SD_ROLES).join(", ")}`);
  const nsSpec = sd.namespaces;
  if (nsSpec) for (const k of Object.keys(nsSpec)) if (!["names", "own_namespace"].includes(k)) ctx.error(cm, where, `kubernetes_sd_configs.namespaces: unknown field "${k}"`);
  for (const s of sd.selectors || []) for (const k of Object.keys(s)) if (!["role", "label", "field"].includes(k)) ctx.error(cm, where, `kubernetes_sd_configs.selectors: unknown field "${k}"`);
  const names = (nsSpec && nsSpec.names) || [];
  if (!names.length) return ctx.error(cm, where, "kubernetes_sd_configs: list the namespaces to discover (namespaces.names); cluster-wide discovery needs cluster-wide RBAC");
  for (const ns of names) {
    if (!ctx.isTreeNamespace(ns)) ctx.error(cm, where, `kubernetes_sd_configs: namespace "${ns}" is not created by the tree`);
    if (!saInfo) continue;
    // The Prometheus service account must be able to list and watch what the role needs.
    const granted = new Set();
    for (const b of ctx.of("RoleBinding")) {
      if (ctx.nsOf(b) !== ns) continue;
      if (!(b.obj.subjects || []).some((s) => s.kind === "ServiceAccount" && s.name === saInfo.sa && (s.namespace || ns) === saInfo.ns)) continue;
      const role = b.obj.roleRef.kind === "Role" ? ctx.get("Role", ns, b.obj.roleRef.name) : ctx.get("ClusterRole", null, b.obj.roleRef.name);
      for (const r of (role && role.obj.rules) || []) {
        if (!(r.apiGroups || []).includes("")) continue;
        const verbs = r.verbs || [];
        if ((verbs.includes("list") && verbs.includes("watch")) || verbs.includes("*")) for (const res of r.resources || []) granted.add(res);
      }
    }
    for (const res of SD_ROLES[sd.role])
      if (!granted.has(res) && !(res === "endpointslices"))
        ctx.error(cm, where, `kubernetes_sd_configs: ServiceAccount ${saInfo.ns}/${saInfo.sa} cannot list/watch ${res} in namespace "${ns}" (no RoleBinding grants it)`);
  }
}

function checkTargetLabels(ctx, cm, where, configs, kind) {
  const metricLabels = new Set(ctx.config.prometheus.metricLabels);
  const allowed = new Set(ctx.config.prometheus.allowedTargetLabels);
  (configs || []).forEach((rc, i) => {
    const action = rc.action || "replace";
    const p = `${where} ${kind}[${i}]`;
    if (action === "labelmap") {
      if (!String(rc.replacement || "$1").startsWith("__")) ctx.error(cm, p, `labelmap copies arbitrary pod labels into target labels (a pod label "version" would rename the service's own "version"); set the allowed labels one by one`);
      return;
    }
    if (!TARGET_ACTIONS.has(action) || rc.target_label === undefined) return;
    const t = String(rc.target_label);
    if (t.startsWith("__")) return;
    if (metricLabels.has(t)) ctx.error(cm, p, `target_label "${t}" collides with metric label "${t}" of the service: Prometheus would rename the service's own label to exported_${t}`);
    else if (kind === "relabel_configs" && !allowed.has(t)) ctx.error(cm, p, `target_label "${t}" is not one of the allowed target labels (${[...allowed].join(", ")})`);
  });
}

function runPromtool(args) {
  const r = spawnSync("promtool", args, { encoding: "utf8" });
  if (r.error) return { ok: false, out: `cannot run promtool: ${r.error.message} (install Debian's "prometheus" package)`, missing: true, stdout: "", stderr: "" };
  return { ok: r.status === 0, out: `${r.stdout || ""}${r.stderr || ""}`.trim(), stdout: r.stdout || "", stderr: r.stderr || "" };
}

// Builds the promtool-checkable copy in outDir. Returns a list of problems (strings)
// and details, and reports structural problems on the ConfigMap.
export function buildPrometheusCopy(ctx, target, outDir) {
  const { doc, spec, c, configPath } = target;
  const res = resolveMounted(ctx, doc, spec, c, configPath);
  if (res.error) {
    ctx.error(doc, `${target.pointer}/args`, `--config.file: ${res.error}`);
    return null;
  }
  const { cm, key } = res;
  const text = cm.obj.data && cm.obj.data[key];
  if (typeof text !== "string") {
    ctx.error(cm, `/data`, `no key "${key}" (the --config.file of ${doc.kind}/${doc.name})`);
    return null;
  }
  let parsed;
  try {
    parsed = YAML.parse(text, { version: "1.1", uniqueKeys: true });
  } catch (e) {
    ctx.error(cm, `/data/${key}`, `prometheus config is not valid YAML: ${e.message.split("\n")[0]}`);
    return null;
  }
  const scrape = (parsed && parsed.scrape_configs) || [];
  const saName = spec.serviceAccountName;
  const saInfo = saName ? { sa: saName, ns: ctx.nsOf(doc) } : null;
  const sdJobs = [];
  scrape.forEach((sc, i) => {
    const where = `/data/${key} scrape_configs[${i}] (job ${sc.job_name})`;
    (sc.kubernetes_sd_configs || []).forEach((sd) => checkSdBlock(ctx, cm, sd, where, saInfo));
    if (sc.kubernetes_sd_configs) sdJobs.push(sc.job_name);
    checkTargetLabels(ctx, cm, where, sc.relabel_configs, "relabel_configs");
    checkTargetLabels(ctx, cm, where, sc.metric_relabel_configs, "metric_relabel_configs");
  });

  fs.mkdirSync(path.join(outDir, "file_sd"), { recursive: true });
  const sdPaths = [];
  const converted = toFileSd(text, (k) => {
    const p = path.join(outDir, "file_sd", `${sdJobs[k] || `job-${k}`}.json`);
    sdPaths.push(p);
    return p;
  });
  for (const p of sdPaths) fs.writeFileSync(p, "[]\n");
  // relabel_configs must be byte-identical in the copy.
  const before = findKeyBlocks(text, "relabel_configs").map((b) => b.text);
  const after = findKeyBlocks(converted.text, "relabel_configs").map((b) => b.text);
  if (before.length !== after.length || before.some((b, i) => b !== after[i])) {
    ctx.error(cm, `/data/${key}`, "internal: relabel_configs changed while converting kubernetes_sd_configs to file_sd_configs");
    return null;
  }
  // rule_files: copy the rules ConfigMap keys and point the globs at the copies.
  let outText = converted.text;
  const ruleFiles = (parsed && parsed.rule_files) || [];
  const ruleBlocks = findKeyBlocks(outText, "rule_files").filter((b) => b.keyCol === 0);
  ruleFiles.forEach((glob, k) => {
    const dir = path.posix.dirname(glob);
    const base = path.posix.basename(glob);
    const r = resolveMounted(ctx, doc, spec, c, `${dir}/placeholder`);
    if (r.error) return ctx.error(cm, `/data/${key}`, `rule_files "${glob}": ${r.error}`);
    const re = globToRegExp(base);
    const keys = Object.keys(r.cm.obj.data || {}).filter((x) => re.test(x));
    if (keys.length === 0) return ctx.error(r.cm, "/data", `no key matches rule_files "${glob}" of ${cm.name}`);
    const rdir = path.join(outDir, "rules", String(k));
    fs.mkdirSync(rdir, { recursive: true });
    for (const x of keys) fs.writeFileSync(path.join(rdir, x), r.cm.obj.data[x]);
    if (ruleBlocks.length) {
      const b = ruleBlocks[0];
      const lines = outText.split("\n");
      for (let j = b.start; j <= b.end; j++) lines[j] = lines[j].split(glob).join(path.join(rdir, base));
      outText = lines.join("\n");
    }
  });
  const outFile = path.join(outDir, "prometheus.yml");
  fs.writeFileSync(outFile, outText);
  return { cm, key, outFile, sdFiles: sdPaths };
}

export function checkPrometheus(ctx) {
  const targets = prometheusContainers(ctx);
  if (targets.length === 0) ctx.globalError("no Prometheus container (image prometheus, --config.file=...) found in the tree");
  for (const target of targets) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "promcheck-"));
    try {
      const built = buildPrometheusCopy(ctx, target, tmp);
      if (!built) continue;
      const r = runPromtool(["check", "config", built.outFile]);
      if (!r.ok) ctx.error(built.cm, `/data/${built.key}`, `promtool check config failed (kubernetes_sd_configs replaced by file_sd_configs):\n    ${r.out.split("\n").join("\n    ")}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

// Every PromQL expression the tree carries (analysis queries, dashboard panels) must
// parse: each becomes a recording rule in a temporary file for promtool check rules.
export function checkQueries(ctx, queries) {
  if (!queries.length) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "promql-"));
  try {
    const files = queries.map((q, i) => {
      const f = path.join(tmp, `q${i}.yml`);
      const expr = q.expr.replace(/\{\{\s*args\.[A-Za-z0-9_.-]+\s*\}\}/g, "placeholder");
      fs.writeFileSync(f, YAML.stringify({ groups: [{ name: `q${i}`, rules: [{ record: `validate:query_${i}`, expr }] }] }));
      return f;
    });
    const r = runPromtool(["check", "rules", ...files]);
    if (r.ok) return;
    if (r.missing) return ctx.globalError(r.out);
    // promtool prints one line per problem on stderr, prefixed with the file name.
    let attributed = 0;
    for (const line of r.stderr.split("\n")) {
      const i = files.findIndex((f) => line.startsWith(`${f}:`));
      if (i < 0) continue;
      attributed++;
      const detail = line.slice(files[i].length + 1).replace(/^\s*\d+:\d+:\s*/, "").replace(/group "q\d+", rule \d+, "validate:query_\d+": /, "").trim();
      ctx.error(queries[i].doc, queries[i].pointer, `PromQL does not parse: ${detail}`);
    }
    if (!attributed) ctx.globalError(`promtool check rules failed:\n    ${r.out.split("\n").join("\n    ")}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function analysisQueries(ctx) {
  const out = [];
  for (const t of [...ctx.of("AnalysisTemplate"), ...ctx.of("ClusterAnalysisTemplate")])
    (t.obj.spec.metrics || []).forEach((m, i) => {
      const q = m.provider && m.provider.prometheus && m.provider.prometheus.query;
      if (typeof q === "string") out.push({ doc: t, pointer: `/spec/metrics/${i}/provider/prometheus/query`, expr: q });
    });
  return out;
}

export function emitPrometheus(ctx, outDir) {
  const targets = prometheusContainers(ctx);
  if (targets.length !== 1) throw new Error(`expected exactly one Prometheus container in the tree, found ${targets.length}`);
  fs.mkdirSync(outDir, { recursive: true });
  const built = buildPrometheusCopy(ctx, targets[0], path.resolve(outDir));
  if (!built) throw new Error("could not build the Prometheus configuration copy (see errors)");
  // The copy runs offline (the canary rehearsal): no Alertmanager to send alerts to, and
  // no lookup of its cluster DNS name. Drop the top-level alerting block.
  const text = fs.readFileSync(built.outFile, "utf8");
  const lines = text.split("\n");
  const b = findKeyBlocks(text, "alerting").find((x) => x.keyCol === 0);
  if (b) {
    let start = b.start;
    while (start > 0 && /^#/.test(lines[start - 1])) start--; // and its comment
    lines.splice(start, b.end - start + 1);
    fs.writeFileSync(built.outFile, lines.join("\n"));
  }
  return built;
}
