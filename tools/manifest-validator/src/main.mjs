#!/usr/bin/env node
// tools/validate-manifests [DIR] — strict, offline validation of the Kubernetes manifests.
// See tools/manifest-validator/README.md for what is checked.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { loadTree } from "./load.mjs";
import { Context, formatProblem } from "./context.mjs";
import { checkSchemas } from "./checks/schema.mjs";
import { checkReferences } from "./checks/references.mjs";
import { checkPolicy } from "./checks/policy.mjs";
import { checkService } from "./checks/service.mjs";
import { checkCanaryAnalysis } from "./checks/canary-analysis.mjs";
import { checkPrometheus, checkQueries, analysisQueries, emitPrometheus } from "./checks/prometheus.mjs";
import { checkGrafana } from "./checks/grafana.mjs";
import { checkAlerting } from "./checks/alerting.mjs";
import { checkApiServerEgress } from "./checks/apiserver.mjs";
import { checkMeshScrape } from "./checks/mesh-scrape.mjs";
import { checkIdempotencyStore } from "./checks/idempotency.mjs";
import { checkProcessorLink } from "./checks/processor.mjs";
import { checkImagePins } from "./checks/images.mjs";
import { checkEnvironments } from "./envs.mjs";
import { checkYamllint, checkWorkflows } from "./checks/external.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const validatorDir = path.resolve(here, "..");
const repo = path.resolve(validatorDir, "../..");

function usage(code) {
  const out = code ? process.stderr : process.stdout;
  out.write(`usage: tools/validate-manifests [options] [DIR]

Validates every YAML document under DIR (default: k8s/ of the repository):
schemas (strict: unknown fields fail), cross-references, policy, environment
parity, Prometheus (promtool), Grafana provisioning, yamllint, and the image
name against .github/workflows/{ci,cd}.yaml. Exits 1 on any problem.

options:
  --config-doc FILE      environment variable reference (default: docs/config.md)
  --workflows DIR        workflows directory (default: .github/workflows)
  --emit-prometheus DIR  write the promtool-checkable Prometheus configuration
                         (kubernetes_sd_configs -> file_sd_configs, same
                         relabel_configs, rule files copied) to DIR and exit
  --no-yamllint          skip yamllint (the validator's own tests lint the clean
                         tree once, and per fixture only where yamllint is expected)
  -h, --help
`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { dir: null, configDoc: path.join(repo, "docs", "config.md"), workflows: path.join(repo, ".github", "workflows"), emit: null, yamllint: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(2);
      return argv[++i];
    };
    if (a === "-h" || a === "--help") usage(0);
    else if (a === "--config-doc") o.configDoc = path.resolve(next());
    else if (a === "--workflows") o.workflows = path.resolve(next());
    else if (a === "--emit-prometheus") o.emit = path.resolve(next());
    else if (a === "--no-yamllint") o.yamllint = false;
    else if (a.startsWith("-")) usage(2);
    else if (o.dir) usage(2);
    else o.dir = path.resolve(a);
  }
  o.dir = o.dir || path.join(repo, "k8s");
  return o;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(options.dir) || !fs.statSync(options.dir).isDirectory()) {
    process.stderr.write(`validate-manifests: ${options.dir}: not a directory\n`);
    process.exit(2);
  }
  const config = YAML.parse(fs.readFileSync(path.join(validatorDir, "config.yaml"), "utf8"));
  const tree = loadTree(options.dir);
  const ctx = new Context({ dir: options.dir, tree, config, options });
  for (const e of tree.errors) ctx.fileError(e.display, e.line, e.msg);

  if (options.emit) {
    const built = emitPrometheus(ctx, options.emit);
    for (const p of ctx.problems) process.stderr.write(`ERROR ${formatProblem(p)}\n`);
    process.stdout.write(`${built.outFile}\n`);
    process.exit(ctx.problems.length ? 1 : 0);
  }

  if (tree.docs.length === 0) ctx.globalError(`no YAML document found under ${options.dir}`);
  await checkSchemas(ctx);
  checkReferences(ctx);
  checkPolicy(ctx);
  checkApiServerEgress(ctx);
  checkCanaryAnalysis(ctx);
  const { imageRepo } = checkService(ctx);
  checkIdempotencyStore(ctx);
  checkProcessorLink(ctx);
  checkEnvironments(ctx);
  checkPrometheus(ctx);
  checkAlerting(ctx);
  checkMeshScrape(ctx);
  const dashboardQueries = checkGrafana(ctx);
  checkQueries(ctx, [...analysisQueries(ctx), ...dashboardQueries]);
  if (options.yamllint) checkYamllint(ctx, options.dir, path.join(validatorDir, "yamllint.yaml"));
  checkWorkflows(ctx, options.workflows, imageRepo, repo);
  checkImagePins(ctx, options.workflows);

  // Stable, de-duplicated output.
  const lines = [...new Set(ctx.problems.map((p) => formatProblem(p)))];
  for (const l of lines) process.stdout.write(`ERROR ${l}\n`);
  const files = new Set(tree.files.map((f) => f.display)).size;
  const summary = `validate-manifests: ${tree.docs.length} documents in ${files} files under ${path.relative(process.cwd(), options.dir) || "."}: `;
  if (lines.length) {
    process.stdout.write(`${summary}${lines.length} problem${lines.length === 1 ? "" : "s"}\n`);
    process.exit(1);
  }
  process.stdout.write(`${summary}OK\n`);
}

main().catch((e) => {
  process.stderr.write(`validate-manifests: internal error: ${e.stack || e}\n`);
  process.exit(2);
});
