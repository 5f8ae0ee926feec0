// Checks that look outside the manifests: yamllint, and the image name in the CI/CD
// workflows.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

export function checkYamllint(ctx, dir, configFile) {
  const r = spawnSync("yamllint", ["--strict", "-f", "parsable", "-c", configFile, dir], { encoding: "utf8" });
  if (r.error) return ctx.globalError(`cannot run yamllint: ${r.error.message} (install Debian's "yamllint" package)`);
  if (r.status === 0) return;
  const base = path.dirname(path.resolve(dir));
  const lines = `${r.stdout || ""}${r.stderr || ""}`.split("\n").filter((l) => l.trim());
  if (!lines.length) return ctx.globalError(`yamllint exited with status ${r.status}`);
  for (const l of lines) {
    const m = /^(.*?):(\d+):(\d+): (.*)$/.exec(l);
    if (m) ctx.fileError(path.relative(base, path.resolve(m[1])), Number(m[2]), `yamllint: ${m[4]} (column ${m[3]})`);
    else ctx.globalError(`yamllint: ${l}`);
  }
}

// The image name is defined in the Rollouts; each workflow that exists must name exactly
// that image (tags differ: :<version>, :sha-<12 hex>), and no other auth-service image.
export function checkWorkflows(ctx, workflowsDir, imageRepo, repoRoot) {
  if (!workflowsDir || !fs.existsSync(workflowsDir)) return;
  const files = ["ci.yaml", "ci.yml", "cd.yaml", "cd.yml"].map((f) => path.join(workflowsDir, f)).filter((f) => fs.existsSync(f));
  if (!files.length) return;
  if (!imageRepo) return ctx.globalError("cannot compare the workflows' image name: the Rollouts do not agree on one");
  const basename = imageRepo.split("/").pop();
  const re = new RegExp(`(?:[a-z0-9-]+\\.)+[a-z]{2,}(?::[0-9]+)?/[a-z0-9._/-]*${basename.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&")}(?![a-z0-9_-])`, "g");
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    const rel = path.relative(repoRoot, f);
    const display = rel.startsWith("..") ? f : rel;
    let found = 0;
    text.split("\n").forEach((line, i) => {
      for (const m of line.matchAll(re)) {
        if (m[0] === imageRepo) found++;
        else ctx.fileError(display, i + 1, `image "${m[0]}" differs from "${imageRepo}", the image the Rollouts in k8s/ deploy`);
      }
    });
    if (!found) ctx.fileError(display, 0, `does not name the image "${imageRepo}" (the image the Rollouts in k8s/ deploy); define it literally, e.g. env IMAGE_NAME: ${imageRepo}`);
  }
}
