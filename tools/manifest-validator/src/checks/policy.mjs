// General policy (the kube-score / kube-linter / Polaris family), applied to every pod
// template, the Rollout's included.
import { podTemplate, isWorkload, isLongRunning, allContainers, parseImage, cpuMillis, bytes } from "../k8s.mjs";

const RESOURCE_NAMES = new Set(["cpu", "memory", "ephemeral-storage"]);

function checkImage(ctx, doc, p, c) {
  const img = parseImage(c.image);
  if (!img || !img.repo) return ctx.error(doc, `${p}/image`, "image is required");
  if (!img.tag && !img.digest) ctx.error(doc, `${p}/image`, `image "${c.image}" has no tag: it means :latest`);
  if (img.tag === "latest") ctx.error(doc, `${p}/image`, `image "${c.image}" uses :latest; pin a version (or a digest)`);
  if (!/^[a-z0-9.-]+\.[a-z]{2,}(:[0-9]+)?\//.test(img.repo)) ctx.error(doc, `${p}/image`, `image "${c.image}" must name its registry explicitly`);
  if (c.imagePullPolicy === "Always" && img.digest) ctx.error(doc, `${p}/imagePullPolicy`, "Always with a digest only adds a registry round-trip");
}

function checkResources(ctx, doc, p, c) {
  const r = c.resources || {};
  const req = r.requests || {};
  const lim = r.limits || {};
  for (const [field, map] of [["requests", req], ["limits", lim]])
    for (const k of Object.keys(map))
      if (!RESOURCE_NAMES.has(k) && !k.includes("/") && !k.startsWith("hugepages-")) ctx.error(doc, `${p}/resources/${field}/${k}`, `unknown resource name "${k}"`);
  if (req.cpu === undefined) ctx.error(doc, `${p}/resources/requests/cpu`, "cpu request is required (scheduling and CPU share)");
  if (req.memory === undefined) ctx.error(doc, `${p}/resources/requests/memory`, "memory request is required");
  if (lim.memory === undefined) ctx.error(doc, `${p}/resources/limits/memory`, "memory limit is required");
  else if (req.memory !== undefined && bytes(req.memory) !== bytes(lim.memory))
    ctx.error(doc, `${p}/resources`, `memory request (${req.memory}) must equal the limit (${lim.memory}): a pod may not count on memory it can lose to neighbours`);
  if (req.cpu !== undefined && Number.isNaN(cpuMillis(req.cpu))) ctx.error(doc, `${p}/resources/requests/cpu`, `invalid CPU quantity "${req.cpu}"`);
}

function checkSecurity(ctx, doc, tp, podSpec, p, c) {
  const psc = podSpec.securityContext || {};
  const sc = c.securityContext || {};
  const runAsNonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : psc.runAsNonRoot;
  if (runAsNonRoot !== true) ctx.error(doc, `${p}/securityContext/runAsNonRoot`, "runAsNonRoot must be true (pod or container)");
  const uid = sc.runAsUser !== undefined ? sc.runAsUser : psc.runAsUser;
  if (uid === undefined) ctx.error(doc, `${p}/securityContext/runAsUser`, "set runAsUser explicitly (a numeric non-root UID)");
  else if (uid === 0) ctx.error(doc, `${p}/securityContext/runAsUser`, "runAsUser 0 is root");
  if (sc.allowPrivilegeEscalation !== false) ctx.error(doc, `${p}/securityContext/allowPrivilegeEscalation`, "allowPrivilegeEscalation must be false");
  if (sc.privileged === true) ctx.error(doc, `${p}/securityContext/privileged`, "privileged containers are not allowed");
  if (sc.readOnlyRootFilesystem !== true) ctx.error(doc, `${p}/securityContext/readOnlyRootFilesystem`, "readOnlyRootFilesystem must be true");
  const caps = sc.capabilities || {};
  if (!(caps.drop || []).includes("ALL")) ctx.error(doc, `${p}/securityContext/capabilities/drop`, "capabilities.drop must include ALL");
  if ((caps.add || []).length) ctx.error(doc, `${p}/securityContext/capabilities/add`, "no capability may be added");
  const seccomp = (sc.seccompProfile || psc.seccompProfile || {}).type;
  if (!["RuntimeDefault", "Localhost"].includes(seccomp)) ctx.error(doc, `${p}/securityContext/seccompProfile`, "seccompProfile RuntimeDefault (pod or container) is required");
  if (c.ports) c.ports.forEach((port, i) => port.hostPort && ctx.error(doc, `${p}/ports/${i}/hostPort`, "hostPort is not allowed"));
}

function checkProbes(ctx, doc, p, c) {
  if (!c.readinessProbe) ctx.error(doc, `${p}/readinessProbe`, `container "${c.name}" has no readinessProbe`);
  if (!c.livenessProbe) ctx.error(doc, `${p}/livenessProbe`, `container "${c.name}" has no livenessProbe`);
  if (c.livenessProbe && c.readinessProbe && JSON.stringify(c.livenessProbe) === JSON.stringify(c.readinessProbe))
    ctx.error(doc, `${p}/livenessProbe`, "liveness and readiness probes are identical: a slow dependency would restart the pod instead of just taking it out of rotation");
}

export function checkPolicy(ctx) {
  for (const d of ctx.docs) {
    if (d.kind === "Secret") {
      const o = d.obj;
      if ((o.data && Object.keys(o.data).length) || (o.stringData && Object.keys(o.stringData).length))
        ctx.error(d, o.stringData ? "/stringData" : "/data", "Secret with inline data: secret values never go into Git (use an ExternalSecret)");
    }
    if (d.kind === "Service") {
      const t = d.obj.spec && d.obj.spec.type;
      if (t && t !== "ClusterIP") ctx.error(d, "/spec/type", `Service type ${t}: only the ingress gateway (generated by Istio) is exposed outside the cluster`);
    }
    if (d.kind === "PodDisruptionBudget") {
      const s = d.obj.spec || {};
      for (const f of ["maxUnavailable", "minAvailable"])
        if (typeof s[f] === "string" && !/^[0-9]+%$/.test(s[f])) ctx.error(d, `/spec/${f}`, `"${s[f]}" is neither an integer nor a percentage`);
      if (s.unhealthyPodEvictionPolicy !== "AlwaysAllow") ctx.error(d, "/spec/unhealthyPodEvictionPolicy", "AlwaysAllow is required: an unhealthy pod must never block a node drain");
    }
    if (d.kind === "StatefulSet")
      ((d.obj.spec && d.obj.spec.volumeClaimTemplates) || []).forEach((c, i) => {
        for (const f of ["requests", "limits"])
          for (const k of Object.keys((c.spec && c.spec.resources && c.spec.resources[f]) || {}))
            if (k !== "storage") ctx.error(d, `/spec/volumeClaimTemplates/${i}/spec/resources/${f}/${k}`, `unknown resource name "${k}" for a volume claim (storage only)`);
      });
    if (!isWorkload(d)) continue;
    const t = podTemplate(d);
    if (!t) continue;
    const podSpec = t.template.spec || {};
    const base = t.pointer;
    if (podSpec.hostNetwork || podSpec.hostPID || podSpec.hostIPC) ctx.error(d, `${base}/spec`, "host namespaces (hostNetwork/hostPID/hostIPC) are not allowed");
    (podSpec.volumes || []).forEach((v, i) => v.hostPath && ctx.error(d, `${base}/spec/volumes/${i}/hostPath`, "hostPath volumes are not allowed"));
    if (podSpec.automountServiceAccountToken === undefined)
      ctx.error(d, `${base}/spec/automountServiceAccountToken`, "set automountServiceAccountToken explicitly (false unless the pod calls the Kubernetes API)");
    for (const { c, pointer } of allContainers(podSpec)) {
      const p = `${base}${pointer}`;
      checkImage(ctx, d, p, c);
      checkResources(ctx, d, p, c);
      checkSecurity(ctx, d, t, podSpec, p, c);
      if (isLongRunning(d) && pointer.includes("/containers/")) checkProbes(ctx, d, p, c);
    }
  }
}
