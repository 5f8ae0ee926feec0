// Alert delivery, end to end on loopback: Debian's Prometheus fires a few of the real
// alerts (names, labels and annotations of k8s/monitoring's rules; the expression is a
// gauge "fire" the test sets to 1 once Prometheus has found the Alertmanager, labelled
// with the alert's namespace) into Debian's Alertmanager running the ConfigMap's
// alertmanager.yml, whose receivers post to a local sink instead of PagerDuty and Slack.
// Rewritten for the test only: the receivers' key files (written here, as the mounted
// Secret would hold them), the PagerDuty url, and group_wait/group_interval (seconds
// instead of minutes). Everything else — routes, matchers, inhibition, templates — is
// the committed configuration.
//
// Expected (RUNBOOK.md "Alert routing"):
//   paystream  AuthAvailabilityBudgetBurnFast (critical)  -> PagerDuty, with the routing key
//   paystream  AuthAvailabilityBudgetBurnSlow (critical)  -> nothing (inhibited by the fast burn)
//   paystream  AuthTargetsMissing (critical)              -> PagerDuty
//   paystream  AuthTargetDown (warning)                   -> nothing (inhibited by targets missing)
//   paystream  AuthCircuitBreakerOpen (warning)           -> Slack
//   staging    AuthAvailabilityBudgetBurnFast (critical)  -> Slack, never PagerDuty
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import net from "node:net";
import crypto from "node:crypto";
import { spawn } from "node:child_process";
import YAML from "yaml";
import { loadTree } from "./src/load.mjs";
import { podTemplate, isWorkload } from "./src/k8s.mjs";

const FIRE = [
  { alert: "AuthAvailabilityBudgetBurnFast", namespace: "paystream", expect: "pagerduty" },
  { alert: "AuthAvailabilityBudgetBurnSlow", namespace: "paystream", expect: null },
  { alert: "AuthTargetsMissing", namespace: "paystream", expect: "pagerduty" },
  { alert: "AuthTargetDown", namespace: "paystream", expect: null },
  { alert: "AuthCircuitBreakerOpen", namespace: "paystream", expect: "slack" },
  { alert: "AuthAvailabilityBudgetBurnFast", namespace: "paystream-staging", expect: "slack" },
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function findConfig(docs) {
  for (const d of docs) {
    if (!isWorkload(d)) continue;
    const t = podTemplate(d);
    const spec = (t && t.template.spec) || {};
    for (const c of spec.containers || []) {
      if (!/\/alertmanager(:|@|$)/.test(c.image || "")) continue;
      const file = (c.args || []).find((a) => a.startsWith("--config.file=")).slice("--config.file=".length);
      const mount = (c.volumeMounts || []).find((m) => path.posix.dirname(file) === m.mountPath.replace(/\/$/, ""));
      const vol = spec.volumes.find((v) => v.name === mount.name);
      const cm = docs.find((x) => x.kind === "ConfigMap" && x.name === vol.configMap.name && x.namespace === d.namespace);
      const secretMounts = (c.volumeMounts || []).filter((m) => (spec.volumes.find((v) => v.name === m.name) || {}).secret).map((m) => m.mountPath.replace(/\/$/, ""));
      return { text: cm.obj.data[path.posix.basename(file)], secretMounts };
    }
  }
  throw new Error("no Alertmanager container in k8s/");
}

function alertRules(docs) {
  const rules = new Map();
  const cm = docs.find((x) => x.kind === "ConfigMap" && x.name === "prometheus-rules");
  for (const text of Object.values(cm.obj.data || {}))
    for (const g of YAML.parse(text).groups || []) for (const r of g.rules || []) if (r.alert) rules.set(r.alert, r);
  return rules;
}

function start(bin, args, log) {
  const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  p.stdout.on("data", (d) => log.push(String(d)));
  p.stderr.on("data", (d) => log.push(String(d)));
  return p;
}

async function waitReady(url, proc, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && proc.exitCode === null) {
    const ok = await new Promise((resolve) => {
      http.get(url, (res) => (res.resume(), resolve(res.statusCode === 200))).on("error", () => resolve(false));
    });
    if (ok) return true;
    await sleep(200);
  }
  return false;
}

// Returns { ok, detail }.
export async function alertDelivery(k8sDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "alert-delivery-"));
  const procs = [];
  const logs = { prometheus: [], alertmanager: [] };
  const received = [];
  let fire = 0;
  const sink = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/metrics") {
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
      res.end(`# TYPE fire gauge\nfire ${fire}\n`);
      return;
    }
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as text
      }
      received.push({ path: req.url, json, body });
      res.writeHead(req.url.startsWith("/pagerduty") ? 202 : 200, { "Content-Type": "application/json" });
      res.end(req.url.startsWith("/pagerduty") ? '{"status":"success","message":"Event processed"}' : "ok");
    });
  });
  try {
    const tree = loadTree(k8sDir);
    const { text, secretMounts } = findConfig(tree.docs);
    const rules = alertRules(tree.docs);
    for (const f of FIRE) if (!rules.has(f.alert)) return { ok: false, detail: `alert ${f.alert} is not a rule of k8s/monitoring any more: update ${path.basename(import.meta.url)}` };

    await new Promise((r) => sink.listen(0, "127.0.0.1", r));
    const sinkUrl = `http://127.0.0.1:${sink.address().port}`;
    const [amPort, promPort] = [await freePort(), await freePort()];
    const routingKey = crypto.randomBytes(16).toString("hex");

    // The mounted Secret's files, at a local path.
    const secretDir = path.join(tmp, "receivers");
    fs.mkdirSync(secretDir);
    fs.writeFileSync(path.join(secretDir, "PAGERDUTY_ROUTING_KEY"), `${routingKey}\n`);
    fs.writeFileSync(path.join(secretDir, "SLACK_WEBHOOK_URL"), `${sinkUrl}/slack/T000/B000\n`);
    let amText = text;
    for (const m of secretMounts) amText = amText.split(`${m}/`).join(`${secretDir}/`);
    const am = YAML.parse(amText);
    const fast = (route) => {
      route.group_wait = "1s";
      route.group_interval = "2s";
      for (const r of route.routes || []) if (r.group_wait || r.group_interval) fast(r);
    };
    fast(am.route);
    for (const r of am.receivers || []) for (const p of r.pagerduty_configs || []) p.url = `${sinkUrl}/pagerduty`;
    const amFile = path.join(tmp, "alertmanager.yml");
    fs.writeFileSync(amFile, YAML.stringify(am));

    // Prometheus firing the chosen alerts with their real labels and annotations.
    const groups = [
      {
        name: "fire",
        rules: FIRE.map((f) => {
          const r = rules.get(f.alert);
          return { alert: f.alert, expr: `label_replace(max(fire) == 1, "namespace", "${f.namespace}", "", "")`, labels: r.labels || {}, annotations: r.annotations || {} };
        }),
      },
    ];
    // The alerts fire once the scraped gauge "fire" is 1, set when Prometheus has
    // discovered the Alertmanager: an alert fired before is dropped (and resent only a
    // minute later), which would also let it arrive after the alerts that inhibit it.
    fs.writeFileSync(path.join(tmp, "rules.yml"), YAML.stringify({ groups }));
    fs.writeFileSync(
      path.join(tmp, "prometheus.yml"),
      YAML.stringify({
        global: { evaluation_interval: "1s", scrape_interval: "1s" },
        rule_files: [path.join(tmp, "rules.yml")],
        scrape_configs: [{ job_name: "fire", static_configs: [{ targets: [`127.0.0.1:${sink.address().port}`] }] }],
        alerting: { alertmanagers: [{ api_version: "v2", static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      }),
    );

    const amProc = start("/usr/bin/prometheus-alertmanager", [`--config.file=${amFile}`, `--storage.path=${path.join(tmp, "am")}`, `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address=", "--log.level=warn"], logs.alertmanager);
    procs.push(amProc);
    if (!(await waitReady(`http://127.0.0.1:${amPort}/-/ready`, amProc, 15000))) return { ok: false, detail: `Alertmanager did not start:\n${logs.alertmanager.join("")}` };
    const promProc = start("/usr/bin/prometheus", [`--config.file=${path.join(tmp, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(tmp, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"], logs.prometheus);
    procs.push(promProc);
    if (!(await waitReady(`http://127.0.0.1:${promPort}/-/ready`, promProc, 20000))) return { ok: false, detail: `Prometheus did not start:\n${logs.prometheus.join("")}` };
    const get = (u) => new Promise((resolve) => http.get(u, (res) => { let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => resolve(b)); }).on("error", () => resolve("")));
    const discoveredBy = Date.now() + 15000;
    while (Date.now() < discoveredBy && !(await get(`http://127.0.0.1:${promPort}/api/v1/alertmanagers`)).includes(`127.0.0.1:${amPort}`)) await sleep(200);
    if (!(await get(`http://127.0.0.1:${promPort}/api/v1/alertmanagers`)).includes(`127.0.0.1:${amPort}`)) return { ok: false, detail: "Prometheus did not discover the Alertmanager within 15 s" };
    fire = 1;

    // Wait until every expected notification arrived, then a little longer for any that must not.
    const delivered = (f) =>
      received.filter((r) => {
        if (r.path.startsWith("/pagerduty")) {
          const firing = (r.json && r.json.payload && r.json.payload.custom_details && r.json.payload.custom_details.firing) || "";
          return new RegExp(`^ - alertname = ${f.alert}$`, "m").test(firing) && new RegExp(`^ - namespace = ${f.namespace}$`, "m").test(firing);
        }
        if (r.path.startsWith("/slack")) return r.json && (r.json.attachments || []).some((a) => (a.title || "").endsWith(` ${f.alert} ${f.namespace}`));
        return false;
      });
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && !FIRE.every((f) => !f.expect || delivered(f).length)) await sleep(250);
    await sleep(4000);

    const problems = [];
    for (const f of FIRE) {
      const got = delivered(f);
      const where = [...new Set(got.map((r) => r.path.split("/")[1]))];
      if (!f.expect && got.length) problems.push(`${f.namespace} ${f.alert}: expected no notification (inhibited), got ${where.join(", ")}`);
      if (f.expect && (where.length !== 1 || where[0] !== f.expect)) problems.push(`${f.namespace} ${f.alert}: expected ${f.expect}, got ${where.join(", ") || "nothing"}`);
      for (const r of got.filter((x) => x.path.startsWith("/pagerduty"))) {
        if (r.json.routing_key !== routingKey) problems.push(`${f.alert}: PagerDuty event without the routing key of the key file`);
        if (!(r.json.links || []).some((l) => l.href === rules.get(f.alert).annotations.runbook_url)) problems.push(`${f.alert}: PagerDuty event without the runbook link`);
      }
      for (const r of got.filter((x) => x.path.startsWith("/slack"))) {
        if (r.path !== "/slack/T000/B000") problems.push(`${f.alert}: Slack post to ${r.path}, not the URL of the key file`);
        const a = r.json.attachments[0];
        if (a.title_link !== rules.get(f.alert).annotations.runbook_url) problems.push(`${f.alert}: Slack message without the runbook link`);
      }
    }
    if (problems.length) return { ok: false, detail: `${problems.join("\n")}\nreceived:\n${received.map((r) => `${r.path} ${r.body.slice(0, 300)}`).join("\n")}\nalertmanager log:\n${logs.alertmanager.join("").slice(-2000)}` };
    return { ok: true, detail: `${received.length} notifications` };
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once("exit", r)) : null)));
    sink.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Standalone: node tools/manifest-validator/alert-delivery.mjs [k8s-dir]
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const dir = process.argv[2] || path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../k8s");
  const r = await alertDelivery(dir);
  console.log(`${r.ok ? "PASS" : "FAIL"} alert delivery: ${r.detail}`);
  process.exit(r.ok ? 0 : 1);
}
