// Finding and parsing the manifests.
//
// YAML is parsed as YAML 1.1, which is what kubectl (sigs.k8s.io/yaml, go-yaml) does:
// "yes"/"on" are booleans and 0440 is octal there, and yamllint forbids both forms so
// the two parsers can never disagree on a committed file. Duplicate keys are errors.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const YAML_EXT = /\.ya?ml$/;

export function listYamlFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (ent.name.startsWith(".") || ent.name === "node_modules") continue;
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && YAML_EXT.test(ent.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

// Returns { files: [{abs, display, rel, text}], docs: [doc], errors: [{display, line, msg}] }.
// rel is relative to dir; display is relative to dir's parent (e.g. "k8s/paystream/x.yaml").
export function loadTree(dir) {
  const base = path.dirname(path.resolve(dir));
  const files = [];
  const docs = [];
  const errors = [];
  for (const abs of listYamlFiles(dir)) {
    const text = fs.readFileSync(abs, "utf8");
    const display = path.relative(base, abs);
    const rel = path.relative(dir, abs);
    files.push({ abs, display, rel, text });
    const lineCounter = new YAML.LineCounter();
    let parsed;
    try {
      parsed = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true, lineCounter, prettyErrors: false });
    } catch (e) {
      errors.push({ display, line: 0, msg: `YAML parse error: ${e.message}` });
      continue;
    }
    if (!Array.isArray(parsed)) parsed = [parsed];
    let index = 0;
    for (const d of parsed) {
      const line = d.contents && d.contents.range ? lineCounter.linePos(d.contents.range[0]).line : 0;
      if (d.errors.length) {
        for (const e of d.errors) {
          const l = e.pos ? lineCounter.linePos(e.pos[0]).line : line;
          errors.push({ display, line: l, msg: `YAML error: ${e.message.split("\n")[0]}` });
        }
        continue;
      }
      const obj = d.toJS({ maxAliasCount: 50 });
      if (obj === null || obj === undefined) continue; // empty document (e.g. a trailing ---)
      index += 1;
      docs.push({
        file: display,
        rel,
        abs,
        index,
        line,
        obj,
        apiVersion: obj && obj.apiVersion,
        kind: obj && obj.kind,
        name: obj && obj.metadata && obj.metadata.name,
        namespace: obj && obj.metadata && obj.metadata.namespace,
      });
    }
  }
  return { files, docs, errors };
}
