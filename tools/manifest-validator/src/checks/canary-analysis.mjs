// The canary analysis' contract with the mesh and the synthetic load:
//  - release labels: every Rollout carries service.istio.io/canonical-revision on itself
//    and on its pod template, equal (Istio reports the pod label as
//    destination_canonical_revision; the analyses read the Rollout's label);
//  - arguments: a template that uses {{args.canary-revision}} gets it from
//    fieldRef metadata.labels['service.istio.io/canonical-revision']; {{args.weight}}
//    is the value of the setWeight the analysis step follows; canary-service /
//    stable-service name the Rollout's canaryService / stableService;
//  - the load Job (an AnalysisTemplate metric with a job provider): its own
//    ServiceAccount (not the service's, token not mounted), never retried, bounded
//    (authload --rate and --duration, activeDeadlineSeconds above the duration), sends
//    only to the routed Service auth-service (not an IP, not canary/stable), a
//    NetworkPolicy selects its pods, the authload image;
//  - the two reporters never count the same request: no Service or Namespace of a
//    Rollout's namespace sets istio.io/ingress-use-waypoint (the gateway would send
//    north-south requests through the waypoint, which would report them again);
//  - the switch: a Rollout whose analyses use such a template carries the annotation
//    rollouts.auth-service/synthetic-load: "enabled", and one without it uses none;
//    Rollouts of mirror environments (staging: no traffic of its own) use one.
import { selectorMatches } from "../k8s.mjs";

export const REVISION_LABEL = "service.istio.io/canonical-revision";
export const LOAD_SWITCH = "rollouts.auth-service/synthetic-load";
const MAX_RATE = 100; // req/s
const MAX_DURATION_S = 1800;

function analysesOf(ro) {
  const c = (ro.obj.spec && ro.obj.spec.strategy && ro.obj.spec.strategy.canary) || {};
  const out = [];
  let weight = null;
  (c.steps || []).forEach((s, i) => {
    if (s.setWeight !== undefined) weight = s.setWeight;
    if (s.analysis) out.push({ a: s.analysis, p: `/spec/strategy/canary/steps/${i}/analysis`, weight });
  });
  if (c.analysis) out.push({ a: c.analysis, p: "/spec/strategy/canary/analysis", weight: null });
  return out;
}

function jobMetrics(tpl) {
  return ((tpl.obj.spec && tpl.obj.spec.metrics) || []).map((m, i) => ({ m, i })).filter(({ m }) => m.provider && m.provider.job);
}

function argValue(args, name) {
  const i = (args || []).findIndex((a) => a.name === name);
  return i < 0 ? null : { arg: args[i], i };
}

function checkRelease(ctx, ro) {
  const own = (ro.obj.metadata.labels || {})[REVISION_LABEL];
  const tpl = ro.obj.spec && ro.obj.spec.template;
  const pod = ((tpl && tpl.metadata && tpl.metadata.labels) || {})[REVISION_LABEL];
  if (!own) ctx.error(ro, "/metadata/labels", `label ${REVISION_LABEL} is required (the release; the analyses select the mesh's destination_canonical_revision with it)`);
  if (!pod) ctx.error(ro, "/spec/template/metadata/labels", `label ${REVISION_LABEL} is required on the pods (Istio reports it as destination_canonical_revision)`);
  if (own && pod && own !== pod) ctx.error(ro, "/spec/template/metadata/labels", `${REVISION_LABEL} "${pod}" differs from the Rollout's "${own}": CD sets both in one patch`);
}

function checkArgs(ctx, ro) {
  const c = ro.obj.spec.strategy.canary;
  for (const { a, p, weight } of analysesOf(ro)) {
    for (const t of a.templates || []) {
      const tpl = ctx.get("AnalysisTemplate", ctx.nsOf(ro), t.templateName);
      if (!tpl) continue; // references.mjs reports it
      const text = JSON.stringify(tpl.obj.spec.metrics || []);
      const uses = (n) => new RegExp(`\\{\\{\\s*args\\.${n}\\s*\\}\\}`).test(text);
      if (uses("canary-revision")) {
        const v = argValue(a.args, "canary-revision");
        const fp = v && v.arg.valueFrom && v.arg.valueFrom.fieldRef && v.arg.valueFrom.fieldRef.fieldPath;
        if (v && fp !== `metadata.labels['${REVISION_LABEL}']`)
          ctx.error(ro, `${p}/args/${v.i}`, `canary-revision must come from fieldRef metadata.labels['${REVISION_LABEL}'] (the release), found ${JSON.stringify(v.arg.valueFrom || v.arg.value)}`);
      }
      if (uses("weight")) {
        const v = argValue(a.args, "weight");
        if (weight === null) ctx.error(ro, `${p}/templates`, `${t.templateName} uses {{args.weight}}: only a step analysis after a setWeight can give it`);
        else if (v && String(v.arg.value) !== String(weight)) ctx.error(ro, `${p}/args/${v.i}/value`, `weight must be the preceding setWeight ${weight}, found ${JSON.stringify(v.arg.value)}`);
      }
      for (const [name, field] of [["canary-service", "canaryService"], ["stable-service", "stableService"]]) {
        if (!uses(name)) continue;
        const v = argValue(a.args, name);
        if (!v) continue;
        const fp = v.arg.valueFrom && v.arg.valueFrom.fieldRef && v.arg.valueFrom.fieldRef.fieldPath;
        if (fp !== `spec.strategy.canary.${field}` && v.arg.value !== c[field])
          ctx.error(ro, `${p}/args/${v.i}`, `${name} must be the Rollout's ${field} "${c[field]}" (fieldRef spec.strategy.canary.${field})`);
      }
    }
  }
}

function flag(args, name) {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => typeof a === "string" && a.startsWith(`${name}=`));
  return eq === undefined ? undefined : eq.slice(name.length + 1);
}

function checkLoadJob(ctx, tpl, m, i) {
  const ns = ctx.nsOf(tpl);
  const b = `/spec/metrics/${i}/provider/job`;
  const job = m.provider.job;
  const spec = job.spec || {};
  const pod = (spec.template && spec.template.spec) || {};
  const labels = (spec.template && spec.template.metadata && spec.template.metadata.labels) || {};
  if (spec.backoffLimit !== 0) ctx.error(tpl, `${b}/spec/backoffLimit`, "must be 0: a load run is never retried (it would double the load)");
  if (pod.restartPolicy !== "Never") ctx.error(tpl, `${b}/spec/template/spec/restartPolicy`, "must be Never");
  const sa = pod.serviceAccountName;
  const serviceSas = new Set(ctx.of("Rollout").filter((r) => ctx.nsOf(r) === ns).map((r) => (r.obj.spec.template.spec || {}).serviceAccountName));
  if (!sa) ctx.error(tpl, `${b}/spec/template/spec/serviceAccountName`, "the load Job needs its own ServiceAccount (the mesh tells its requests apart by it)");
  else if (serviceSas.has(sa)) ctx.error(tpl, `${b}/spec/template/spec/serviceAccountName`, `"${sa}" is the service's own ServiceAccount: the load needs its own`);
  else if (!ctx.get("ServiceAccount", ns, sa)) ctx.error(tpl, `${b}/spec/template/spec/serviceAccountName`, `ServiceAccount "${ns}/${sa}" not found in the tree`);
  if (pod.automountServiceAccountToken !== false) ctx.error(tpl, `${b}/spec/template/spec/automountServiceAccountToken`, "must be false: authload calls no Kubernetes API");
  const containers = pod.containers || [];
  if (containers.length !== 1) return ctx.error(tpl, `${b}/spec/template/spec/containers`, "exactly one container (authload)");
  const c = containers[0];
  const cp = `${b}/spec/template/spec/containers/0`;
  if (!/(^|\/)authload(@|:|$)/.test(String(c.image || ""))) ctx.error(tpl, `${cp}/image`, `must be the authload image (Containerfile stage authload), found "${c.image}"`);
  if (c.command) ctx.error(tpl, `${cp}/command`, "keep the image's entrypoint (/usr/local/bin/authload); pass flags in args");
  const args = (c.args || []).map(String);
  const rate = Number(flag(args, "--rate"));
  const duration = Number(flag(args, "--duration"));
  const target = flag(args, "--target");
  if (!(rate > 0 && rate <= MAX_RATE)) ctx.error(tpl, `${cp}/args`, `--rate must be set, at most ${MAX_RATE} req/s (found ${flag(args, "--rate")})`);
  if (!(duration > 0 && duration <= MAX_DURATION_S)) ctx.error(tpl, `${cp}/args`, `--duration must be set, at most ${MAX_DURATION_S} s (found ${flag(args, "--duration")})`);
  if (!(spec.activeDeadlineSeconds > 0) || (duration > 0 && !(spec.activeDeadlineSeconds > duration)))
    ctx.error(tpl, `${b}/spec/activeDeadlineSeconds`, `must be set and exceed authload's --duration (${duration} s)`);
  const routed = ctx.config.canaryAnalysis && ctx.config.canaryAnalysis.routedService;
  const host = target ? target.replace(/:\d+$/, "") : "";
  const want = new RegExp(`^${routed}(\\.${ns}(\\.svc(\\.cluster\\.local)?)?)?$`);
  if (!target || !want.test(host)) ctx.error(tpl, `${cp}/args`, `--target must be the routed Service ${routed}.${ns}.svc.cluster.local:<port> (the Rollout's routes split it; never a pod, an IP, or the canary/stable Service), found ${JSON.stringify(target)}`);
  const sc = c.securityContext || {};
  if (sc.allowPrivilegeEscalation !== false || sc.readOnlyRootFilesystem !== true || !((sc.capabilities && sc.capabilities.drop) || []).includes("ALL"))
    ctx.error(tpl, `${cp}/securityContext`, "allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities drop ALL");
  if (!c.resources || !c.resources.limits || !c.resources.requests) ctx.error(tpl, `${cp}/resources`, "requests and limits are required");
  const nps = ctx.of("NetworkPolicy").filter((np) => ctx.nsOf(np) === ns && np.obj.spec && np.obj.spec.podSelector && Object.keys(np.obj.spec.podSelector).length && selectorMatches(np.obj.spec.podSelector, labels));
  if (!nps.length) ctx.error(tpl, `${b}/spec/template/metadata/labels`, "no NetworkPolicy of its own selects the load Job's pods (egress: DNS and the waypoint only)");
}

export function checkCanaryAnalysis(ctx) {
  const loadTemplates = new Set();
  for (const tpl of ctx.of("AnalysisTemplate"))
    for (const { m, i } of jobMetrics(tpl)) {
      loadTemplates.add(`${ctx.nsOf(tpl)}/${tpl.name}`);
      checkLoadJob(ctx, tpl, m, i);
    }
  const mirrors = new Set(((ctx.config.environments && ctx.config.environments.mirrors) || []).map(String));
  for (const ro of ctx.of("Rollout")) {
    const c = ro.obj.spec && ro.obj.spec.strategy && ro.obj.spec.strategy.canary;
    if (!c) continue;
    for (const d of [...ctx.of("Service").filter((x) => ctx.nsOf(x) === ctx.nsOf(ro)), ...ctx.of("Namespace").filter((x) => x.name === ctx.nsOf(ro))])
      if (((d.obj.metadata && d.obj.metadata.labels) || {})["istio.io/ingress-use-waypoint"] !== undefined)
        ctx.error(d, "/metadata/labels", "istio.io/ingress-use-waypoint: north-south requests would be reported by the gateway and again by the waypoint, and the analysis would count them twice");
    checkRelease(ctx, ro);
    checkArgs(ctx, ro);
    const uses = analysesOf(ro).flatMap(({ a, p }) => (a.templates || []).map((t, i) => ({ t, p: `${p}/templates/${i}` }))).filter(({ t }) => loadTemplates.has(`${ctx.nsOf(ro)}/${t.templateName}`));
    const on = ((ro.obj.metadata.annotations || {})[LOAD_SWITCH] || "") === "enabled";
    for (const u of uses) if (!on) ctx.error(ro, u.p, `uses the synthetic load (${u.t.templateName}) without the switch: annotation ${LOAD_SWITCH}: "enabled" (RUNBOOK.md, "Synthetic load")`);
    if (on && !uses.length) ctx.error(ro, `/metadata/annotations`, `${LOAD_SWITCH} is "enabled" but no analysis uses a load template`);
    if (mirrors.has(ctx.nsOf(ro)) && !uses.length) ctx.error(ro, "/spec/strategy/canary/analysis", "a mirror environment has no traffic of its own: its background analysis must run the synthetic load");
  }
}

