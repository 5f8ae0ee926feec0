#!/usr/bin/env node
// Rules, alerts and dashboard checks, run by tools/rehearsal/test.sh:
//  1. `promtool test rules`, one test group at a time, against the rule files extracted
//     from k8s/monitoring/21-prometheus-rules.yaml (no rule is ever copied by hand);
//  2. coverage: every alert has a test where it fires, one where it stays silent, and a
//     silent one at zero traffic; every recording rule is evaluated by a test;
//  3. every alert has severity, summary, description and a runbook_url whose anchor is a
//     section under "## Alerts" in RUNBOOK.md;
//  4. every dashboard panel query ($namespace and $__rate_interval substituted) passes
//     `promtool check rules` as a recording rule in a temporary rules file;
//  5. the AnalysisTemplates' queries evaluated by promtool on the cases of
//     rules-tests/analysis/cases.yaml (analysis-queries.mjs).
// Prints PASS/FAIL lines and ends with "N passed, N failed".
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { loadManifests, dashboardQueries, substituteGrafana, repoRoot, YAML } from "../src/manifests.mjs";
import { checkAnalysisQueries } from "./analysis-queries.mjs";

const RUNBOOK_BASE = "https://github.com/paystream/auth-service/blob/main/RUNBOOK.md#";
const testsDir = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "rules-tests");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rules-tests-"));
let passed = 0;
let failed = 0;
const report = (ok, name, detail) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${ok || !detail ? "" : `\n${String(detail).trim().replace(/^/gm, "     ")}`}`);
};

try {
  const manifests = loadManifests(path.join(repoRoot, "k8s"), { namespace: "paystream", rolloutName: "auth-service" });
  const cm = manifests.configMap("prometheus-rules");
  if (!cm) throw new Error("ConfigMap prometheus-rules not found");
  const ruleFiles = Object.entries(cm.obj.data || {}).filter(([k]) => k.endsWith(".yml") || k.endsWith(".yaml"));
  const alerts = new Map();
  const records = [];
  for (const [key, text] of ruleFiles) {
    fs.writeFileSync(path.join(tmp, key), text);
    for (const g of YAML.parse(text).groups || [])
      for (const r of g.rules || []) {
        if (r.alert) alerts.set(r.alert, r);
        if (r.record) records.push(r.record);
      }
  }
  const check = spawnSync("promtool", ["check", "rules", ...ruleFiles.map(([k]) => path.join(tmp, k))], { encoding: "utf8" });
  report(check.status === 0, `promtool check rules: ${ruleFiles.map(([k]) => k).join(", ")} (${alerts.size} alerts, ${records.length} recording rules)`, check.stdout + check.stderr);

  // 1. promtool test rules, group by group.
  const coverage = new Map([...alerts.keys()].map((a) => [a, { fires: 0, silent: 0, silentZero: 0 }]));
  const evaluated = new Set();
  for (const file of fs.readdirSync(testsDir).filter((f) => f.endsWith(".yaml")).sort()) {
    const spec = YAML.parse(fs.readFileSync(path.join(testsDir, file), "utf8"));
    for (const rf of spec.rule_files || []) if (!ruleFiles.some(([k]) => k === rf)) report(false, `${file}: rule_files ${rf} is not a key of the rules ConfigMap`);
    (spec.tests || []).forEach((group, i) => {
      const name = group.name || `group ${i + 1}`;
      const single = { ...spec, tests: [group] };
      const f = path.join(tmp, `${path.basename(file, ".yaml")}-${i}.yaml`);
      fs.writeFileSync(f, YAML.stringify(single));
      const r = spawnSync("promtool", ["test", "rules", f], { encoding: "utf8", cwd: tmp });
      report(r.status === 0, `promtool test rules ${file}: ${name}`, r.stdout + r.stderr);
      const zero = /zero traffic/i.test(name);
      for (const t of group.alert_rule_test || []) {
        const c = coverage.get(t.alertname);
        if (!c) {
          report(false, `${file}: ${name}: alert_rule_test names unknown alert ${t.alertname}`);
          continue;
        }
        if ((t.exp_alerts || []).length) c.fires++;
        else {
          c.silent++;
          if (zero) c.silentZero++;
        }
      }
      for (const t of group.promql_expr_test || []) for (const rec of records) if (new RegExp(`(^|[^A-Za-z0-9_:])${rec.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^A-Za-z0-9_:])`).test(t.expr)) evaluated.add(rec);
    });
  }

  // 1b. The analysis queries through promtool (analysis-queries.mjs).
  checkAnalysisQueries({ report, tmp, ruleFiles: ruleFiles.map(([k]) => k) });

  // 2. Coverage.
  for (const [a, c] of coverage) report(c.fires > 0 && c.silent > 0 && c.silentZero > 0, `coverage: ${a} fires (${c.fires}), stays silent (${c.silent}), silent at zero traffic (${c.silentZero})`);
  for (const rec of records) report(evaluated.has(rec), `coverage: recording rule ${rec} evaluated by a promql_expr_test`);

  // 3. Labels, annotations and runbook anchors.
  const runbookPath = path.join(repoRoot, "RUNBOOK.md");
  const runbook = fs.existsSync(runbookPath) ? fs.readFileSync(runbookPath, "utf8") : "";
  const alertAnchors = new Set();
  let inAlerts = false;
  for (const line of runbook.split("\n")) {
    if (/^## /.test(line)) inAlerts = /^## Alerts\s*$/.test(line);
    const m = /^###\s+(.+?)\s*$/.exec(line);
    if (inAlerts && m) alertAnchors.add(m[1].toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-"));
  }
  for (const [a, r] of alerts) {
    const l = r.labels || {};
    const an = r.annotations || {};
    const problems = [];
    if (!["critical", "warning"].includes(l.severity)) problems.push(`severity "${l.severity}" (critical or warning)`);
    if (!an.summary) problems.push("no summary");
    if (!an.description) problems.push("no description");
    if (!an.runbook_url || !an.runbook_url.startsWith(RUNBOOK_BASE)) problems.push(`runbook_url ${an.runbook_url} does not start with ${RUNBOOK_BASE}`);
    else if (!alertAnchors.has(an.runbook_url.slice(RUNBOOK_BASE.length))) problems.push(`RUNBOOK.md has no "### " section under "## Alerts" for anchor #${an.runbook_url.slice(RUNBOOK_BASE.length)}`);
    report(!problems.length, `alert ${a}: severity ${l.severity}, summary, description, runbook_url into RUNBOOK.md`, problems.join("; "));
  }

  // 4. Dashboard panel queries through promtool.
  const queries = dashboardQueries(manifests);
  const files = queries.map((q, i) => {
    const f = path.join(tmp, `panel-${i}.yml`);
    const expr = substituteGrafana(q.expr, { namespace: "paystream" }, "1m");
    fs.writeFileSync(f, YAML.stringify({ groups: [{ name: `panel-${i}`, rules: [{ record: `dashboard:panel_${i}`, expr }] }] }));
    return f;
  });
  const pr = spawnSync("promtool", ["check", "rules", ...files], { encoding: "utf8" });
  const out = `${pr.stdout}\n${pr.stderr}`;
  queries.forEach((q, i) => {
    const bad = out.split("\n").filter((l) => l.includes(files[i]) && /FAILED|error|Error/.test(l));
    report(pr.status === 0 || !bad.length, `dashboard panel "${q.panel}" ${q.refId}: promtool check rules`, bad.join("\n") || out);
  });
  if (!queries.length) report(false, "dashboard: no panel query found");
} catch (e) {
  report(false, "rules checks could not run", e.stack || e.message);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
