// Alerting: firing alerts reach a receiver.
//
//  - prometheus.yml's alerting.alertmanagers targets resolve to a Service of the tree, a
//    port of it, and through its targetPort to the port an Alertmanager container
//    listens on (--web.listen-address); the NetworkPolicies let the Prometheus pods
//    reach the Alertmanager pods on that port (egress and ingress);
//  - the Alertmanager configuration (its --config.file, resolved through the volume
//    mounts to a ConfigMap key) passes `amtool check-config` (Debian's Alertmanager
//    0.25); it holds no secret inline, and every *_file it names lies in a mounted
//    Secret that an ExternalSecret produces with that key;
//  - every alerting rule of the Prometheus rule files, in every environment namespace
//    (unless the rule pins its namespace), is routed by an explicit route to a receiver
//    with at least one integration: `amtool config routes test` on a copy whose root
//    receiver is replaced by a sentinel, so an alert that only reaches the root route's
//    fallback (an unrouted severity) is reported.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import YAML from "yaml";
import { workloadContainers, selectorMatches, isEmptySelector, mapSelectorMatches } from "../k8s.mjs";
import { resolveMounted, prometheusContainers } from "./prometheus.mjs";
import { targetName } from "./references.mjs";

const SENTINEL = "validate-unrouted";
// Fields that carry a credential inline; each has a *_file twin (or none in 0.25, then
// the receiver cannot be used without committing a secret).
const INLINE_SECRETS = new Set([
  "routing_key",
  "service_key",
  "api_url",
  "slack_api_url",
  "api_key",
  "opsgenie_api_key",
  "victorops_api_key",
  "wechat_api_secret",
  "api_secret",
  "auth_password",
  "auth_secret",
  "bot_token",
  "token",
  "user_key",
  "password",
  "credentials",
  "bearer_token",
  "client_secret",
]);

function runTool(bin, args, pkg) {
  const r = spawnSync(bin, args, { encoding: "utf8" });
  if (r.error) return { ok: false, missing: true, out: `cannot run ${bin}: ${r.error.message} (install Debian's "${pkg}" package)`, stdout: "" };
  return { ok: r.status === 0, out: `${r.stdout || ""}${r.stderr || ""}`.trim(), stdout: r.stdout || "" };
}

function flagValue(c, flag) {
  const a = [...(c.args || []), ...(c.command || [])].find((x) => typeof x === "string" && x.startsWith(`${flag}=`));
  return a === undefined ? undefined : a.slice(flag.length + 1);
}

function alertmanagerContainers(ctx) {
  return workloadContainers(ctx, (c) => /\/alertmanager(:|@|$)/.test(c.image || "")).map((w) => ({
    ...w,
    ns: ctx.nsOf(w.doc),
    configPath: flagValue(w.c, "--config.file"),
  }));
}

function podOf(ctx, doc) {
  return ctx.pods.find((p) => p.owner === doc) || null;
}

// --- NetworkPolicy evaluation (TCP) -------------------------------------------------------

function policiesFor(ctx, pod, type) {
  return ctx.of("NetworkPolicy").filter((np) => {
    if (ctx.nsOf(np) !== pod.ns) return false;
    const s = np.obj.spec || {};
    const types = s.policyTypes || (type === "Egress" && s.egress ? ["Ingress", "Egress"] : ["Ingress"]);
    if (!types.includes(type)) return false;
    return isEmptySelector(s.podSelector) || selectorMatches(s.podSelector, pod.labels);
  });
}

function peerMatches(ctx, peer, policyNs, pod) {
  if (peer.ipBlock) return false; // pod addresses are not known here
  if (peer.namespaceSelector) {
    const labels = ctx.namespaceLabels.get(pod.ns) || {};
    if (!isEmptySelector(peer.namespaceSelector) && !selectorMatches(peer.namespaceSelector, labels)) return false;
  } else if (pod.ns !== policyNs) return false;
  return !peer.podSelector || isEmptySelector(peer.podSelector) || selectorMatches(peer.podSelector, pod.labels);
}

function portMatches(ports, dest, number) {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol || "TCP") !== "TCP") return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "number") return p.endPort ? number >= p.port && number <= p.endPort : number === p.port;
    return (dest.ports || []).some((x) => x.name === p.port && x.containerPort === number);
  });
}

// Whether the policies let `from` open a TCP connection to `to` on container port `number`.
export function policyAllows(ctx, from, to, number) {
  const egress = policiesFor(ctx, from, "Egress");
  const out =
    egress.length === 0 ||
    egress.some((np) => (np.obj.spec.egress || []).some((r) => (!r.to || r.to.length === 0 || r.to.some((peer) => peerMatches(ctx, peer, ctx.nsOf(np), to))) && portMatches(r.ports, to, number)));
  const ingress = policiesFor(ctx, to, "Ingress");
  const inn =
    ingress.length === 0 ||
    ingress.some((np) => (np.obj.spec.ingress || []).some((r) => (!r.from || r.from.length === 0 || r.from.some((peer) => peerMatches(ctx, peer, ctx.nsOf(np), from))) && portMatches(r.ports, to, number)));
  return { egress: out, ingress: inn };
}

// --- prometheus.yml -> Alertmanager --------------------------------------------------------

function hostPort(target) {
  const m = /^([a-z0-9.-]+):([0-9]+)$/.exec(String(target));
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

function serviceFor(ctx, host, ns) {
  const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(host);
  return m ? ctx.get("Service", m[2] || ns, m[1]) : null;
}

function listenPort(am) {
  const v = flagValue(am.c, "--web.listen-address");
  if (v === undefined) return 9093;
  const m = /:([0-9]+)$/.exec(v);
  return m ? Number(m[1]) : NaN;
}

function checkTargets(ctx, prom, parsed, cm, key, ams, alertCount) {
  const reached = new Set();
  const list = (parsed && parsed.alerting && parsed.alerting.alertmanagers) || [];
  const base = `/data/${key}`;
  if (list.length === 0) {
    if (alertCount) ctx.error(cm, base, `no alerting.alertmanagers: the ${alertCount} alerting rules fire into nothing; point it at the Alertmanager Service`);
    return reached;
  }
  const promNs = ctx.nsOf(prom.doc);
  const promPod = podOf(ctx, prom.doc);
  list.forEach((a, i) => {
    const where = `${base} alerting.alertmanagers[${i}]`;
    const statics = a.static_configs || [];
    if (!statics.length) return ctx.error(cm, where, "no static_configs: only Service targets (host:port) can be checked against the tree");
    if (a.path_prefix) ctx.error(cm, where, `path_prefix "${a.path_prefix}": the Alertmanager serves at /, no --web.route-prefix is checked`);
    for (const sc of statics)
      for (const t of sc.targets || []) {
        const hp = hostPort(t);
        if (!hp) {
          ctx.error(cm, where, `target "${t}" is not host:port`);
          continue;
        }
        const svc = serviceFor(ctx, hp.host, promNs);
        if (!svc) {
          ctx.error(cm, where, `target "${t}": "${hp.host}" is not a Service of the tree`);
          continue;
        }
        const svcNs = ctx.nsOf(svc);
        const sp = ((svc.obj.spec && svc.obj.spec.ports) || []).find((p) => p.port === hp.port);
        if (!sp) {
          ctx.error(cm, where, `target "${t}": Service ${svcNs}/${svc.name} has no port ${hp.port} (its ports: ${((svc.obj.spec && svc.obj.spec.ports) || []).map((p) => p.port).join(", ")})`);
          continue;
        }
        const am = ams.find((x) => x.ns === svcNs && mapSelectorMatches(svc.obj.spec.selector, x.labels));
        if (!am) {
          ctx.error(cm, where, `target "${t}": Service ${svcNs}/${svc.name} selects no Alertmanager pod`);
          continue;
        }
        const tp = sp.targetPort === undefined ? sp.port : sp.targetPort;
        const cport = typeof tp === "number" ? tp : ((am.c.ports || []).find((p) => p.name === tp) || {}).containerPort;
        const listen = listenPort(am);
        if (cport !== listen) {
          ctx.error(cm, where, `target "${t}": Service ${svcNs}/${svc.name} port ${hp.port} goes to ${JSON.stringify(tp)} (container port ${cport}), but Alertmanager ${am.doc.kind}/${am.doc.name} listens on ${listen}`);
          continue;
        }
        reached.add(am);
        const amPod = podOf(ctx, am.doc);
        if (promPod && amPod) {
          const r = policyAllows(ctx, promPod, amPod, listen);
          if (!r.egress) ctx.error(cm, where, `target "${t}": no NetworkPolicy egress rule of namespace "${promNs}" lets the Prometheus pods reach the Alertmanager pods on port ${listen}`);
          if (!r.ingress) ctx.error(cm, where, `target "${t}": no NetworkPolicy ingress rule of namespace "${svcNs}" lets the Prometheus pods into the Alertmanager pods on port ${listen}`);
        }
      }
  });
  return reached;
}

// --- rules ----------------------------------------------------------------------------------

function globToRegExp(glob) {
  return new RegExp("^" + glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]") + "$");
}

function alertingRules(ctx, prom, parsed) {
  const out = [];
  for (const glob of (parsed && parsed.rule_files) || []) {
    const dir = path.posix.dirname(glob);
    const r = resolveMounted(ctx, prom.doc, prom.spec, prom.c, `${dir}/placeholder`);
    if (r.error) continue; // reported by the Prometheus check
    const re = globToRegExp(path.posix.basename(glob));
    for (const [key, text] of Object.entries(r.cm.obj.data || {})) {
      if (!re.test(key)) continue;
      let doc;
      try {
        doc = YAML.parse(text);
      } catch {
        continue; // promtool reports it
      }
      for (const g of (doc && doc.groups) || [])
        for (const rule of g.rules || []) if (rule && rule.alert) out.push({ cm: r.cm, key, alert: rule.alert, labels: rule.labels || {} });
    }
  }
  return out;
}

// --- the Alertmanager configuration ---------------------------------------------------------

function walk(node, where, visit) {
  if (Array.isArray(node)) node.forEach((x, i) => walk(x, `${where}[${i}]`, visit));
  else if (node && typeof node === "object")
    for (const [k, v] of Object.entries(node)) {
      visit(k, v, `${where}.${k}`);
      walk(v, `${where}.${k}`, visit);
    }
}

function checkFileField(ctx, am, cm, where, field, file) {
  const mounts = (am.c.volumeMounts || []).filter((m) => file.startsWith(m.mountPath.replace(/\/$/, "") + "/"));
  if (!mounts.length) return ctx.error(cm, where, `${field} "${file}" is not inside any volume mount of container "${am.c.name}"`);
  const m = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const vol = (am.spec.volumes || []).find((v) => v.name === m.name);
  const rel = file.slice(m.mountPath.replace(/\/$/, "").length + 1);
  if (vol && vol.configMap && field === "ca_file") return; // a CA certificate is public
  if (!vol || !vol.secret) return ctx.error(cm, where, `${field} "${file}" is mounted from volume "${m.name}", which is not a Secret: credentials come from a Secret produced from Vault`);
  const items = vol.secret.items;
  const key = items ? ((items.find((x) => x.path === rel) || {}).key) : rel;
  if (!key) return ctx.error(cm, where, `${field} "${file}": Secret volume "${m.name}" maps no item to path "${rel}"`);
  const name = vol.secret.secretName;
  const es = ctx.of("ExternalSecret").find((e) => ctx.nsOf(e) === am.ns && targetName(e) === name);
  if (!es) return ctx.error(cm, where, `${field} "${file}": Secret "${am.ns}/${name}" is produced by no ExternalSecret in the tree`);
  const keys = new Set(((es.obj.spec && es.obj.spec.data) || []).map((x) => x.secretKey));
  if (!((es.obj.spec && es.obj.spec.dataFrom) || []).length && !keys.has(key))
    ctx.error(cm, where, `${field} "${file}": key "${key}" is not produced by ExternalSecret ${es.name} (it defines: ${[...keys].join(", ")})`);
}

function checkAlertmanager(ctx, am, rules) {
  if (!am.configPath) return ctx.error(am.doc, `${am.pointer}/args`, "Alertmanager container without --config.file");
  const res = resolveMounted(ctx, am.doc, am.spec, am.c, am.configPath);
  if (res.error) return ctx.error(am.doc, `${am.pointer}/args`, `--config.file: ${res.error}`);
  const { cm, key } = res;
  const base = `/data/${key}`;
  const text = cm.obj.data && cm.obj.data[key];
  if (typeof text !== "string") return ctx.error(cm, "/data", `no key "${key}" (the --config.file of ${am.doc.kind}/${am.doc.name})`);
  let parsed;
  try {
    parsed = YAML.parse(text, { version: "1.1", uniqueKeys: true });
  } catch (e) {
    return ctx.error(cm, base, `alertmanager config is not valid YAML: ${e.message.split("\n")[0]}`);
  }
  walk(parsed, "", (k, v, where) => {
    // api_url is the secret webhook of Slack, but a public endpoint of the other integrations.
    if (INLINE_SECRETS.has(k) && typeof v === "string" && v !== "" && (k !== "api_url" || where.includes(".slack_configs")))
      ctx.error(cm, `${base} ${where.slice(1)}`, `"${k}" holds a credential inline, committed to Git: use ${k}_file with a file of the Secret mounted from Vault`);
    if (/_file$/.test(k) && typeof v === "string") checkFileField(ctx, am, cm, `${base} ${where.slice(1)}`, k, v);
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "amcheck-"));
  try {
    const file = path.join(tmp, "alertmanager.yml");
    fs.writeFileSync(file, text);
    const r = runTool("amtool", ["check-config", file], "prometheus-alertmanager");
    if (r.missing) return ctx.globalError(r.out);
    if (!r.ok) {
      // One line: amtool's "Checking '<file>'  FAILED: <reason>" without the file name.
      const why = r.out
        .split("\n")
        .map((l) => l.replace(/^Checking '[^']*'\s*FAILED:\s*/, "").trim())
        .filter((l) => l && !/^amtool: error: failed to validate/.test(l))
        .join("; ");
      return ctx.error(cm, base, `amtool check-config failed: ${why}`);
    }

    // Routing, with the root receiver replaced by a sentinel.
    const receivers = new Map(((parsed && parsed.receivers) || []).map((x) => [x.name, x]));
    const copy = JSON.parse(JSON.stringify(parsed));
    copy.route.receiver = SENTINEL;
    copy.receivers.push({ name: SENTINEL });
    const copyFile = path.join(tmp, "routing.yml");
    fs.writeFileSync(copyFile, YAML.stringify(copy));
    const envs = [ctx.config.environments.production, ...(ctx.config.environments.mirrors || [])];
    const seen = new Set();
    for (const rule of rules) {
      const where = `/data/${rule.key}`;
      if (!rule.labels.severity) {
        ctx.error(rule.cm, where, `alert ${rule.alert} has no severity label: Alertmanager routes by severity`);
        continue;
      }
      const namespaces = rule.labels.namespace ? [rule.labels.namespace] : envs;
      for (const ns of namespaces) {
        const labels = { ...rule.labels, alertname: rule.alert, namespace: ns };
        const id = JSON.stringify(Object.entries(labels).sort());
        if (seen.has(id)) continue;
        seen.add(id);
        const args = ["config", "routes", "test", `--config.file=${copyFile}`, ...Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)];
        const t = runTool("amtool", args, "prometheus-alertmanager");
        if (!t.ok) {
          ctx.error(cm, base, `amtool config routes test ${rule.alert} (namespace ${ns}) failed: ${t.out.split("\n")[0]}`);
          continue;
        }
        const got = t.stdout.trim().split("\n").pop().split(",").map((s) => s.trim()).filter(Boolean);
        if (got.includes(SENTINEL))
          ctx.error(rule.cm, where, `alert ${rule.alert} (severity "${rule.labels.severity}", namespace ${ns}) matches no route of ${cm.name}/${key}: it would only reach the root route's fallback receiver; route severity "${rule.labels.severity}" explicitly`);
        for (const name of got) {
          if (name === SENTINEL) continue;
          const rec = receivers.get(name);
          if (rec && !Object.keys(rec).some((k) => /_configs$/.test(k) && (rec[k] || []).length))
            ctx.error(cm, base, `alert ${rule.alert} (namespace ${ns}) is routed to receiver "${name}", which has no integration: the alert is dropped`);
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function checkAlerting(ctx) {
  const ams = alertmanagerContainers(ctx);
  const reached = new Set();
  let rules = [];
  for (const prom of prometheusContainers(ctx)) {
    const res = resolveMounted(ctx, prom.doc, prom.spec, prom.c, prom.configPath);
    if (res.error) continue; // reported by the Prometheus check
    const text = res.cm.obj.data && res.cm.obj.data[res.key];
    let parsed;
    try {
      parsed = YAML.parse(text);
    } catch {
      continue;
    }
    const promRules = alertingRules(ctx, prom, parsed);
    rules = rules.concat(promRules);
    for (const am of checkTargets(ctx, prom, parsed, res.cm, res.key, ams, promRules.length)) reached.add(am);
  }
  for (const am of ams) {
    if (!reached.has(am)) ctx.error(am.doc, am.pointer, "no Prometheus of the tree sends alerts to this Alertmanager (alerting.alertmanagers)");
    checkAlertmanager(ctx, am, rules);
  }
}
