// The release rules of the workflows, checked against the manifests and tools/canary-live:
//
//   CD (cd.yaml), for each job that deploys with tools/canary-live:
//     abort step      a later step runs on `failure() || cancelled()` and runs
//                     `kubectl argo rollouts abort` on the Rollout and namespace the deploy
//                     step rolls out (same arguments; a Rollout of that name in that
//                     namespace in k8s/), only while the Rollout rolls out this release,
//                     and never on an inconclusive pause that canary-live reported (exit
//                     11): the deploy step is executed with a stub tools/canary-live (exit
//                     0, 1, 10, 11; it must fail on all but 0), then the abort step with
//                     its outputs (none when the job was cancelled or timed out) against
//                     a stub kubectl holding the Rollout: a canary of this release
//                     (aborted, also before the controller saw the patch), paused
//                     inconclusive after exit 11 (left paused), paused inconclusive when
//                     the job was cancelled, timed out or canary-live failed otherwise
//                     (aborted), another release's canary, this release promoted, and no
//                     credentials (left alone);
//     timeouts        canary-live's --timeout covers the Rollout's steps (pauses and step
//                     analyses from k8s/) plus 5 minutes of start-up, and the job's
//                     timeout-minutes is 5 to 30 minutes above it (set-up and the abort);
//     digest deploy   --image and --load-image are plan-job outputs that the plan validated
//                     as REPO@sha256:<64 hex>; no tag-only reference in the deploy step;
//     one patch       tools/canary-live --dry-run with the step's arguments prints ONE
//                     Rollout patch; applied (RFC 6902) to the Rollout of k8s/, as it is
//                     and without the release labels, it sets the image (the digest),
//                     SERVICE_VERSION and the label service.istio.io/canonical-revision
//                     of the Rollout (read by the analyses) and of its pod template
//                     (reported by the mesh) to the release.
//   CI (ci.yaml):
//     tag rules       the `meta` step of the image job, executed with bash for a push to the
//                     default branch, a release tag, a mismatched release tag, another
//                     branch and a pull request: only sha-<12 hex> is pushed, plus the
//                     version only for refs/tags/v<version>; nothing is pushed otherwise;
//     pushes          every pushing build uses only the meta step's tag lists; no other
//                     push (docker push/tag, crane, skopeo, oras); `imagetools create` only
//                     adds the version tag on a release; both images are built, scanned,
//                     and recorded for CD by the `release` job.
//
// Library use: checkCd(...) and checkCi(...) return [{ name, ok, detail }]; policy-test.mjs
// runs them on the real files and on negative fixtures.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import YAML from "yaml";

export const LABEL = "service.istio.io/canonical-revision";
// Sample values the executed checks substitute for workflow expressions.
export const SAMPLE = {
  sha: "0123456789abcdef0123456789abcdef01234567",
  tag: "sha-0123456789ab",
  digest: "sha256:" + "ab".repeat(32),
  loadDigest: "sha256:" + "cd".repeat(32),
};

// --- helpers -------------------------------------------------------------------------------
const result = (name, problems) => ({ name, ok: problems.length === 0, detail: problems.join("\n") });

export function durationSeconds(v) {
  if (v === undefined || v === null || v === "") return 0;
  if (typeof v === "number") return v;
  const s = String(v).trim();
  if (/^\d+$/.test(s)) return Number(s);
  let total = 0;
  let rest = s;
  const re = /^(\d+(?:\.\d+)?)(ms|s|m|h)/;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) return NaN;
    total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

// Joins backslash-continued lines; returns the logical lines of a run block.
function logicalLines(run) {
  return String(run || "").replace(/\\\n\s*/g, " ").split("\n");
}

// Shell words of a line's first command (quotes removed; no expansion): up to a comment
// or an unquoted control operator (||, &&, ;, |, &).
function words(line) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(line))) {
    if (m[3] !== undefined && (m[3].startsWith("#") || /^(\|\||&&|;|\||&)$/.test(m[3]))) break;
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

// The words after COMMAND (e.g. "tools/canary-live") on the first logical line running it.
function commandArgs(run, command) {
  for (const line of logicalLines(run)) {
    const w = words(line);
    const i = w.indexOf(command);
    if (i >= 0) return w.slice(i + 1);
  }
  return null;
}

function option(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(name + "=")) return args[i].slice(name.length + 1);
  }
  return undefined;
}

const varName = (word) => {
  const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(word || "");
  return m ? m[1] || m[2] : null;
};

// The value of $VAR for a step: step env, then job env, then workflow env.
function envOf(wf, job, step, name) {
  for (const scope of [step && step.env, job && job.env, wf && wf.env]) {
    if (scope && Object.prototype.hasOwnProperty.call(scope, name)) return String(scope[name]);
  }
  return undefined;
}

// A word's literal value: a $VAR through the env scopes, else the word itself.
function resolve(wf, job, step, word) {
  const v = varName(word);
  return v ? envOf(wf, job, step, v) : word;
}

const normIf = (s) => String(s ?? "").replace(/^\s*\$\{\{\s*/, "").replace(/\s*\}\}\s*$/, "").replace(/\s+/g, "");

// RFC 6902 (test, add, replace, remove) on a copy of DOC; throws on an op that would fail.
export function applyJsonPatch(doc, ops) {
  const out = structuredClone(doc);
  const parse = (ptr) => {
    if (typeof ptr !== "string" || (ptr !== "" && !ptr.startsWith("/"))) throw new Error(`bad JSON pointer "${ptr}"`);
    return ptr === "" ? [] : ptr.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  };
  const parentOf = (tokens, op) => {
    let node = out;
    for (const t of tokens.slice(0, -1)) {
      if (node === null || typeof node !== "object" || !Object.prototype.hasOwnProperty.call(node, t))
        throw new Error(`${op.op} ${op.path}: the parent does not exist`);
      node = node[t];
    }
    if (node === null || typeof node !== "object") throw new Error(`${op.op} ${op.path}: the parent is not an object or array`);
    return node;
  };
  const index = (arr, t, op, append) => {
    if (append && t === "-") return arr.length;
    if (!/^(0|[1-9][0-9]*)$/.test(t) || Number(t) > arr.length - (append ? 0 : 1)) throw new Error(`${op.op} ${op.path}: no such array index`);
    return Number(t);
  };
  for (const op of ops) {
    const tokens = parse(op.path);
    if (!tokens.length) throw new Error(`${op.op} on the whole document is not supported`);
    const parent = parentOf(tokens, op);
    const key = tokens[tokens.length - 1];
    const exists = Array.isArray(parent) ? /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < parent.length : Object.prototype.hasOwnProperty.call(parent, key);
    switch (op.op) {
      case "test":
        if (!exists || JSON.stringify(parent[Array.isArray(parent) ? Number(key) : key]) !== JSON.stringify(op.value))
          throw new Error(`test ${op.path}: the value is not ${JSON.stringify(op.value)}`);
        break;
      case "add":
        if (Array.isArray(parent)) parent.splice(index(parent, key, op, true), 0, op.value);
        else parent[key] = op.value; // an existing member is replaced
        break;
      case "replace":
        if (!exists) throw new Error(`replace ${op.path}: the target does not exist`);
        parent[Array.isArray(parent) ? Number(key) : key] = op.value;
        break;
      case "remove":
        if (!exists) throw new Error(`remove ${op.path}: the target does not exist`);
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
        break;
      default:
        throw new Error(`unsupported op "${op.op}"`);
    }
  }
  return out;
}

// --- manifests -----------------------------------------------------------------------------
export function loadK8s(dir) {
  const docs = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) {
        for (const doc of YAML.parseAllDocuments(fs.readFileSync(p, "utf8"))) {
          const o = doc.toJS();
          if (o && typeof o === "object" && o.kind) docs.push(o);
        }
      }
    }
  };
  walk(dir);
  return docs;
}

// The least time a rollout of this Rollout takes: its pauses and its step analyses (each
// metric's initialDelay + count x interval; the longest metric of the step). With
// { parts: true }: [total, [seconds of each pause or analysis step]].
export function rolloutSeconds(docs, rollout, { parts = false } = {}) {
  const ns = rollout.metadata.namespace;
  let total = 0;
  const each = [];
  const steps = (((rollout.spec || {}).strategy || {}).canary || {}).steps || [];
  for (const s of steps) {
    if (s.pause) {
      total += durationSeconds(s.pause.duration);
      each.push(durationSeconds(s.pause.duration));
    }
    if (s.analysis) {
      let longest = 0;
      for (const t of s.analysis.templates || []) {
        const tpl = docs.find((d) => d.kind === (t.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate") &&
          d.metadata && d.metadata.name === t.templateName && (t.clusterScope || d.metadata.namespace === ns));
        for (const m of (tpl && tpl.spec && tpl.spec.metrics) || []) {
          longest = Math.max(longest, durationSeconds(m.initialDelay) + (m.count || 1) * durationSeconds(m.interval));
        }
      }
      total += longest;
      each.push(longest);
    }
  }
  return parts ? [total, each] : total;
}

// --- CD -----------------------------------------------------------------------------------
// A stub kubectl (Node): logs each call to $STUB_LOG; `get rollout -o jsonpath=T` evaluates
// T (dotted paths with \. escapes, [n] and [*]; no range or filters) against the Rollout
// object in $STUB_ROLLOUT, as kubectl prints it (missing fields empty, lists space-joined).
const STUB_KUBECTL = `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
fs.appendFileSync(process.env.STUB_LOG, "kubectl " + args.join(" ") + "\\n");
const line = " " + args.join(" ") + " ";
const out = (s) => process.stdout.write(s);
if (/ argo rollouts abort /.test(line)) out("rollout aborted\\n");
else if (/ argo rollouts get /.test(line)) out("Name: stub\\n");
else if (/ argo rollouts version /.test(line) || / version --client /.test(line)) out("stub v0\\n");
else if (/ get rollout /.test(line)) {
  const i = args.findIndex((a) => a === "-o" || a === "--output");
  const o = i >= 0 ? args[i + 1] : (args.find((a) => /^(-o|--output)=/.test(a)) || "").replace(/^[^=]*=/, "");
  if (!o || !o.startsWith("jsonpath=")) { console.error("stub kubectl: only -o jsonpath= is supported: " + args.join(" ")); process.exit(97); }
  const rollout = JSON.parse(process.env.STUB_ROLLOUT);
  const evaluate = (expr) => {
    if (!expr.startsWith(".") || /^\\s*range\\b|\\?\\(/.test(expr)) { console.error("stub kubectl: unsupported jsonpath {" + expr + "}"); process.exit(97); }
    const steps = [];
    let key = "";
    for (let j = 1; j < expr.length; j++) {
      const c = expr[j];
      if (c === "\\\\") key += expr[++j];
      else if (c === ".") { if (key) steps.push(key); key = ""; }
      else if (c === "[") { if (key) steps.push(key); key = ""; const k = expr.indexOf("]", j); steps.push({ index: expr.slice(j + 1, k) }); j = k; }
      else key += c;
    }
    if (key) steps.push(key);
    let values = [rollout];
    for (const st of steps) {
      values = values.flatMap((v) => {
        if (v === null || v === undefined) return [];
        if (typeof st === "string") return Object.prototype.hasOwnProperty.call(Object(v), st) ? [v[st]] : [];
        if (!Array.isArray(v)) return [];
        return st.index === "*" ? v : (v[Number(st.index)] === undefined ? [] : [v[Number(st.index)]]);
      });
    }
    return values.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(" ");
  };
  out(o.slice("jsonpath=".length).replace(/\\{([^}]*)\\}/g, (_, e) => evaluate(e)));
} else { console.error("stub kubectl: unexpected call: " + args.join(" ")); process.exit(98); }
`;

// A Rollout as the API returns it, for the stub.
function stubRollout({ revision, generation = 8, observed = 8, current, stable, phase = "Progressing", reasons = [], abort = false }) {
  return {
    metadata: { name: "stub", generation, labels: { [LABEL]: revision } },
    spec: { template: { metadata: { labels: { [LABEL]: revision } } } },
    status: {
      observedGeneration: observed, currentPodHash: current, stableRS: stable, phase, ...(abort ? { abort: true } : {}),
      ...(reasons.length ? { pauseConditions: reasons.map((reason) => ({ reason, startTime: "2026-01-01T00:00:00Z" })) } : {}),
    },
  };
}

// Executes the deploy step (tools/canary-live replaced by a stub that exits with a given
// status) and then the abort step against a stub kubectl, for the ways a job ends; the
// abort step sees the deploy step's outputs (steps.<id>.outputs.*) as GitHub would give
// them, none when the deploy step never finished (cancelled, timed out). Returns problems.
// The steps run the same way for every fixture that leaves them (and what they read)
// unchanged: their problems are remembered by exactly those inputs.
const deployAndAbortRuns = new Map();
function runDeployAndAbort(wf, job, deploy, step, opts) {
  const key = JSON.stringify([wf.env, job.env, deploy, step, opts]);
  if (!deployAndAbortRuns.has(key)) deployAndAbortRuns.set(key, executeDeployAndAbort(wf, job, deploy, step, opts));
  return [...deployAndAbortRuns.get(key)];
}

function executeDeployAndAbort(wf, job, deploy, step, { rolloutName, nsName, sampleEnv }) {
  const problems = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-abort-"));
  const bin = path.join(tmp, "bin");
  const repo = path.join(tmp, "repo");
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(repo, "tools"), { recursive: true });
  fs.writeFileSync(path.join(bin, "kubectl"), STUB_KUBECTL, { mode: 0o755 });
  fs.writeFileSync(path.join(repo, "tools/canary-live"), `#!/usr/bin/env bash
echo "canary-live $*" >>"$STUB_LOG"
exit "$STUB_CANARY_EXIT"
`, { mode: 0o755 });
  const tag = SAMPLE.tag;
  const other = "sha-ffffffffffff";
  const mine = (o) => stubRollout({ revision: tag, ...o });
  // canary: canary-live's exit status (null: the job was cancelled or timed out while it
  // ran, the deploy step has no outputs); abort: whether the Rollout must be aborted.
  const cases = [
    { what: "canary-live gave up (exit 1) on a canary of this release", canary: 1, rollout: mine({ current: "c2", stable: "s1" }), abort: true },
    { what: "cancelled or timed out before the controller saw the patch", canary: null, rollout: mine({ generation: 9, observed: 8, current: "s1", stable: "s1", phase: "Healthy" }), abort: true },
    { what: "cancelled or timed out during a canary of this release", canary: null, rollout: mine({ current: "c2", stable: "s1" }), abort: true },
    { what: "paused inconclusive (canary-live exit 11): left for a person", canary: 11, rollout: mine({ current: "c2", stable: "s1", phase: "Paused", reasons: ["InconclusiveAnalysis"] }), abort: false },
    { what: "cancelled or timed out while paused inconclusive (canary-live had not returned 11)", canary: null, rollout: mine({ current: "c2", stable: "s1", phase: "Paused", reasons: ["InconclusiveAnalysis"] }), abort: true },
    { what: "canary-live exit 1 while the Rollout is paused inconclusive (not its outcome)", canary: 1, rollout: mine({ current: "c2", stable: "s1", phase: "Paused", reasons: ["InconclusiveAnalysis"] }), abort: true },
    { what: "a canary of another release", canary: 1, rollout: stubRollout({ revision: other, current: "c3", stable: "s1" }), abort: false },
    { what: "this release already promoted", canary: 1, rollout: mine({ current: "c2", stable: "c2", phase: "Healthy" }), abort: false },
    { what: "no cluster credentials (the job failed before them)", canary: null, rollout: null, abort: false, noCredentials: true },
  ];
  const baseEnv = (log, c) => {
    const env = { PATH: `${bin}:${process.env.PATH}`, LC_ALL: "C.UTF-8", STUB_LOG: log, STUB_ROLLOUT: JSON.stringify(c.rollout), RUNNER_TEMP: tmp };
    for (const scope of [wf.env, job.env]) for (const [k, v] of Object.entries(scope || {})) if (!String(v).includes("${{")) env[k] = String(v);
    Object.assign(env, sampleEnv);
    if (!c.noCredentials) env.KUBECONFIG = path.join(tmp, "kubeconfig");
    return env;
  };
  const stepEnv = (env, s, outputs) => {
    const e = { ...env };
    for (const [k, v] of Object.entries(s.env || {})) {
      const m = /^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(String(v));
      if (m) e[k] = m[1] === deploy.id ? (outputs[m[2]] ?? "") : "";
      else if (!String(v).includes("${{")) e[k] = String(v);
    }
    return e;
  };
  const bash = (run, env) => spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", run], { encoding: "utf8", env, cwd: repo });
  const deployCases = [0, 1, 10, 11].map((n) => ({ what: `canary-live exit ${n}`, canary: n, rollout: mine({ current: "c2", stable: "s1" }) }));
  for (const c of [...deployCases, ...cases.map((x) => ({ ...x, runAbort: true }))]) {
    const log = path.join(tmp, "calls.log");
    const outFile = path.join(tmp, "output");
    const summary = path.join(tmp, "summary");
    for (const f of [log, outFile, summary]) fs.writeFileSync(f, "");
    const env = baseEnv(log, c);
    let outputs = {};
    if (c.canary !== null) {
      const r = bash(deploy.run, { ...stepEnv(env, deploy, {}), STUB_CANARY_EXIT: String(c.canary), GITHUB_OUTPUT: outFile, GITHUB_STEP_SUMMARY: summary });
      outputs = parseOutput(fs.readFileSync(outFile, "utf8"));
      if (!c.runAbort) {
        if (c.canary === 0 && r.status !== 0) problems.push(`the deploy step: ${c.what} (promoted), the step exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
        if (c.canary !== 0 && r.status === 0) problems.push(`the deploy step: ${c.what}, the step exited 0 (the job would pass and the next environment start)`);
        if (!fs.readFileSync(log, "utf8").includes("canary-live ")) problems.push(`the deploy step: ${c.what}: tools/canary-live was not run`);
        continue;
      }
    }
    fs.writeFileSync(log, "");
    const r = bash(step.run, stepEnv(env, step, outputs));
    const calls = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
    const aborts = calls.filter((l) => /\bargo rollouts abort\b/.test(l));
    if (c.noCredentials && calls.length) problems.push(`${c.what}: called kubectl (${calls.join("; ")})`);
    if (r.status !== 0) problems.push(`${c.what}: the abort step exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
    if (c.abort) {
      const right = aborts.some((l) => {
        const w = l.split(/\s+/);
        const a = w.slice(w.indexOf("abort") + 1);
        const ns = a[a.indexOf("-n") + 1] ?? a[a.indexOf("--namespace") + 1];
        return a.includes(rolloutName) && (a.includes("-n") || a.includes("--namespace")) && ns === nsName;
      });
      if (!right) problems.push(`${c.what}: no \`kubectl argo rollouts abort ${rolloutName} -n ${nsName}\` (calls: ${calls.join("; ") || "none"})`);
    } else if (aborts.length) problems.push(`${c.what}: aborted (${aborts.join("; ")})`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return problems;
}

// opts: { cd: workflow object, k8s: docs, canaryLive: path of the script to dry-run, root }
export function checkCd({ cd, k8s, canaryLive, root }) {
  const results = [];
  const jobs = (cd && cd.jobs) || {};
  const deployJobs = Object.entries(jobs).filter(([, j]) => (j.steps || []).some((s) => commandArgs(s.run, "tools/canary-live")));
  if (!deployJobs.length) return [result("cd: a job deploys with tools/canary-live", ["no step runs tools/canary-live"])];
  for (const [id, job] of deployJobs) {
    const steps = job.steps || [];
    const di = steps.findIndex((s) => commandArgs(s.run, "tools/canary-live"));
    const deploy = steps[di];
    const args = commandArgs(deploy.run, "tools/canary-live");
    const rolloutWord = option(args, "--rollout");
    const nsWord = option(args, "--namespace");
    const tagWord = option(args, "--tag");

    // Abort step.
    const aborts = steps.map((s, i) => [s, i]).filter(([s, i]) => i !== di && commandArgs(s.run, "abort") && /kubectl\s+argo\s+rollouts\s+abort\b/.test(logicalLines(s.run).join("\n")));
    let p = [];
    if (!aborts.length) p.push("no step runs `kubectl argo rollouts abort`");
    for (const [s, i] of aborts) {
      if (i < di) p.push(`the abort step "${s.name}" comes before the deploy step`);
      const cond = normIf(s.if);
      if (!["failure()||cancelled()", "cancelled()||failure()"].includes(cond))
        p.push(`the abort step "${s.name}" runs on "${s.if ?? "success()"}", not on failure() || cancelled()`);
    }
    results.push(result(`cd/${id}: an abort step runs when the job fails, times out or is cancelled`, p));

    p = [];
    if (!rolloutWord || !nsWord || !tagWord) p.push("the deploy step must name --rollout, --namespace and --tag explicitly");
    for (const [s] of aborts) {
      let line = logicalLines(s.run).find((l) => /kubectl\s+argo\s+rollouts\s+abort\b/.test(l));
      const w = words(line);
      const a = w.slice(w.indexOf("abort") + 1);
      const positional = [];
      let ns;
      for (let i = 0; i < a.length; i++) {
        if (a[i] === "-n" || a[i] === "--namespace") ns = a[++i];
        else if (a[i].startsWith("--namespace=")) ns = a[i].slice(12);
        else if (!a[i].startsWith("-")) positional.push(a[i]);
      }
      if (positional[0] !== rolloutWord) p.push(`aborts "${positional[0]}", the deploy step rolls out "${rolloutWord}"`);
      if (ns !== nsWord) p.push(`aborts in namespace "${ns ?? "(the context's default)"}", the deploy step uses "${nsWord}"`);
      const tagVar = varName(tagWord);
      if (!tagVar || !new RegExp(`\\$\\{?${tagVar}\\b`).test(s.run) || !s.run.includes("canonical-revision"))
        p.push("the abort step must compare the pod template's canonical-revision label with the deployed release (--tag) before aborting");
    }
    const rolloutName = resolve(cd, job, deploy, rolloutWord);
    const nsName = resolve(cd, job, deploy, nsWord);
    const rollout = k8s.find((d) => d.kind === "Rollout" && d.metadata && d.metadata.name === rolloutName && d.metadata.namespace === nsName);
    if (!rollout) p.push(`no Rollout ${nsName}/${rolloutName} in k8s/`);
    const sampleEnv = {
      [varName(tagWord) || "TAG"]: SAMPLE.tag,
      [varName(option(args, "--image")) || "IMAGE"]: `ghcr.io/paystream/auth-service@${SAMPLE.digest}`,
      [varName(option(args, "--load-image")) || "LOAD_IMAGE"]: `ghcr.io/paystream/authload@${SAMPLE.loadDigest}`,
    };
    for (const [s] of aborts) p.push(...runDeployAndAbort(cd, job, deploy, s, { rolloutName, nsName, sampleEnv }));
    results.push(result(`cd/${id}: the abort step aborts the Rollout the job deploys (${nsName}/${rolloutName})`, p));

    // Timeouts.
    p = [];
    const watch = Number(resolve(cd, job, deploy, option(args, "--timeout")));
    const jobSeconds = Number(job["timeout-minutes"]) * 60;
    const [need, stepParts] = rollout ? rolloutSeconds(k8s, rollout, { parts: true }) : [NaN, []];
    if (!Number.isFinite(watch)) p.push("the deploy step must pass --timeout (seconds)");
    else if (!(watch >= need + 300)) p.push(`--timeout ${watch}s does not cover the Rollout's steps (${need}s) + 300s of start-up`);
    if (!Number.isFinite(jobSeconds)) p.push("the job has no timeout-minutes");
    else if (!(jobSeconds >= watch + 300 && jobSeconds <= watch + 1800))
      p.push(`timeout-minutes ${job["timeout-minutes"]} (${jobSeconds}s) must be 300-1800s above --timeout ${watch}s (set-up and the abort step)`);
    results.push(result(`cd/${id}: timeouts fit the rollout (steps ${need}s = ${stepParts.join(" + ") || 0}, watch ${watch}s, job ${jobSeconds}s)`, p));

    // Digest deploy.
    p = [];
    const planJobs = new Set([].concat(job.needs || []));
    for (const opt of ["--image", "--load-image"]) {
      const word = option(args, opt);
      const v = varName(word);
      if (!v) {
        p.push(`${opt} must be an environment variable holding the digest reference, got "${word ?? "(missing)"}"`);
        continue;
      }
      const expr = envOf(cd, job, deploy, v);
      const m = /^\$\{\{\s*needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(expr || "");
      if (!m || !planJobs.has(m[1])) {
        p.push(`${opt} "$${v}" is "${expr}", not exactly a needed job's output`);
        continue;
      }
      const plan = jobs[m[1]] || {};
      const out = /^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(String((plan.outputs || {})[m[2]] || ""));
      const producer = out && (plan.steps || []).find((s) => s.id === out[1]);
      if (!producer || !String(producer.run || "").includes("sha256:[0-9a-f]{64}") || !new RegExp(`echo "${out[2]}=`).test(producer.run))
        p.push(`${opt}: job ${m[1]}'s output ${m[2]} must come from a step that checks REPO@sha256:<64 hex> before writing it`);
    }
    const body = logicalLines(deploy.run).join("\n");
    if (/\$\{?(IMAGE_NAME|LOAD_IMAGE_NAME)\b/.test(body)) p.push("the deploy step names an image repository (a tag reference), not a digest");
    if (/:\$\{?[A-Za-z_]*TAG\b|:"\$\{?[A-Za-z_]*TAG\b/.test(body)) p.push("the deploy step builds an image reference from a tag");
    results.push(result(`cd/${id}: deploys every image by the digest CI scanned (no tag-only reference)`, p));

    // One patch: image digest, SERVICE_VERSION, canonical-revision.
    p = [];
    const sample = {
      [varName(tagWord)]: SAMPLE.tag,
      [varName(option(args, "--image"))]: `ghcr.io/paystream/auth-service@${SAMPLE.digest}`,
      [varName(option(args, "--load-image"))]: `ghcr.io/paystream/authload@${SAMPLE.loadDigest}`,
    };
    const dryArgs = args.map((w) => {
      const v = varName(w);
      if (!v) return w;
      if (sample[v] !== undefined) return sample[v];
      const r = envOf(cd, job, deploy, v);
      return r === undefined || r.includes("${{") ? "x" : r;
    });
    const r = spawnSync(canaryLive, [...dryArgs, "--dry-run"], { encoding: "utf8", cwd: root });
    const patches = (r.stdout || "").split("\n").filter((l) => /\bpatch rollout\b/.test(l));
    if (r.status !== 0) p.push(`canary-live --dry-run ${dryArgs.join(" ")} exited ${r.status}: ${(r.stderr || "").trim()}`);
    else if (patches.length !== 1) p.push(`expected one Rollout patch in the plan, found ${patches.length}`);
    else {
      const m = /-p '(.*)'\s*$/.exec(patches[0]);
      let ops = null;
      try {
        ops = JSON.parse(m[1]);
      } catch {
        p.push(`cannot parse the patch: ${patches[0]}`);
      }
      if (ops && !Array.isArray(ops)) p.push(`the patch is not a JSON-patch array: ${m[1]}`);
      else if (ops && !rollout) p.push(`no Rollout ${nsName}/${rolloutName} in k8s/ to apply the patch to`);
      else if (ops) {
        // Applied (RFC 6902) to the Rollout as k8s/ has it, and to the same Rollout without
        // the release labels (a Rollout no release patch has touched yet): both must come out
        // with the digest, SERVICE_VERSION and both labels set to the release.
        const unlabelled = structuredClone(rollout);
        delete ((unlabelled.metadata || {}).labels || {})[LABEL];
        delete ((((unlabelled.spec || {}).template || {}).metadata || {}).labels || {})[LABEL];
        const image = sample[varName(option(args, "--image"))];
        for (const [what, target] of [["k8s/", rollout], ["k8s/ without the release labels", unlabelled]]) {
          let after;
          try {
            after = applyJsonPatch(target, ops);
          } catch (e) {
            p.push(`applied to the Rollout of ${what}: ${e.message}`);
            continue;
          }
          const container = (((after.spec || {}).template || {}).spec || {}).containers?.[0] || {};
          const env0 = (container.env || [])[0] || {};
          const rolloutLabel = ((after.metadata || {}).labels || {})[LABEL];
          const podLabel = ((((after.spec || {}).template || {}).metadata || {}).labels || {})[LABEL];
          if (container.image !== image) p.push(`applied to the Rollout of ${what}: the image is "${container.image}", not the digest reference ${image}`);
          if (env0.name !== "SERVICE_VERSION" || env0.value !== SAMPLE.tag)
            p.push(`applied to the Rollout of ${what}: env/0 is ${env0.name}=${env0.value}, not SERVICE_VERSION=${SAMPLE.tag}`);
          if (rolloutLabel !== SAMPLE.tag)
            p.push(`applied to the Rollout of ${what}: the Rollout's label ${LABEL} (read by the analyses) is "${rolloutLabel ?? "(unset)"}", not the release ${SAMPLE.tag}`);
          if (podLabel !== SAMPLE.tag)
            p.push(`applied to the Rollout of ${what}: the pod template's label ${LABEL} (reported by the mesh) is "${podLabel ?? "(unset)"}", not the release ${SAMPLE.tag}`);
        }
      }
    }
    results.push(result(`cd/${id}: one Rollout patch sets the image digest, SERVICE_VERSION and ${LABEL} on the Rollout and its pods`, p));
  }

  // The processor simulator (staging's processor, k8s/processor-sim): set by the digest CI
  // scanned, before staging's canary calls it; never in another environment.
  const p = [];
  let found = 0;
  for (const [id, job] of deployJobs) {
    const steps = job.steps || [];
    const di = steps.findIndex((s) => commandArgs(s.run, "tools/canary-live"));
    steps.forEach((s, i) => {
      for (const line of logicalLines(s.run)) {
        if (!/\bkubectl\b.*\bset\s+image\b.*\bdeployment\/processor-sim\b/.test(line)) continue;
        found++;
        const ns = (job.env || {}).NAMESPACE;
        if (id !== "staging") p.push(`job ${id} (namespace ${ns}) sets the simulator's image: only staging runs it`);
        if (i > di) p.push(`job ${id}: "${s.name}" sets the simulator after the canary started`);
        const m = /processor-sim="?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"?/.exec(line);
        const expr = m && envOf(cd, job, s, m[1]);
        const out = /^\$\{\{\s*needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(expr || "");
        const plan = out && [].concat(job.needs || []).includes(out[1]) ? jobs[out[1]] || {} : null;
        const o = plan && /^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(String((plan.outputs || {})[out[2]] || ""));
        const producer = o && (plan.steps || []).find((x) => x.id === o[1]);
        if (!producer || !String(producer.run || "").includes("sha256:[0-9a-f]{64}") || !new RegExp(`echo "${o[2]}=`).test(producer.run))
          p.push(`job ${id}: the simulator's image "${m ? "$" + m[1] : line}" is not a needed job's output checked as REPO@sha256:<64 hex>`);
      }
    });
  }
  if (!found) p.push("no deploy job sets deployment/processor-sim's image (staging's processor would keep an unscanned or stale image)");
  results.push(result("cd: staging's processor simulator is set by the digest CI scanned, before the canary", p));
  return results;
}

// --- CI -----------------------------------------------------------------------------------
function parseOutput(text) {
  const out = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const heredoc = /^([A-Za-z0-9_-]+)<<(.+)$/.exec(l);
    if (heredoc) {
      const val = [];
      while (++i < lines.length && lines[i] !== heredoc[2]) val.push(lines[i]);
      out[heredoc[1]] = val.join("\n");
    } else if (l.includes("=")) out[l.slice(0, l.indexOf("="))] = l.slice(l.indexOf("=") + 1);
  }
  return out;
}

// opts: { ci: workflow object, root }
export function checkCi({ ci, root }) {
  const results = [];
  const jobs = (ci && ci.jobs) || {};
  const imageJobId = Object.keys(jobs).find((id) => (jobs[id].steps || []).some((s) => s.id === "meta"));
  const imageJob = jobs[imageJobId] || {};
  const meta = (imageJob.steps || []).find((s) => s.id === "meta");
  const repos = [envOf(ci, imageJob, meta, "IMAGE_NAME"), envOf(ci, imageJob, meta, "LOAD_IMAGE_NAME"), envOf(ci, imageJob, meta, "SIM_IMAGE_NAME")];
  const version = (/^\s*version:\s*'([^']+)'/m.exec(fs.readFileSync(path.join(root, "meson.build"), "utf8")) || [])[1];

  // Tag rules, executed.
  let p = [];
  if (!meta || !meta.run) p.push("no step with id meta (version, revision and tags) in the image job");
  else if (!repos[0] || !repos[1] || !repos[2]) p.push("IMAGE_NAME, LOAD_IMAGE_NAME and SIM_IMAGE_NAME must be set in the workflow env");
  else {
    const sha12 = SAMPLE.sha.slice(0, 12);
    const cases = [
      { what: "push to the default branch", event: "push", ref: "refs/heads/main", push: "true", tags: [`sha-${sha12}`] },
      { what: `release tag v${version}`, event: "push", ref: `refs/tags/v${version}`, push: "true", tags: [`sha-${sha12}`, version] },
      { what: "release tag not matching meson.build", event: "push", ref: "refs/tags/v0.0.0-mismatch", fails: true },
      { what: "push to another branch", event: "push", ref: "refs/heads/feature", push: "false" },
      { what: "pull request", event: "pull_request", ref: "refs/pull/7/merge", push: "false" },
    ];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ci-meta-"));
    for (const c of cases) {
      const outFile = path.join(tmp, "output");
      fs.writeFileSync(outFile, "");
      const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", meta.run], {
        cwd: root,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH, LC_ALL: "C.UTF-8",
          GITHUB_EVENT_NAME: c.event, GITHUB_REF: c.ref, GITHUB_SHA: SAMPLE.sha, GITHUB_OUTPUT: outFile,
          DEFAULT_BRANCH: "main", IMAGE_NAME: repos[0], LOAD_IMAGE_NAME: repos[1], SIM_IMAGE_NAME: repos[2],
        },
      });
      if (c.fails) {
        if (r.status === 0) p.push(`${c.what}: the step must fail, it exited 0`);
        continue;
      }
      if (r.status !== 0) {
        p.push(`${c.what}: exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
        continue;
      }
      const o = parseOutput(fs.readFileSync(outFile, "utf8"));
      if (o.push !== c.push) p.push(`${c.what}: push=${o.push}, want ${c.push}`);
      const lists = [["service_tags", repos[0]], ["authload_tags", repos[1]], ["sim_tags", repos[2]]];
      for (const [key, repo] of lists) {
        const got = String(o[key] ?? "").split("\n").filter(Boolean).sort();
        for (const t of got) {
          const tag = t.startsWith(repo + ":") ? t.slice(repo.length + 1) : null;
          const allowed = tag && (/^sha-[0-9a-f]{12}$/.test(tag) || (tag === version && c.ref === `refs/tags/v${version}`));
          if (!allowed) p.push(`${c.what}: ${key} has "${t}" (only ${repo}:sha-<12 hex>, plus the version on a release tag)`);
        }
        if (c.tags) {
          const want = c.tags.map((t) => `${repo}:${t}`).sort();
          if (got.join(" ") !== want.join(" ")) p.push(`${c.what}: ${key} is [${got.join(", ")}], want [${want.join(", ")}]`);
        }
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  results.push(result("ci: tag rules (executed): sha-<12> on the default branch, + the version on v<version> tags, nothing pushed otherwise", p));

  // Pushes.
  p = [];
  const targets = new Set();
  for (const [jid, job] of Object.entries(jobs)) {
    for (const s of job.steps || []) {
      const where = `${jid}/${s.name || s.id || s.uses}`;
      if (String(s.uses || "").startsWith("docker/build-push-action@")) {
        const w = s.with || {};
        const pushes = w.push === true || w.push === "true" || /\bpush=true\b|type=registry/.test(String(w.outputs || ""));
        if (!pushes) continue;
        targets.add(w.target);
        if (!/^\$\{\{\s*steps\.meta\.outputs\.(service|authload|sim)_tags\s*\}\}$/.test(String(w.tags || "")))
          p.push(`${where}: pushes tags "${w.tags}", not the meta step's service_tags/authload_tags/sim_tags`);
        if (!/steps\.meta\.outputs\.push\s*==\s*'true'/.test(String(s.if || "")))
          p.push(`${where}: pushes without requiring steps.meta.outputs.push == 'true'`);
      }
      const run = logicalLines(s.run).join("\n");
      if (/\b(docker|podman|buildah)\s+(push|tag)\b|\bcrane\b|\bskopeo\s+copy\b|\boras\s+push\b/.test(run))
        p.push(`${where}: pushes or tags an image outside the meta step's tag lists`);
      for (const line of logicalLines(s.run)) {
        if (!/imagetools\s+create\b/.test(line)) continue;
        const tags = [...line.matchAll(/(?:--tag|-t)[ =]("[^"]*"|\S+)/g)].map((m) => m[1].replace(/"/g, ""));
        if (!tags.length || tags.some((t) => !/:\$\{?VERSION_TAG\}?$/.test(t)) || !/version_tag\s*!=\s*''/.test(String(s.if || "")))
          p.push(`${where}: imagetools create may only add $VERSION_TAG, in a step that runs on release tags only`);
      }
    }
  }
  for (const t of ["runtime", "authload", "processor-sim"]) if (!targets.has(t)) p.push(`no pushing build of the Containerfile target ${t}`);
  const scan = Object.values(jobs).find((j) => (j.steps || []).some((s) => String(s.uses || "").startsWith("aquasecurity/trivy-action@")));
  const scanned = (((scan || {}).strategy || {}).matrix || {}).image || [];
  for (const i of ["service", "authload", "sim"]) if (!scanned.includes(i)) p.push(`the Trivy job does not scan the ${i} image`);
  const release = Object.entries(jobs).find(([, j]) => (j.steps || []).some((s) => String(s.uses || "").startsWith("actions/upload-artifact@") && (s.with || {}).name === "release"));
  const scanId = Object.keys(jobs).find((k) => jobs[k] === scan);
  if (!release || ![].concat(release[1].needs || []).includes(scanId)) p.push("no job after the scan uploads the artifact `release` (the digests CD deploys)");
  else {
    const rec = logicalLines((release[1].steps || []).map((x) => x.run || "").join("\n")).join("\n");
    for (const k of ["service", "authload", "processor_sim"]) if (!new RegExp(`\\b${k}:\\s*\\$`).test(rec)) p.push(`release.json does not record the ${k} image's digest reference (images.${k})`);
  }
  results.push(result("ci: only immutable tags are pushed; every image built, scanned and recorded for CD", p));
  return results;
}

// --- command line -------------------------------------------------------------------------
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
  const read = (f) => YAML.parse(fs.readFileSync(path.join(root, f), "utf8"));
  const all = [
    ...checkCd({ cd: read(".github/workflows/cd.yaml"), k8s: loadK8s(path.join(root, "k8s")), canaryLive: path.join(root, "tools/canary-live"), root }),
    ...checkCi({ ci: read(".github/workflows/ci.yaml"), root }),
  ];
  for (const r of all) {
    console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.name}`);
    if (!r.ok) console.log(r.detail.replace(/^/gm, "      "));
  }
  process.exit(all.every((r) => r.ok) ? 0 : 1);
}
