// API-server egress: pods that mount a service-account token call the Kubernetes API
// (Prometheus' discovery, Vault's TokenReview). Where NetworkPolicies isolate their
// egress, some rule must let them reach the API server on every port of config.yaml
// apiServerPorts. The API server is not a pod and its address is cluster-specific, so
// only rules without peers or with ipBlock peers count. The ports are the Service port
// and the endpoint ports of common distributions: Calico and Cilium apply egress policy
// after the Service's DNAT, so minikube's 8443 must be allowed as such, not as 443.
import { podTemplate, selectorMatches, isEmptySelector } from "../k8s.mjs";

function tokenMounted(ctx, pod) {
  const t = podTemplate(pod.owner);
  const spec = (t && t.template.spec) || {};
  if (spec.automountServiceAccountToken !== undefined) return spec.automountServiceAccountToken === true;
  const sa = ctx.get("ServiceAccount", pod.ns, spec.serviceAccountName || "default");
  return !sa || sa.obj.automountServiceAccountToken !== false;
}

function portAllowed(ports, number) {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => (p.protocol || "TCP") === "TCP" && (p.port === undefined || (typeof p.port === "number" && (p.endPort ? number >= p.port && number <= p.endPort : number === p.port))));
}

export function checkApiServerEgress(ctx) {
  const ports = ctx.config.apiServerPorts || [];
  if (!ports.length) return;
  for (const pod of ctx.pods) {
    if (pod.external || pod.generated || !pod.owner || !tokenMounted(ctx, pod)) continue;
    const egress = ctx.of("NetworkPolicy").filter((np) => {
      const s = np.obj.spec || {};
      return ctx.nsOf(np) === pod.ns && (s.policyTypes || []).includes("Egress") && (isEmptySelector(s.podSelector) || selectorMatches(s.podSelector, pod.labels));
    });
    if (egress.length === 0) continue; // egress not isolated
    const rules = egress.flatMap((np) => np.obj.spec.egress || []).filter((r) => !r.to || r.to.length === 0 || r.to.some((peer) => peer.ipBlock));
    const missing = ports.filter((n) => !rules.some((r) => portAllowed(r.ports, n)));
    if (missing.length) {
      const t = podTemplate(pod.owner);
      ctx.error(
        pod.owner,
        `${t.pointer}/spec`,
        `its pods mount a service-account token (they call the Kubernetes API) but no NetworkPolicy egress rule lets them reach the API server on port${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: egress policy sees the API server's own port after the Service's DNAT (6443 kubeadm/kind/k3s, 8443 minikube), see config.yaml apiServerPorts`,
      );
    }
  }
}
