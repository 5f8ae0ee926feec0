// Images pinned by digest (config.yaml images.digestNamespaces: the namespaces CD deploys).
// Every container there runs either an image pinned in Git by digest (@sha256:<64 hex>), or
// one that CI builds, scans and records by digest and CD deploys by that digest: its
// repository is named in both .github/workflows/ci.yaml and cd.yaml (tools/workflow-check
// proves the build, the Trivy scan, release.json and the digest-only deploy). A tag in Git
// is then only the release's name; what runs is the scanned digest.
import fs from "node:fs";
import path from "node:path";
import { isWorkload, podTemplate, allContainers, parseImage } from "../k8s.mjs";

function podSpecs(ctx) {
  const out = [];
  for (const d of ctx.docs) {
    if (isWorkload(d)) {
      const t = podTemplate(d);
      if (t) out.push({ doc: d, spec: t.template.spec || {}, pointer: `${t.pointer}` });
    }
    if (d.kind === "AnalysisTemplate")
      ((d.obj.spec && d.obj.spec.metrics) || []).forEach((m, i) => {
        const t = m.provider && m.provider.job && m.provider.job.spec && m.provider.job.spec.template;
        if (t) out.push({ doc: d, spec: t.spec || {}, pointer: `/spec/metrics/${i}/provider/job/spec/template` });
      });
  }
  return out;
}

export function checkImagePins(ctx, workflowsDir) {
  const cfg = ctx.config.images || {};
  const namespaces = new Set(cfg.digestNamespaces || []);
  if (!namespaces.size) return;
  const read = (f) => (workflowsDir && fs.existsSync(path.join(workflowsDir, f)) ? fs.readFileSync(path.join(workflowsDir, f), "utf8") : "");
  const ci = read("ci.yaml");
  const cd = read("cd.yaml");
  const named = (text, repo) => new RegExp(`(^|[\\s"'=])${repo.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9._/-])`, "m").test(text);
  for (const { doc, spec, pointer } of podSpecs(ctx)) {
    if (!namespaces.has(ctx.nsOf(doc))) continue;
    for (const { c, pointer: cp } of allContainers(spec)) {
      const img = parseImage(c.image);
      if (!img || !img.repo) continue; // policy.mjs reports a missing image
      if (img.digest && /^sha256:[0-9a-f]{64}$/.test(img.digest)) continue;
      if (img.digest) {
        ctx.error(doc, `${pointer}${cp}/image`, `image "${c.image}": the digest must be sha256:<64 hex>`);
        continue;
      }
      if (named(ci, img.repo) && named(cd, img.repo)) continue;
      ctx.error(doc, `${pointer}${cp}/image`, `image "${c.image}" is not pinned by digest: pin it (@sha256:<64 hex>), or have CI build, scan and record it and CD deploy it by digest (name ${img.repo} in .github/workflows/ci.yaml and cd.yaml)`);
    }
  }
}
