// Tests of tools/validate-manifests: k8s/ passes; every negative fixture fails with its
// expected message; the Prometheus copy keeps relabel_configs byte-identical; and the
// Alertmanager configuration delivers real alerts as routed (alert-delivery.mjs).
// Run through test.sh (which installs yamllint, promtool and the npm packages).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { loadFixture, applyFixture } from "./src/fixture.mjs";
import { readConfigDoc } from "./src/checks/service.mjs";
import { alertDelivery } from "./alert-delivery.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const k8s = path.join(repo, "k8s");
const validator = path.join(repo, "tools", "validate-manifests");
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "manifest-validator-test-"));

// The variables paystream-authd reads. docs/config.md is the source the validator uses;
// this copy only stands in when that file does not exist yet.
const KNOWN_ENV = `PORT BIND_ADDR ADMIN_PORT ADMIN_BIND_ADDR ADMIN_TOKEN_FILE ADMIN_ALLOW_UNAUTHENTICATED REACTORS
MAX_CONNECTIONS MAX_HEADER_BYTES MAX_BODY_BYTES HEADER_TIMEOUT_MS BODY_TIMEOUT_MS IDLE_TIMEOUT_MS DRAIN_DELAY_MS
DRAIN_TIMEOUT_MS LOG_LEVEL SERVICE_VERSION LATENCY_BASE_MS LATENCY_JITTER_MS PROCESSOR_TIMEOUT_MS SUCCESS_RATE
ERROR_RATE RANDOM_SEED CB_FAILURE_THRESHOLD CB_OPEN_TIMEOUT_MS CB_HALF_OPEN_MAX_REQUESTS CB_INTERVAL_MS
PROCESSOR_API_KEY_FILE`.split(/\s+/);

let configDoc = path.join(repo, "docs", "config.md");
if (!fs.existsSync(configDoc)) {
  configDoc = path.join(tmpRoot, "config.md");
  fs.writeFileSync(configDoc, ["| Variable | Default |", "|---|---|", ...KNOWN_ENV.map((v) => `| \`${v}\` | - |`)].join("\n") + "\n");
  console.log(`note: ${path.relative(repo, path.join(repo, "docs", "config.md"))} not found; using the built-in variable list`);
}

function run(args) {
  return new Promise((resolve) => {
    const p = spawn(validator, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out }));
  });
}

const results = [];
function record(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${ok || !detail ? "" : `\n${detail.replace(/^/gm, "     ")}`}`);
}

async function testCleanTree() {
  const r = await run(["--config-doc", configDoc, k8s]);
  record("k8s/ validates", r.code === 0 && /: OK$/m.test(r.out), r.out);
}

async function testConfigDoc() {
  const names = readConfigDoc(configDoc);
  const missing = ["PORT", "ADMIN_TOKEN_FILE", "SERVICE_VERSION", "PROCESSOR_API_KEY_FILE"].filter((n) => !names.has(n));
  record(`config doc lists the service variables (${names.size} found)`, missing.length === 0, `missing: ${missing.join(", ")}`);
}

async function testPrometheusCopy() {
  const out = path.join(tmpRoot, "emit");
  const r = await run(["--emit-prometheus", out, k8s]);
  let ok = r.code === 0;
  let detail = r.out;
  if (ok) {
    const copy = fs.readFileSync(path.join(out, "prometheus.yml"), "utf8");
    const cm = YAML.parseAllDocuments(fs.readFileSync(path.join(k8s, "monitoring", "20-prometheus-config.yaml"), "utf8"))[0].toJS();
    const orig = cm.data["prometheus.yml"];
    const block = (t) => {
      const lines = t.split("\n");
      const i = lines.findIndex((l) => /^\s*relabel_configs:/.test(l));
      const ind = lines[i].length - lines[i].trimStart().length;
      let j = i + 1;
      while (j < lines.length && (lines[j].trim() === "" || lines[j].length - lines[j].trimStart().length > ind)) j++;
      return lines.slice(i, j).join("\n");
    };
    ok = !/kubernetes_sd_configs/.test(copy) && /file_sd_configs/.test(copy) && block(copy) === block(orig) && block(orig).length > 0;
    detail = ok ? "" : "relabel_configs differ or kubernetes_sd_configs left in the copy";
    // The offline copy sends no alerts (the ConfigMap's does).
    if (ok && (!/^alerting:/m.test(orig) || /^alerting:/m.test(copy) || /alertmanager/.test(copy))) (ok = false), (detail = "the copy keeps the alerting block (or the ConfigMap has none)");
  }
  record("--emit-prometheus: file_sd copy with byte-identical relabel_configs, without alerting", ok, detail);
}

// Real Prometheus and Alertmanager on loopback, the committed alertmanager.yml.
async function testAlertDelivery() {
  const r = await alertDelivery(k8s);
  record("alerts delivered as routed: critical -> PagerDuty, warning and staging -> Slack, inhibited ones muted", r.ok, r.detail);
}

// The validator's own YAML (configuration, fixture specs) follows the same lint rules.
async function testOwnYaml() {
  const files = [path.join(here, "config.yaml"), path.join(here, "yamllint.yaml"), ...fixtures.map((f) => path.join(fixturesDir, f, "fixture.yaml"))];
  const r = await new Promise((resolve) => {
    const p = spawn("yamllint", ["--strict", "-f", "parsable", "-c", path.join(here, "yamllint.yaml"), ...files], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out }));
  });
  record("yamllint on the validator's own YAML", r.code === 0, r.out);
}

async function testFixture(dir) {
  let fx;
  try {
    fx = loadFixture(dir);
  } catch (e) {
    return record(`fixture ${path.basename(dir)}`, false, e.message);
  }
  const dest = path.join(tmpRoot, fx.name, "k8s");
  let extra;
  try {
    extra = applyFixture(fx, k8s, dest);
  } catch (e) {
    return record(`fixture ${fx.name}: ${fx.description}`, false, e.message);
  }
  const args = ["--config-doc", configDoc];
  // expect: the fragments of one ERROR line, or a list of such lists (one line each: a
  // fixture with several independent defects costs one validator run).
  const groups = Array.isArray(fx.expect[0]) ? fx.expect : [fx.expect];
  // yamllint reads every file for 1.5 s of CPU: only where a fixture expects its finding.
  if (!groups.flat().some((f) => f.includes("yamllint:"))) args.push("--no-yamllint");
  if (extra.workflows) args.push("--workflows", extra.workflows);
  const r = await run([...args, dest]);
  const errorLines = r.out.split("\n").filter((l) => l.startsWith("ERROR "));
  const missing = groups.filter((g) => !errorLines.some((l) => g.every((f) => l.includes(f))));
  const ok = r.code === 1 && missing.length === 0;
  record(`fixture ${fx.name}: ${fx.description}`, ok, ok ? "" : `exit ${r.code}; expected an ERROR line containing each of ${JSON.stringify(missing)}; got:\n${r.out}`);
}

async function pool(tasks, n) {
  const queue = [...tasks];
  await Promise.all(Array.from({ length: n }, async () => {
    while (queue.length) await queue.shift()();
  }));
}

const fixturesDir = path.join(here, "fixtures");
const fixtures = fs.readdirSync(fixturesDir).filter((d) => fs.existsSync(path.join(fixturesDir, d, "fixture.yaml"))).sort();
const started = Date.now();
try {
  await testConfigDoc();
  await pool([testCleanTree, testPrometheusCopy, testAlertDelivery, testOwnYaml, ...fixtures.map((f) => () => testFixture(path.join(fixturesDir, f)))], Math.max(2, Math.min(4, os.cpus().length)));
} finally {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`manifest-validator: ${results.length} tests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
