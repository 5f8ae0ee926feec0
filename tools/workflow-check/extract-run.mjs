#!/usr/bin/env node
// Extracts every `run:` block of a workflow into its own script, for shellcheck.
//
//   node tools/workflow-check/extract-run.mjs WORKFLOW.yaml OUTDIR
//
// Prints one line per extracted script, tab-separated:
//   SCRIPT  WORKFLOW  FIRST_LINE  HEADER_LINES  SHELL  EXPRESSIONS  JOB/STEP
// FIRST_LINE is the workflow line of the script's first line (so a shellcheck line L in
// SCRIPT is workflow line FIRST_LINE + L - HEADER_LINES - 1). EXPRESSIONS counts `${{ }}`
// expressions inside the block (replaced by a placeholder variable here); our workflows
// keep them out of scripts and pass values through `env:` instead (script injection).
// Steps whose shell is not bash or sh (python, pwsh, ...) are skipped.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const [file, outDir] = process.argv.slice(2);
if (!file || !outDir) {
  console.error("usage: node extract-run.mjs WORKFLOW.yaml OUTDIR");
  process.exit(2);
}
const lineCounter = new YAML.LineCounter();
const text = fs.readFileSync(file, "utf8");
const doc = YAML.parseDocument(text, { lineCounter, keepSourceTokens: true });
if (doc.errors.length) {
  for (const e of doc.errors) console.error(`${file}: ${e.message}`);
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });

const shellOf = (s) => {
  if (!s) return null;
  const word = String(s).trim().split(/\s+/)[0];
  if (word === "bash") return "bash";
  if (word === "sh") return "sh";
  return "other";
};
const wfShell = shellOf(doc.getIn(["defaults", "run", "shell"]));
const jobs = doc.get("jobs");
const base = path.basename(file).replace(/\.ya?ml$/, "");
let n = 0;
for (const jobPair of jobs?.items ?? []) {
  const jobId = String(jobPair.key.value ?? jobPair.key);
  const job = jobPair.value;
  const jobShell = shellOf(job.getIn?.(["defaults", "run", "shell"]));
  const steps = job.get?.("steps");
  (steps?.items ?? []).forEach((step, i) => {
    const runNode = step.get?.("run", true);
    if (!runNode) return;
    const shell = shellOf(step.get("shell")) ?? jobShell ?? wfShell ?? "bash";
    if (shell === "other") return;
    const block = runNode.type === "BLOCK_LITERAL" || runNode.type === "BLOCK_FOLDED";
    const firstLine = lineCounter.linePos(runNode.range[0]).line + (block ? 1 : 0);
    let expressions = 0;
    const body = String(runNode.value).replace(/\$\{\{[\s\S]*?\}\}/g, () => {
      expressions++;
      return "${GHA_EXPRESSION}";
    });
    const name = step.get("name") ?? step.get("id") ?? `step ${i + 1}`;
    const header = [
      `#!/usr/bin/env ${shell}`,
      `# ${file}:${firstLine}: job ${jobId}, step "${name}"`,
      // GitHub runs `shell: bash` as bash --noprofile --norc -eo pipefail {0}.
      shell === "bash" ? "set -eo pipefail" : "set -e",
    ];
    if (expressions) header.push("GHA_EXPRESSION=placeholder # stands for a ${{ }} expression");
    const out = path.join(outDir, `${base}-${String(++n).padStart(2, "0")}-${jobId}.${shell}`);
    fs.writeFileSync(out, `${header.join("\n")}\n${body}`);
    console.log([out, file, firstLine, header.length, shell, expressions, `${jobId}/${name}`].join("\t"));
  });
}
