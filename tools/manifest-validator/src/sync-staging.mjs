#!/usr/bin/env node
// Regenerates the mirror environment directories (k8s/paystream-staging/) from the
// production one (k8s/paystream/), with the rewrite rule of envs.mjs. Edit production,
// run this, commit both; tools/validate-manifests fails on any drift.
//   node tools/manifest-validator/src/sync-staging.mjs [K8S_DIR]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { rewriteText, overlaysFor } from "./envs.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const k8s = path.resolve(process.argv[2] || path.join(repo, "k8s"));
const config = YAML.parse(fs.readFileSync(path.join(here, "..", "config.yaml"), "utf8"));
const { production, mirrors, invariantLabels = [] } = config.environments;

// The overlays of one file, applied to its YAML documents (comments and layout kept).
function applyOverlays(text, ops, file) {
  if (!ops.length) return text;
  const docs = YAML.parseAllDocuments(text);
  for (const o of ops) {
    const doc = docs.find((d) => d.get("kind") === o.kind && d.getIn(["metadata", "name"]) === o.name);
    if (!doc) throw new Error(`overlay: ${file} has no ${o.kind}/${o.name}`);
    if (o.op === "set") {
      const was = doc.getIn(o.path);
      const wasName = was && typeof was.get === "function" ? was.get("name") : undefined;
      if (wasName !== undefined && o.value && o.value.name !== wasName)
        throw new Error(`overlay: ${file} ${o.kind}/${o.name} ${o.path.join("/")} is "${wasName}", not "${o.value.name}" (the list moved: update the index)`);
      doc.setIn(o.path, doc.createNode(o.value));
    }
    else if (o.op === "add") doc.addIn(o.path, doc.createNode(o.value));
    else if (o.op === "remove") {
      if (!doc.hasIn(o.path)) throw new Error(`overlay: ${file} ${o.kind}/${o.name} has no ${o.path.join("/")}`);
      doc.deleteIn(o.path);
    } else throw new Error(`overlay: unknown op ${o.op}`);
  }
  return docs.map((d) => d.toString({ lineWidth: 0, flowCollectionPadding: false })).join("");
}

for (const mirror of mirrors) {
  const src = path.join(k8s, production);
  const dst = path.join(k8s, mirror);
  fs.rmSync(dst, { recursive: true, force: true });
  fs.mkdirSync(dst, { recursive: true });
  for (const name of fs.readdirSync(src).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    let text = fs.readFileSync(path.join(src, name), "utf8");
    text = rewriteText(text, production, mirror, invariantLabels);
    text = applyOverlays(text, overlaysFor(config.environments, mirror, name), name);
    const header = `# GENERATED from k8s/${production}/${name} by tools/manifest-validator/src/sync-staging.mjs.\n# Edit the ${production} file and re-run; tools/validate-manifests rejects any drift.\n`;
    fs.writeFileSync(path.join(dst, name), text.replace(/^---\n/, `---\n${header}`));
    process.stdout.write(`${path.relative(repo, path.join(dst, name))}\n`);
  }
}
