// Negative fixtures: each fixtures/<name>/ breaks an otherwise valid copy of k8s/ in one
// way and names the error that must come out.
//
//   fixture.yaml
//     description: what is broken
//     expect: [fragments]   one ERROR line must contain all of them (file, document,
//                           path, message); or [[fragments], ...] for several defects
//                           in one copy, each group matched by some ERROR line
//     patches:              text edits on the copy (first occurrence unless all: true)
//       - {file: paystream/90-rollout.yaml, replace: "...", with: "..."}
//   files/...               manifests added to (or replacing files of) the copy
//   workflows/...           passed as --workflows (for the image-name check)
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

export function loadFixture(dir) {
  const spec = YAML.parse(fs.readFileSync(path.join(dir, "fixture.yaml"), "utf8"));
  if (!spec || !Array.isArray(spec.expect) || !spec.expect.length) throw new Error(`${dir}/fixture.yaml: expect must list at least one fragment`);
  return { name: path.basename(dir), dir, ...spec };
}

// Copies k8sDir to dest and applies the fixture. Throws when a patch no longer applies
// (the fixture went stale: it must be updated with the manifests).
export function applyFixture(fx, k8sDir, dest) {
  fs.cpSync(k8sDir, dest, { recursive: true });
  for (const p of fx.patches || []) {
    const file = path.join(dest, p.file);
    if (!fs.existsSync(file)) throw new Error(`fixture ${fx.name}: ${p.file} does not exist`);
    const text = fs.readFileSync(file, "utf8");
    if (!text.includes(p.replace)) throw new Error(`fixture ${fx.name}: "${p.replace.split("\n")[0]}..." not found in ${p.file} (stale fixture)`);
    const out = p.all ? text.split(p.replace).join(p.with) : text.replace(p.replace, () => p.with);
    fs.writeFileSync(file, out);
  }
  const files = path.join(fx.dir, "files");
  if (fs.existsSync(files)) fs.cpSync(files, dest, { recursive: true });
  const wf = path.join(fx.dir, "workflows");
  return { workflows: fs.existsSync(wf) ? wf : null };
}
