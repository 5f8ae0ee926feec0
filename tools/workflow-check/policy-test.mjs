// Runs the release rules (policy.mjs) on the real workflows, which must pass, and on
// negative fixtures: each is the real workflow (or tools/canary-live) with one rule broken,
// and the named check must fail on it, so no check can pass by being inert.
//
//   node tools/workflow-check/policy-test.mjs       (POLICY_TEST_VERBOSE=1: each fixture's findings)
//
// Prints PASS/FAIL lines (counted by test.sh); exit 1 on any failure.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { checkCd, checkCi, loadK8s } from "./policy.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const read = (f) => YAML.parse(fs.readFileSync(path.join(root, f), "utf8"));
const realCd = read(".github/workflows/cd.yaml");
const realCi = read(".github/workflows/ci.yaml");
const k8s = loadK8s(path.join(root, "k8s"));
const canaryLive = path.join(root, "tools/canary-live");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-test-"));

let failed = 0;
const report = (ok, name, detail) => {
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}`);
  if (!ok) {
    failed++;
    if (detail) console.log(detail.replace(/^/gm, "      "));
  }
};

// The real files pass every check.
const real = [...checkCd({ cd: realCd, k8s, canaryLive, root }), ...checkCi({ ci: realCi, root })];
for (const r of real) report(r.ok, `policy: ${r.name}`, r.detail);

const step = (wf, job, pred) => wf.jobs[job].steps.find(pred);
const isAbort = (s) => /rollouts\s+abort/.test(s.run || "") && !/tools\/canary-live/.test(s.run || "");
const abortStep = (wf, job) => step(wf, job, isAbort);
const deployStep = (wf, job) => step(wf, job, (s) => /tools\/canary-live/.test(s.run || ""));
const metaStep = (wf) => step(wf, "image", (s) => s.id === "meta");
const variant = (name, edit) => {  // a copy of tools/canary-live with one edit
  const text = fs.readFileSync(canaryLive, "utf8");
  const changed = edit(text);
  if (changed === text) throw new Error(`canary-live fixture "${name}" changed nothing`);
  const f = path.join(tmp, name);
  fs.writeFileSync(f, changed, { mode: 0o755 });
  return f;
};

// [fixture, the check that must fail (regex on its name), mutate(cd, ci, k8s) -> {canaryLive?}]
const fixtures = [
  ["cd: no abort step", /staging: an abort step runs/, (cd) => {
    cd.jobs.staging.steps = cd.jobs.staging.steps.filter((s) => !isAbort(s));
  }],
  ["cd: the abort step runs on failure() only (not when cancelled or timed out)", /staging: an abort step runs/, (cd) => {
    abortStep(cd, "staging").if = "${{ failure() }}";
  }],
  ["cd: the abort step runs on success (no if)", /production: an abort step runs/, (cd) => {
    delete abortStep(cd, "production").if;
  }],
  ["cd: the abort step aborts another Rollout", /staging: the abort step aborts the Rollout/, (cd) => {
    const s = abortStep(cd, "staging");
    s.run = s.run.replace(/rollouts abort "\$ROLLOUT"/, 'rollouts abort "auth-service-canary"');
  }],
  ["cd: the abort step omits the namespace", /production: the abort step aborts the Rollout/, (cd) => {
    const s = abortStep(cd, "production");
    s.run = s.run.replace(/(rollouts abort "\$ROLLOUT") -n "\$NAMESPACE"/, "$1");
  }],
  ["cd: the abort step aborts whatever is rolling out (no release guard)", /staging: the abort step aborts the Rollout/, (cd) => {
    abortStep(cd, "staging").run = 'kubectl argo rollouts abort "$ROLLOUT" -n "$NAMESPACE"\n';
  }],
  ["cd: the abort step aborts even after this release was promoted", /production: the abort step aborts the Rollout/, (cd) => {
    const s = abortStep(cd, "production");
    s.run = s.run.replace('if [[ "$generation" == "$observed" && -n "$current" && "$current" == "$stable" ]]; then', "if false; then");
  }],
  ["cd: the abort step aborts another release's canary", /staging: the abort step aborts the Rollout/, (cd) => {
    const s = abortStep(cd, "staging");
    s.run = s.run.replace('if [[ "$revision" != "$TAG" ]]; then', 'if [[ -z "$revision" ]]; then');
  }],
  ["cd: the abort step aborts a rollout paused inconclusive (canary-live exit 11)", /staging: the abort step aborts the Rollout/, (cd) => {
    const s = abortStep(cd, "staging");
    s.run = s.run.replace(/if \[\[ "\$CANARY_OUTCOME" == inconclusive[^]*?\n {0,}fi\n/, "");
  }],
  ["cd: the abort step leaves any inconclusive pause, also when the job was cancelled or timed out", /production: the abort step aborts the Rollout/, (cd) => {
    const s = abortStep(cd, "production");
    s.run = s.run.replace('if [[ "$CANARY_OUTCOME" == inconclusive && ', "if [[ ");
  }],
  ["cd: the deploy step does not record canary-live's outcome for the abort step", /staging: the abort step aborts the Rollout/, (cd) => {
    const s = deployStep(cd, "staging");
    s.run = s.run.replace('echo "outcome=$outcome" >>"$GITHUB_OUTPUT"', 'echo "outcome: $outcome"');
  }],
  ["cd: the deploy step passes on an inconclusive pause (the next environment would start)", /production: the abort step aborts the Rollout/, (cd) => {
    const s = deployStep(cd, "production");
    s.run = s.run.replace('exit "$status"', '[[ $outcome == inconclusive ]] || exit "$status"');
  }],
  ["cd: the job deploys a namespace with no such Rollout in k8s/", /staging: the abort step aborts the Rollout/, (cd) => {
    cd.jobs.staging.env.NAMESPACE = "paystream-stage";
  }],
  ["cd: the job times out before canary-live does", /staging: timeouts fit/, (cd) => {
    cd.jobs.staging["timeout-minutes"] = 30;
  }],
  ["cd: canary-live gives up before the Rollout's steps can finish", /production: timeouts fit/, (cd) => {
    cd.env.ROLLOUT_TIMEOUT_SECONDS = "600";
    cd.jobs.production["timeout-minutes"] = 15;
  }],
  ["cd: the production Rollout's bake grows to 30 measurements, the workflow's timeouts unchanged", /production: timeouts fit/, (_cd, _ci, docs) => {
    const bake = docs.find((d) => d.kind === "AnalysisTemplate" && d.metadata.name === "auth-service-bake" && d.metadata.namespace === "paystream");
    for (const m of bake.spec.metrics) if (m.count) m.count = 30;
  }],
  ["cd: deploys the service image by tag", /staging: deploys every image by the digest/, (cd) => {
    const s = deployStep(cd, "staging");
    s.run = s.run.replace('--image "$IMAGE"', '--image "$IMAGE_NAME"');
  }],
  ["cd: the image variable is built from the tag", /production: deploys every image by the digest/, (cd) => {
    cd.jobs.production.env.IMAGE = "${{ env.IMAGE_NAME }}:${{ needs.plan.outputs.tag }}";
  }],
  ["cd: the load generator image is not shipped", /staging: deploys every image by the digest/, (cd) => {
    const s = deployStep(cd, "staging");
    s.run = s.run.replace(' --load-image "$LOAD_IMAGE"', "");
  }],
  ["cd: the plan passes the image on without checking it is a digest", /deploys every image by the digest/, (cd) => {
    const s = step(cd, "plan", (x) => x.id === "release");
    s.run = s.run.replace(/\[\[ "\$\{ref%@\*\}" != "\$repo" \|\| ! "\$\{ref#\*@\}" =~ \^sha256:\[0-9a-f\]\{64\}\$ \]\]/, "false");
  }],
  ["cd: canary-live sets the pods' canonical-revision label outside the image patch", /staging: one Rollout patch/, () => ({
    canaryLive: variant("canary-live-no-pod-label", (t) => t.replace(/,\{"op":"add","path":"\/spec\/template\/metadata\/labels\/service\.istio\.io~1canonical-revision","value":"%s"\}' \\\n  "\$image_ref" "\$tag" "\$tag" "\$tag"\)/,
      `' \\\n  "$image_ref" "$tag" "$tag")`)),
  })],
  ["cd: canary-live's patch misses the Rollout's canonical-revision label (the analyses would judge the old release)", /production: one Rollout patch/, () => ({
    canaryLive: variant("canary-live-no-rollout-label", (t) => t.replace(/\{"op":"add","path":"\/metadata\/labels\/service\.istio\.io~1canonical-revision","value":"%s"\},(.*)' \\\n  "\$image_ref" "\$tag" "\$tag" "\$tag"\)/,
      `$1' \\\n  "$image_ref" "$tag" "$tag")`)),
  })],
  ["cd: canary-live replaces the Rollout's label (fails on a Rollout that has none yet)", /staging: one Rollout patch/, () => ({
    canaryLive: variant("canary-live-replace-label", (t) => t.replace('{"op":"add","path":"/metadata/labels/service.istio.io~1canonical-revision"', '{"op":"replace","path":"/metadata/labels/service.istio.io~1canonical-revision"')),
  })],
  ["cd: canary-live deploys the tag instead of the digest", /production: one Rollout patch/, () => ({
    canaryLive: variant("canary-live-tag", (t) => t.replace('  image_ref=$image # by digest', '  image_ref=${image%@*}:$tag')),
  })],
  ["ci: the version tag is pushed on every default-branch build", /ci: tag rules/, (_cd, ci) => {
    const s = metaStep(ci);
    s.run = s.run.replace('[[ -z "$version_tag" ]] || echo "$IMAGE_NAME:$version_tag"', 'echo "$IMAGE_NAME:$version"');
  }],
  ["ci: every branch pushes", /ci: tag rules/, (_cd, ci) => {
    const s = metaStep(ci);
    s.run = s.run.replace('if [[ "$GITHUB_EVENT_NAME" == push && "$GITHUB_REF" == "refs/heads/$DEFAULT_BRANCH" ]]; then', 'if [[ "$GITHUB_EVENT_NAME" == push && "$GITHUB_REF" == refs/heads/* ]]; then');
  }],
  ["ci: a release tag that does not match meson.build is pushed", /ci: tag rules/, (_cd, ci) => {
    const s = metaStep(ci);
    s.run = s.run.replace('if [[ "$GITHUB_REF" != "refs/tags/v$version" ]]; then', "if false; then");
  }],
  ["ci: a build pushes a literal mutable tag", /ci: only immutable tags/, (_cd, ci) => {
    const s = step(ci, "image", (x) => x.id === "push-service");
    s.with.tags = "${{ env.IMAGE_NAME }}:${{ steps.meta.outputs.version }}";
  }],
  ["ci: a run step pushes with docker push", /ci: only immutable tags/, (_cd, ci) => {
    ci.jobs.image.steps.push({ name: "push latest", run: 'docker push "$IMAGE_NAME:latest"' });
  }],
  ["ci: the authload image is not scanned", /ci: only immutable tags/, (_cd, ci) => {
    ci.jobs.scan.strategy.matrix.image = ["service"];
  }],
  ["ci: the processor-sim image is not scanned", /ci: only immutable tags/, (_cd, ci) => {
    ci.jobs.scan.strategy.matrix.image = ["service", "authload"];
  }],
  ["ci: the processor-sim image is not built", /ci: only immutable tags/, (_cd, ci) => {
    ci.jobs.image.steps = ci.jobs.image.steps.filter((x) => x.id !== "push-sim");
  }],
  ["ci: release.json does not record the processor-sim digest", /ci: only immutable tags/, (_cd, ci) => {
    const s = ci.jobs.release.steps.find((x) => /jq -n/.test(x.run || ""));
    s.run = s.run.replace(", processor_sim: $sim", "");
  }],
  ["cd: staging's simulator is never set", /cd: staging's processor simulator/, (cd) => {
    cd.jobs.staging.steps = cd.jobs.staging.steps.filter((x) => !/processor-sim/.test(x.run || ""));
  }],
  ["cd: staging's simulator is set by tag", /cd: staging's processor simulator/, (cd) => {
    const s = cd.jobs.staging.steps.find((x) => /set image/.test(x.run || ""));
    s.run = s.run.replace('processor-sim="$SIM_IMAGE"', 'processor-sim="$SIM_IMAGE_NAME:$TAG"');
  }],
];

for (const [name, expect, mutate] of fixtures) {
  const cd = structuredClone(realCd);
  const ci = structuredClone(realCi);
  const docs = structuredClone(k8s);
  let extra;
  try {
    extra = mutate(cd, ci, docs) || {};
  } catch (e) {
    report(false, `negative fixture "${name}" applies`, String(e));
    continue;
  }
  if (JSON.stringify(cd) === JSON.stringify(realCd) && JSON.stringify(ci) === JSON.stringify(realCi) &&
    JSON.stringify(docs) === JSON.stringify(k8s) && !extra.canaryLive) {
    report(false, `negative fixture "${name}" changes something`);
    continue;
  }
  // A fixture named "cd: ..." breaks cd.yaml, canary-live or k8s/ for CD, "ci: ..." ci.yaml.
  const results = name.startsWith("cd:")
    ? checkCd({ cd, k8s: docs, canaryLive: extra.canaryLive || canaryLive, root })
    : checkCi({ ci, root });
  const hit = results.filter((r) => expect.test(r.name));
  const caught = hit.length > 0 && hit.some((r) => !r.ok);
  report(caught, `negative fixture fails its check: ${name}`,
    caught ? "" : `checks matching ${expect}: ${hit.map((r) => `${r.ok ? "ok" : "failed"} ${r.name}`).join("; ") || "none"}`);
  // POLICY_TEST_VERBOSE=1: what each fixture's failing check reported.
  if (caught && process.env.POLICY_TEST_VERBOSE) for (const r of hit.filter((x) => !x.ok)) console.log(r.detail.replace(/^/gm, "      "));
}

fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
