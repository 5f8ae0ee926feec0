// Cross-references: every name a document uses resolves to something the tree (or a
// declared prerequisite) provides, and every selector selects something.
import YAML from "yaml";
import {
  podTemplate,
  isWorkload,
  isLongRunning,
  allContainers,
  selectorMatches,
  isEmptySelector,
  mapSelectorMatches,
} from "../k8s.mjs";

const GATEWAYAPI_PLUGIN = "argoproj-labs/gatewayAPI";
// Keys of the ConfigMap a Gateway's infrastructure.parametersRef names (Istio >= 1.24).
const ISTIO_GATEWAY_PARAMETER_KEYS = new Set(["deployment", "service", "serviceAccount", "horizontalPodAutoscaler", "podDisruptionBudget"]);
const PLUGIN_KEYS = new Set([
  "httpRoute",
  "httpRoutes",
  "grpcRoute",
  "grpcRoutes",
  "tcpRoute",
  "tcpRoutes",
  "tlsRoute",
  "tlsRoutes",
  "namespace",
  "configMap",
  "httpRouteSelector",
  "grpcRouteSelector",
  "tcpRouteSelector",
  "tlsRouteSelector",
  "disableInProgressLabel",
  "inProgressLabelKey",
  "inProgressLabelValue",
]);

export function podsIn(ctx, ns) {
  return ctx.pods.filter((p) => p.ns === ns);
}

function secretProvided(ctx, ns, name) {
  if (ctx.of("ExternalSecret").some((e) => ctx.nsOf(e) === ns && targetName(e) === name)) return true;
  return (ctx.config.outOfBandSecrets || []).some((s) => s.namespace === ns && s.name === name);
}

export function targetName(es) {
  const t = es.obj.spec && es.obj.spec.target;
  return (t && t.name) || es.name;
}

function externalSecretKeys(ctx, ns, name) {
  const es = ctx.of("ExternalSecret").find((e) => ctx.nsOf(e) === ns && targetName(e) === name);
  if (!es) return null; // out of band: keys unknown
  if ((es.obj.spec.dataFrom || []).length) return null; // keys decided by the remote
  return new Set((es.obj.spec.data || []).map((x) => x.secretKey));
}

function checkSecretRef(ctx, doc, pointer, ns, name, keys) {
  if (!name) return;
  if (!secretProvided(ctx, ns, name)) {
    ctx.error(doc, pointer, `Secret "${ns}/${name}" is produced by no ExternalSecret in the tree and is not a declared out-of-band secret`);
    return;
  }
  const known = externalSecretKeys(ctx, ns, name);
  if (known) for (const k of keys || []) if (!known.has(k)) ctx.error(doc, pointer, `key "${k}" is not produced by the ExternalSecret targeting Secret "${name}" (it defines: ${[...known].join(", ")})`);
}

function checkConfigMapRef(ctx, doc, pointer, ns, name, keys, optional) {
  if (!name) return;
  const cm = ctx.get("ConfigMap", ns, name);
  if (!cm) {
    if (!optional) ctx.error(doc, pointer, `ConfigMap "${ns}/${name}" not found in the tree`);
    return;
  }
  const have = new Set([...Object.keys(cm.obj.data || {}), ...Object.keys(cm.obj.binaryData || {})]);
  for (const k of keys || []) if (!have.has(k)) ctx.error(doc, pointer, `ConfigMap "${name}" has no key "${k}"`);
}

function checkPodReferences(ctx, doc) {
  const t = podTemplate(doc);
  if (!t) return;
  const ns = ctx.nsOf(doc);
  const spec = t.template.spec || {};
  const base = `${t.pointer}`;
  const sa = spec.serviceAccountName;
  if (!sa) ctx.error(doc, `${base}/spec/serviceAccountName`, "set serviceAccountName explicitly (never run as the namespace's default account)");
  else if (!ctx.get("ServiceAccount", ns, sa)) ctx.error(doc, `${base}/spec/serviceAccountName`, `ServiceAccount "${ns}/${sa}" not found in the tree`);

  (spec.volumes || []).forEach((v, i) => {
    const p = `${base}/spec/volumes/${i}`;
    if (v.secret) checkSecretRef(ctx, doc, `${p}/secret/secretName`, ns, v.secret.secretName, (v.secret.items || []).map((x) => x.key));
    if (v.configMap) checkConfigMapRef(ctx, doc, `${p}/configMap/name`, ns, v.configMap.name, (v.configMap.items || []).map((x) => x.key), v.configMap.optional);
    if (v.projected)
      (v.projected.sources || []).forEach((s, j) => {
        if (s.secret) checkSecretRef(ctx, doc, `${p}/projected/sources/${j}/secret`, ns, s.secret.name, (s.secret.items || []).map((x) => x.key));
        if (s.configMap) checkConfigMapRef(ctx, doc, `${p}/projected/sources/${j}/configMap`, ns, s.configMap.name, (s.configMap.items || []).map((x) => x.key), s.configMap.optional);
      });
  });
  const volumeNames = new Set((spec.volumes || []).map((v) => v.name));
  const claimNames = new Set(((doc.obj.spec || {}).volumeClaimTemplates || []).map((c) => c.metadata && c.metadata.name));
  for (const { c, pointer } of allContainers(spec)) {
    const cp = `${base}${pointer}`;
    (c.env || []).forEach((e, i) => {
      const vf = e.valueFrom || {};
      if (vf.secretKeyRef) checkSecretRef(ctx, doc, `${cp}/env/${i}/valueFrom/secretKeyRef`, ns, vf.secretKeyRef.name, [vf.secretKeyRef.key]);
      if (vf.configMapKeyRef) checkConfigMapRef(ctx, doc, `${cp}/env/${i}/valueFrom/configMapKeyRef`, ns, vf.configMapKeyRef.name, [vf.configMapKeyRef.key], vf.configMapKeyRef.optional);
    });
    (c.envFrom || []).forEach((e, i) => {
      if (e.secretRef) checkSecretRef(ctx, doc, `${cp}/envFrom/${i}/secretRef`, ns, e.secretRef.name, []);
      if (e.configMapRef) checkConfigMapRef(ctx, doc, `${cp}/envFrom/${i}/configMapRef`, ns, e.configMapRef.name, [], e.configMapRef.optional);
    });
    (c.volumeMounts || []).forEach((m, i) => {
      if (!volumeNames.has(m.name) && !claimNames.has(m.name)) ctx.error(doc, `${cp}/volumeMounts/${i}/name`, `no volume named "${m.name}" in the pod`);
    });
    // Probes on named ports must name a port of this container.
    const portNames = new Set((c.ports || []).map((p) => p.name).filter(Boolean));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const pr = c[probe];
      const port = pr && ((pr.httpGet && pr.httpGet.port) || (pr.tcpSocket && pr.tcpSocket.port) || (pr.grpc && pr.grpc.port));
      if (typeof port === "string" && !portNames.has(port)) ctx.error(doc, `${cp}/${probe}`, `probe port "${port}" is not a named port of container "${c.name}"`);
    }
  }
}

function checkServices(ctx) {
  for (const s of ctx.of("Service")) {
    const ns = ctx.nsOf(s);
    const sel = s.obj.spec && s.obj.spec.selector;
    if (!sel || Object.keys(sel).length === 0) {
      ctx.error(s, "/spec/selector", "Service has no selector (no EndpointSlices would be managed)");
      continue;
    }
    const pods = podsIn(ctx, ns).filter((p) => !p.generated && mapSelectorMatches(sel, p.labels));
    if (pods.length === 0) {
      ctx.error(s, "/spec/selector", `selector ${JSON.stringify(sel)} matches no pod template in namespace "${ns}"`);
      continue;
    }
    (s.obj.spec.ports || []).forEach((port, i) => {
      const tp = port.targetPort === undefined ? port.port : port.targetPort;
      for (const pod of pods) {
        const ok = typeof tp === "string" ? pod.ports.some((p) => p.name === tp) : pod.ports.some((p) => p.containerPort === tp);
        if (!ok) ctx.error(s, `/spec/ports/${i}/targetPort`, `targetPort ${JSON.stringify(tp)} is not a container port of the pods of ${pod.owner.kind}/${pod.owner.name}`);
      }
    });
  }
}

function serviceHasPort(svc, port) {
  return ((svc.obj.spec && svc.obj.spec.ports) || []).some((p) => p.port === port);
}

function checkBackendRefs(ctx, route, rule, ri) {
  const ns = ctx.nsOf(route);
  (rule.backendRefs || []).forEach((b, bi) => {
    const p = `/spec/rules/${ri}/backendRefs/${bi}`;
    const kind = b.kind || "Service";
    const group = b.group || "";
    if (kind === "Hostname" && group === "networking.istio.io") {
      // Istio's backend kind for a ServiceEntry host (egress through a waypoint).
      const se = serviceEntryOfHost(ctx, b.name, ns);
      if (!se) ctx.error(route, `${p}/name`, `backend Hostname "${b.name}" is not a host of a ServiceEntry visible in "${ns}"`);
      else if (b.port === undefined) ctx.error(route, `${p}/port`, "backendRef.port is required for a Hostname backend");
      else if (!((se.obj.spec && se.obj.spec.ports) || []).some((x) => x.number === b.port)) ctx.error(route, `${p}/port`, `ServiceEntry "${se.name}" has no port ${b.port}`);
      return;
    }
    if (kind !== "Service" || group !== "") {
      ctx.error(route, p, `backend kind ${group}/${kind} is not supported here (Service, or an Istio Hostname of a ServiceEntry)`);
      return;
    }
    const bns = b.namespace || ns;
    if (bns !== ns) ctx.error(route, `${p}/namespace`, "cross-namespace backends need a ReferenceGrant; keep backends in the route's namespace");
    const svc = ctx.get("Service", bns, b.name);
    if (!svc) ctx.error(route, `${p}/name`, `backend Service "${bns}/${b.name}" not found in the tree`);
    else if (b.port === undefined) ctx.error(route, `${p}/port`, "backendRef.port is required for a Service backend");
    else if (!serviceHasPort(svc, b.port)) ctx.error(route, `${p}/port`, `Service "${b.name}" has no port ${b.port}`);
  });
}

function hostnameMatches(listenerHost, routeHost) {
  if (!listenerHost) return true;
  if (listenerHost === routeHost) return true;
  if (listenerHost.startsWith("*.")) return routeHost.endsWith(listenerHost.slice(1));
  if (routeHost.startsWith("*.")) return listenerHost.endsWith(routeHost.slice(1));
  return false;
}

function checkRoutes(ctx) {
  for (const r of ctx.of("HTTPRoute")) {
    const ns = ctx.nsOf(r);
    const spec = r.obj.spec || {};
    const hostnames = spec.hostnames || [];
    (spec.parentRefs || []).forEach((pr, i) => {
      const p = `/spec/parentRefs/${i}`;
      const kind = pr.kind || "Gateway";
      const group = pr.group === undefined ? "gateway.networking.k8s.io" : pr.group;
      const pns = pr.namespace || ns;
      if (kind === "Gateway" && group === "gateway.networking.k8s.io") {
        const gw = ctx.get("Gateway", pns, pr.name);
        if (!gw) return ctx.error(r, `${p}/name`, `parent Gateway "${pns}/${pr.name}" not found in the tree`);
        let listeners = (gw.obj.spec && gw.obj.spec.listeners) || [];
        if (pr.sectionName) {
          listeners = listeners.filter((l) => l.name === pr.sectionName);
          if (listeners.length === 0) return ctx.error(r, `${p}/sectionName`, `Gateway "${pns}/${pr.name}" has no listener "${pr.sectionName}"`);
        }
        const accepting = listeners.filter((l) => {
          const ar = l.allowedRoutes || {};
          const from = (ar.namespaces && ar.namespaces.from) || "Same";
          let nsOk = false;
          if (from === "All") nsOk = true;
          else if (from === "Same") nsOk = ns === pns;
          else if (from === "Selector") nsOk = selectorMatches(ar.namespaces.selector, ctx.namespaceLabels.get(ns));
          const kinds = ar.kinds || [];
          const kindOk = kinds.length === 0 || kinds.some((k) => k.kind === "HTTPRoute" && (k.group === undefined || k.group === "gateway.networking.k8s.io"));
          const hostOk = hostnames.length === 0 || hostnames.some((h) => hostnameMatches(l.hostname, h));
          return nsOk && kindOk && hostOk;
        });
        if (accepting.length === 0) ctx.error(r, p, `no listener of Gateway "${pns}/${pr.name}"${pr.sectionName ? ` (section ${pr.sectionName})` : ""} accepts this route (allowedRoutes namespaces/kinds or hostname do not match)`);
      } else if (kind === "Service" && group === "") {
        const svc = ctx.get("Service", pns, pr.name);
        if (!svc) ctx.error(r, `${p}/name`, `parent Service "${pns}/${pr.name}" not found in the tree`);
        else if (pr.port !== undefined && !serviceHasPort(svc, pr.port)) ctx.error(r, `${p}/port`, `parent Service "${pr.name}" has no port ${pr.port}`);
      } else if (kind === "ServiceEntry" && group === "networking.istio.io") {
        // Istio binds the route to the waypoint serving the ServiceEntry.
        if (!ctx.get("ServiceEntry", pns, pr.name)) ctx.error(r, `${p}/name`, `parent ServiceEntry "${pns}/${pr.name}" not found in the tree`);
      } else ctx.error(r, p, `unsupported parent ${group}/${kind}`);
    });
    (spec.rules || []).forEach((rule, ri) => checkBackendRefs(ctx, r, rule, ri));
  }
}

function checkGateways(ctx) {
  for (const g of ctx.of("Gateway")) {
    const ns = ctx.nsOf(g);
    const spec = g.obj.spec || {};
    (spec.listeners || []).forEach((l, i) => {
      ((l.tls && l.tls.certificateRefs) || []).forEach((c, j) => {
        const cns = c.namespace || ns;
        if ((c.kind || "Secret") !== "Secret") return;
        if (!secretProvided(ctx, cns, c.name)) ctx.error(g, `/spec/listeners/${i}/tls/certificateRefs/${j}`, `certificate Secret "${cns}/${c.name}" is produced by nothing in the tree and is not a declared out-of-band secret`);
      });
    });
    const pr = spec.infrastructure && spec.infrastructure.parametersRef;
    if (pr) {
      if (pr.kind !== "ConfigMap" || (pr.group || "") !== "") ctx.error(g, "/spec/infrastructure/parametersRef", "Istio takes its per-Gateway parameters from a ConfigMap");
      else {
        const cm = ctx.get("ConfigMap", ns, pr.name);
        if (!cm) ctx.error(g, "/spec/infrastructure/parametersRef/name", `ConfigMap "${ns}/${pr.name}" not found in the tree`);
        else
          for (const [k, v] of Object.entries(cm.obj.data || {})) {
            if (!ISTIO_GATEWAY_PARAMETER_KEYS.has(k)) ctx.error(cm, `/data/${k}`, `Istio does not read key "${k}" (it reads ${[...ISTIO_GATEWAY_PARAMETER_KEYS].join(", ")})`);
            try {
              const y = YAML.parse(v);
              if (!y || typeof y !== "object" || Array.isArray(y)) ctx.error(cm, `/data/${k}`, "must be a YAML mapping (an overlay of the generated object)");
            } catch (e) {
              ctx.error(cm, `/data/${k}`, `not valid YAML: ${e.message.split("\n")[0]}`);
            }
          }
      }
    }
  }
  for (const n of ctx.of("Namespace")) {
    const wp = n.obj.metadata.labels && n.obj.metadata.labels["istio.io/use-waypoint"];
    if (!wp) continue;
    const gw = ctx.get("Gateway", n.name, wp);
    if (!gw) ctx.error(n, "/metadata/labels/istio.io~1use-waypoint", `no waypoint Gateway "${wp}" in namespace "${n.name}"`);
    else if (gw.obj.spec.gatewayClassName !== "istio-waypoint") ctx.error(gw, "/spec/gatewayClassName", `Gateway "${wp}" is used as the namespace waypoint but its class is not istio-waypoint`);
  }
}

function checkRbac(ctx) {
  const builtin = new Set(ctx.config.builtinClusterRoles || []);
  for (const b of [...ctx.of("RoleBinding"), ...ctx.of("ClusterRoleBinding")]) {
    const ns = ctx.nsOf(b);
    const ref = b.obj.roleRef || {};
    if (ref.kind === "Role") {
      if (b.kind === "ClusterRoleBinding") ctx.error(b, "/roleRef/kind", "a ClusterRoleBinding cannot reference a Role");
      else if (!ctx.get("Role", ns, ref.name)) ctx.error(b, "/roleRef/name", `Role "${ns}/${ref.name}" not found in the tree`);
    } else if (ref.kind === "ClusterRole") {
      if (!ctx.get("ClusterRole", null, ref.name) && !builtin.has(ref.name)) ctx.error(b, "/roleRef/name", `ClusterRole "${ref.name}" not found in the tree nor a built-in role`);
    }
    (b.obj.subjects || []).forEach((s, i) => {
      if (s.kind !== "ServiceAccount") return;
      const sns = s.namespace || ns;
      if (ctx.get("ServiceAccount", sns, s.name)) return;
      // Istio creates a service account named after each waypoint Gateway it deploys.
      const gw = ctx.get("Gateway", sns, s.name);
      if (gw && gw.obj.spec && gw.obj.spec.gatewayClassName === "istio-waypoint") return;
      const ext = ctx.externalNamespaces.get(sns);
      if (ext && (ext.serviceAccounts || []).includes(s.name)) return;
      ctx.error(b, `/subjects/${i}`, `ServiceAccount "${sns}/${s.name}" is neither in the tree nor a declared prerequisite`);
    });
  }
}

// Every key an ExternalSecret syncs is consumed by some pod: a secret nobody reads still
// has to be rotated and audited, and can still leak.
function secretUsage(ctx, ns, name) {
  const used = new Set();
  let all = false;
  let any = false;
  for (const d of ctx.docs) {
    if (!isWorkload(d) || ctx.nsOf(d) !== ns) continue;
    const t = podTemplate(d);
    const spec = (t && t.template.spec) || {};
    for (const v of spec.volumes || []) {
      if (!v.secret || v.secret.secretName !== name) continue;
      any = true;
      if (!v.secret.items) all = true;
      for (const it of v.secret.items || []) used.add(it.key);
    }
    for (const { c } of allContainers(spec)) {
      for (const e of c.env || []) if (e.valueFrom && e.valueFrom.secretKeyRef && e.valueFrom.secretKeyRef.name === name) (any = true), used.add(e.valueFrom.secretKeyRef.key);
      for (const e of c.envFrom || []) if (e.secretRef && e.secretRef.name === name) (any = true), (all = true);
    }
  }
  return { any, all, used };
}

// A DestinationRule's credentialName is read by the proxies of its namespace (the
// waypoint): every key, by Istio's names.
function credentialUsage(ctx, ns, name) {
  const any = ctx.of("DestinationRule").some((dr) => {
    if (ctx.nsOf(dr) !== ns) return false;
    const tp = (dr.obj.spec && dr.obj.spec.trafficPolicy) || {};
    return [tp, ...(tp.portLevelSettings || [])].some((x) => x && x.tls && x.tls.credentialName === name);
  });
  return { any, all: any, used: new Set() };
}

function checkSecrets(ctx) {
  for (const es of ctx.of("ExternalSecret")) {
    const ns = ctx.nsOf(es);
    const cred = credentialUsage(ctx, ns, targetName(es));
    const u = cred.any ? cred : secretUsage(ctx, ns, targetName(es));
    if (!u.any) ctx.error(es, "/spec/target", `Secret "${targetName(es)}" is synced but no pod in "${ns}" uses it`);
    else if (!u.all)
      (es.obj.spec.data || []).forEach((x, i) => {
        if (!u.used.has(x.secretKey)) ctx.error(es, `/spec/data/${i}/secretKey`, `key "${x.secretKey}" is synced but no pod reads it: drop it`);
      });
  }
  for (const es of ctx.of("ExternalSecret")) {
    const ns = ctx.nsOf(es);
    const ref = (es.obj.spec && es.obj.spec.secretStoreRef) || {};
    const kind = ref.kind || "SecretStore";
    const store = kind === "ClusterSecretStore" ? ctx.get("ClusterSecretStore", null, ref.name) : ctx.get("SecretStore", ns, ref.name);
    if (!store) ctx.error(es, "/spec/secretStoreRef", `${kind} "${ref.name}" not found in the tree`);
  }
  for (const st of ctx.of("SecretStore")) {
    const ns = ctx.nsOf(st);
    const k = st.obj.spec && st.obj.spec.provider && st.obj.spec.provider.vault && st.obj.spec.provider.vault.auth && st.obj.spec.provider.vault.auth.kubernetes;
    if (k && k.serviceAccountRef && !ctx.get("ServiceAccount", ns, k.serviceAccountRef.name))
      ctx.error(st, "/spec/provider/vault/auth/kubernetes/serviceAccountRef/name", `ServiceAccount "${ns}/${k.serviceAccountRef.name}" not found in the tree`);
  }
}

function hostToService(ctx, host, ns) {
  const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(host || "");
  if (!m) return null;
  return ctx.get("Service", m[2] || ns, m[1]);
}

// The ServiceEntry declaring `host` that namespace `ns` sees (exportTo: "." is its own
// namespace, "*" every one; unset means every one).
export function serviceEntryOfHost(ctx, host, ns) {
  return (
    ctx.of("ServiceEntry").find((se) => {
      const spec = se.obj.spec || {};
      if (!(spec.hosts || []).includes(host)) return false;
      const exp = spec.exportTo || ["*"];
      return exp.some((e) => e === "*" || (e === "." ? ctx.nsOf(se) === ns : e === ns));
    }) || null
  );
}

function checkMesh(ctx) {
  for (const dr of ctx.of("DestinationRule")) {
    const host = dr.obj.spec && dr.obj.spec.host;
    if (!hostToService(ctx, host, ctx.nsOf(dr)) && !serviceEntryOfHost(ctx, host, ctx.nsOf(dr)))
      ctx.error(dr, "/spec/host", `host "${host}" is neither a Service of the tree nor a ServiceEntry host visible in "${ctx.nsOf(dr)}"`);
  }
  for (const kind of ["PeerAuthentication", "AuthorizationPolicy"]) {
    for (const d of ctx.of(kind)) {
      const sel = d.obj.spec && d.obj.spec.selector;
      if (!sel || !sel.matchLabels) continue;
      if (!podsIn(ctx, ctx.nsOf(d)).some((p) => mapSelectorMatches(sel.matchLabels, p.labels)))
        ctx.error(d, "/spec/selector", `selector ${JSON.stringify(sel.matchLabels)} matches no pod in namespace "${ctx.nsOf(d)}"`);
    }
  }
}

// NetworkPolicy selectors, peers and named ports.
function checkNetworkPolicies(ctx) {
  for (const np of ctx.of("NetworkPolicy")) {
    const ns = ctx.nsOf(np);
    const spec = np.obj.spec || {};
    const selected = podsIn(ctx, ns).filter((p) => isEmptySelector(spec.podSelector) || selectorMatches(spec.podSelector, p.labels));
    if (selected.length === 0) ctx.error(np, "/spec/podSelector", `podSelector ${JSON.stringify(spec.podSelector)} matches no pod in namespace "${ns}"`);
    for (const dir of ["ingress", "egress"]) {
      (spec[dir] || []).forEach((rule, ri) => {
        const peers = dir === "ingress" ? rule.from || [] : rule.to || [];
        const peerPods = [];
        let unknownPeers = peers.length === 0; // no peers = everywhere
        peers.forEach((peer, pi) => {
          const p = `/spec/${dir}/${ri}/${dir === "ingress" ? "from" : "to"}/${pi}`;
          if (peer.ipBlock) {
            unknownPeers = true;
            return;
          }
          let namespaces;
          if (peer.namespaceSelector) {
            namespaces = [...ctx.namespaceLabels.entries()].filter(([, labels]) => selectorMatches(peer.namespaceSelector, labels) || isEmptySelector(peer.namespaceSelector)).map(([n]) => n);
            if (namespaces.length === 0) return ctx.error(np, `${p}/namespaceSelector`, `namespaceSelector ${JSON.stringify(peer.namespaceSelector)} matches no namespace of the tree nor a declared prerequisite namespace`);
          } else namespaces = [ns];
          if (peer.podSelector && !isEmptySelector(peer.podSelector)) {
            const pods = ctx.pods.filter((q) => namespaces.includes(q.ns) && selectorMatches(peer.podSelector, q.labels));
            if (pods.length === 0) return ctx.error(np, `${p}/podSelector`, `podSelector ${JSON.stringify(peer.podSelector)} matches no pod in ${namespaces.map((n) => `"${n}"`).join(", ")}`);
            peerPods.push(...pods);
          } else unknownPeers = true;
        });
        // Named ports: ingress ports are the selected pods' ports; egress ports the peers'.
        (rule.ports || []).forEach((port, pi) => {
          if (typeof port.port !== "string") return;
          const targets = dir === "ingress" ? selected : unknownPeers ? [] : peerPods;
          const known = targets.filter((t) => t.ports);
          if (dir === "egress" && unknownPeers) return;
          if (known.length === 0) return;
          if (!known.some((t) => t.ports.some((x) => x.name === port.port)))
            ctx.error(np, `/spec/${dir}/${ri}/ports/${pi}/port`, `named port "${port.port}" is not a container port of the ${dir === "ingress" ? "selected" : "peer"} pods`);
        });
      });
    }
  }
}

// Every workload is covered by exactly one PDB (long-running) and by a specific
// NetworkPolicy, in a namespace with a default-deny policy.
function checkCoverage(ctx) {
  const defaultDeny = new Set(
    ctx
      .of("NetworkPolicy")
      .filter((np) => {
        const s = np.obj.spec || {};
        const types = s.policyTypes || [];
        return isEmptySelector(s.podSelector) && types.includes("Ingress") && types.includes("Egress") && !(s.ingress || []).length && !(s.egress || []).length;
      })
      .map((np) => ctx.nsOf(np)),
  );
  const pods = ctx.pods.filter((p) => !p.external);
  for (const pod of pods) {
    const owner = pod.owner;
    const where = owner.kind === "Gateway" ? "/metadata/name" : `${(podTemplate(owner) || { pointer: "" }).pointer}/metadata/labels`;
    const what = owner.kind === "Gateway" ? `the pods Istio generates for Gateway "${owner.name}"` : "its pods";
    if (!defaultDeny.has(pod.ns)) ctx.error(owner, where, `namespace "${pod.ns}" has no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)`);
    const nps = ctx.of("NetworkPolicy").filter((np) => ctx.nsOf(np) === pod.ns && !isEmptySelector(np.obj.spec.podSelector) && selectorMatches(np.obj.spec.podSelector, pod.labels));
    if (nps.length === 0) ctx.error(owner, where, `no NetworkPolicy selects ${what} (only a default deny): every workload needs explicit allow rules`);
    if (owner.kind === "Gateway" || isLongRunning(owner)) {
      const pdbs = ctx.of("PodDisruptionBudget").filter((b) => ctx.nsOf(b) === pod.ns && selectorMatches(b.obj.spec.selector, pod.labels));
      if (pdbs.length === 0) ctx.error(owner, where, `no PodDisruptionBudget covers ${what}`);
      if (pdbs.length > 1) ctx.error(owner, where, `${pdbs.length} PodDisruptionBudgets cover ${what} (${pdbs.map((b) => b.name).join(", ")}): the eviction API refuses pods with more than one`);
    }
  }
  for (const b of ctx.of("PodDisruptionBudget")) {
    if (!podsIn(ctx, ctx.nsOf(b)).some((p) => selectorMatches(b.obj.spec.selector, p.labels)))
      ctx.error(b, "/spec/selector", `selector matches no pod in namespace "${ctx.nsOf(b)}"`);
  }
}

// Rollout -> services, routes, plugin RBAC, analysis templates and their arguments.
function checkRollouts(ctx) {
  for (const ro of ctx.of("Rollout")) {
    const ns = ctx.nsOf(ro);
    const spec = ro.obj.spec || {};
    const labels = (spec.template && spec.template.metadata && spec.template.metadata.labels) || {};
    if (!selectorMatches(spec.selector, labels)) ctx.error(ro, "/spec/selector", "selector does not match the pod template labels");
    const canary = spec.strategy && spec.strategy.canary;
    if (!canary) continue;
    for (const f of ["stableService", "canaryService"]) {
      const svc = canary[f] && ctx.get("Service", ns, canary[f]);
      if (!canary[f]) ctx.error(ro, `/spec/strategy/canary/${f}`, `${f} is required for traffic routing`);
      else if (!svc) ctx.error(ro, `/spec/strategy/canary/${f}`, `Service "${ns}/${canary[f]}" not found in the tree`);
      else if (!mapSelectorMatches(svc.obj.spec.selector, labels)) ctx.error(svc, "/spec/selector", `selector does not match the pods of Rollout "${ro.name}" (it is its ${f})`);
    }
    const plugins = (canary.trafficRouting && canary.trafficRouting.plugins) || {};
    for (const name of Object.keys(plugins)) if (name !== GATEWAYAPI_PLUGIN) ctx.error(ro, "/spec/strategy/canary/trafficRouting/plugins", `unknown traffic-router plugin "${name}"`);
    const cfg = plugins[GATEWAYAPI_PLUGIN];
    const pp = `/spec/strategy/canary/trafficRouting/plugins/argoproj-labs~1gatewayAPI`;
    if (!cfg) ctx.error(ro, "/spec/strategy/canary/trafficRouting", `the ${GATEWAYAPI_PLUGIN} traffic router is required`);
    else {
      for (const k of Object.keys(cfg)) if (!PLUGIN_KEYS.has(k)) ctx.error(ro, `${pp}/${k}`, `unknown field "${k}" of the ${GATEWAYAPI_PLUGIN} plugin configuration`);
      if (cfg.namespace !== ns) ctx.error(ro, `${pp}/namespace`, `must be the Rollout's namespace "${ns}" (the plugin does not default it)`);
      (cfg.httpRoutes || []).forEach((r, i) => {
        for (const k of Object.keys(r || {})) if (!["name", "useHeaderRoutes"].includes(k)) ctx.error(ro, `${pp}/httpRoutes/${i}/${k}`, `unknown field "${k}" of a ${GATEWAYAPI_PLUGIN} httpRoutes entry`);
      });
      const routes = [...(cfg.httpRoutes || []).map((r) => r && r.name), ...(cfg.httpRoute ? [cfg.httpRoute] : [])];
      if (routes.length === 0) ctx.error(ro, pp, "no httpRoutes configured");
      routes.forEach((rn, i) => {
        const route = ctx.get("HTTPRoute", cfg.namespace || ns, rn);
        if (!route) return ctx.error(ro, `${pp}/httpRoutes/${i}/name`, `HTTPRoute "${ns}/${rn}" not found in the tree`);
        const rules = (route.obj.spec && route.obj.spec.rules) || [];
        if (rules.length === 0) ctx.error(route, "/spec/rules", "no rules");
        let weighted = 0;
        rules.forEach((rule, ri) => {
          const refs = rule.backendRefs || [];
          const st = refs.find((b) => b.name === canary.stableService);
          const ca = refs.find((b) => b.name === canary.canaryService);
          // A rule with neither Service (e.g. /health to the Service of every pod) is not
          // weighted: the plugin leaves it alone, and the analysis never sees its requests.
          if (!st && !ca) {
            if ((rule.matches || []).some((m) => m.path && m.path.value === "/v1/authorize"))
              ctx.error(route, `/spec/rules/${ri}/backendRefs`, `routes /v1/authorize but not to ${canary.stableService} / ${canary.canaryService}: the canary would never get authorizations`);
            return;
          }
          weighted++;
          if (!st || !ca) return ctx.error(route, `/spec/rules/${ri}/backendRefs`, `must reference both ${canary.stableService} and ${canary.canaryService} (Rollout "${ro.name}" sets their weights)`);
          const sw = st.weight === undefined ? 1 : st.weight;
          const cw = ca.weight === undefined ? 1 : ca.weight;
          if (sw !== 100 || cw !== 0) ctx.error(route, `/spec/rules/${ri}/backendRefs`, `weights at rest must be stable 100 / canary 0 (found ${sw}/${cw})`);
          if (refs.length !== 2) ctx.error(route, `/spec/rules/${ri}/backendRefs`, "only the stable and canary Services may be backends");
        });
        if (rules.length && !weighted) ctx.error(route, "/spec/rules", `no rule routes to both ${canary.stableService} and ${canary.canaryService}`);
        // The controller's service account must be able to get and update the route.
        const ok = ctx.of("RoleBinding").some((b) => {
          if (ctx.nsOf(b) !== (cfg.namespace || ns)) return false;
          const subj = (b.obj.subjects || []).some((s) => s.kind === "ServiceAccount" && s.name === "argo-rollouts" && s.namespace === "argo-rollouts");
          if (!subj) return false;
          const role = b.obj.roleRef.kind === "Role" ? ctx.get("Role", ns, b.obj.roleRef.name) : ctx.get("ClusterRole", null, b.obj.roleRef.name);
          if (!role) return false;
          const verbs = new Set();
          for (const r of role.obj.rules || []) {
            if (!(r.apiGroups || []).includes("gateway.networking.k8s.io") || !(r.resources || []).includes("httproutes")) continue;
            if (r.resourceNames && r.resourceNames.length && !r.resourceNames.includes(rn)) continue;
            for (const v of r.verbs || []) verbs.add(v);
          }
          return (verbs.has("get") || verbs.has("*")) && (verbs.has("update") || verbs.has("*"));
        });
        if (!ok) ctx.error(ro, `${pp}/httpRoutes/${i}/name`, `no RoleBinding in "${ns}" lets argo-rollouts/argo-rollouts get and update HTTPRoute "${rn}"`);
      });
    }
    // Analysis templates and arguments.
    const uses = [];
    (canary.steps || []).forEach((s, i) => {
      if (s.analysis) uses.push({ a: s.analysis, p: `/spec/strategy/canary/steps/${i}/analysis` });
    });
    if (canary.analysis) uses.push({ a: canary.analysis, p: "/spec/strategy/canary/analysis" });
    for (const { a, p } of uses) {
      const supplied = new Map((a.args || []).map((x) => [x.name, x]));
      (a.args || []).forEach((arg, i) => {
        const vf = arg.valueFrom;
        if (vf && vf.podTemplateHashValue && !["Latest", "Stable"].includes(vf.podTemplateHashValue)) ctx.error(ro, `${p}/args/${i}/valueFrom/podTemplateHashValue`, "must be Latest or Stable");
        if (vf && vf.fieldRef && !/^(metadata\.(name|namespace|uid)|metadata\.(labels|annotations)\['[^']+'\]|spec\..+)$/.test(vf.fieldRef.fieldPath || ""))
          ctx.error(ro, `${p}/args/${i}/valueFrom/fieldRef/fieldPath`, `unsupported fieldPath "${vf.fieldRef.fieldPath}"`);
      });
      const declaredAnywhere = new Set();
      (a.templates || []).forEach((t, i) => {
        const tpl = t.clusterScope ? ctx.get("ClusterAnalysisTemplate", null, t.templateName) : ctx.get("AnalysisTemplate", ns, t.templateName);
        if (!tpl) return ctx.error(ro, `${p}/templates/${i}/templateName`, `AnalysisTemplate "${ns}/${t.templateName}" not found in the tree`);
        for (const targ of tpl.obj.spec.args || []) {
          declaredAnywhere.add(targ.name);
          if (targ.value === undefined && !targ.valueFrom && !supplied.has(targ.name))
            ctx.error(ro, `${p}/args`, `AnalysisTemplate "${t.templateName}" requires argument "${targ.name}", which is not supplied`);
        }
      });
      (a.args || []).forEach((arg, i) => {
        if (!declaredAnywhere.has(arg.name)) ctx.error(ro, `${p}/args/${i}/name`, `argument "${arg.name}" is declared by none of the templates`);
      });
    }
    if (canary.analysis && canary.analysis.startingStep !== undefined && canary.analysis.startingStep >= (canary.steps || []).length)
      ctx.error(ro, "/spec/strategy/canary/analysis/startingStep", "startingStep is past the last step");
  }
}

function checkAnalysisTemplates(ctx) {
  for (const t of [...ctx.of("AnalysisTemplate"), ...ctx.of("ClusterAnalysisTemplate")]) {
    const declared = new Set((t.obj.spec.args || []).map((a) => a.name));
    (t.obj.spec.metrics || []).forEach((m, i) => {
      const text = JSON.stringify(m);
      for (const [, name] of text.matchAll(/\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g))
        if (!declared.has(name)) ctx.error(t, `/spec/metrics/${i}`, `uses {{args.${name}}}, which the template does not declare`);
      const prom = m.provider && m.provider.prometheus;
      // No data is never a pass and never an expression error: every condition that
      // reads the result guards against an empty vector, and against NaN when it indexes.
      if (prom) {
        if (m.successCondition && !m.failureCondition)
          ctx.error(t, `/spec/metrics/${i}`, "successCondition without failureCondition: a measurement that is not a success (no data, NaN) counts as a failure; add a failureCondition so it is Inconclusive");
        for (const f of ["successCondition", "failureCondition"]) {
          const c = m[f];
          if (typeof c !== "string" || !/\bresult\b/.test(c)) continue;
          if (!/len\(\s*result\s*\)/.test(c)) ctx.error(t, `/spec/metrics/${i}/${f}`, "must test len(result) before using the result (an empty vector would error, or pass all())");
          if (/result\s*\[/.test(c) && !/isNaN\(/.test(c)) ctx.error(t, `/spec/metrics/${i}/${f}`, "must test isNaN(...) on the values it compares (0/0 gives NaN, and NaN compares false)");
        }
      }
      if (prom) {
        let url;
        try {
          url = new URL(prom.address);
        } catch {
          return ctx.error(t, `/spec/metrics/${i}/provider/prometheus/address`, `invalid URL "${prom.address}"`);
        }
        const svc = hostToService(ctx, url.hostname, ctx.nsOf(t));
        const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
        if (!svc) ctx.error(t, `/spec/metrics/${i}/provider/prometheus/address`, `"${url.hostname}" is not a Service of the tree`);
        else if (!serviceHasPort(svc, port)) ctx.error(t, `/spec/metrics/${i}/provider/prometheus/address`, `Service "${svc.name}" has no port ${port}`);
      }
    });
  }
}

export function checkReferences(ctx) {
  for (const d of ctx.docs) if (isWorkload(d)) checkPodReferences(ctx, d);
  checkServices(ctx);
  checkRoutes(ctx);
  checkGateways(ctx);
  checkRbac(ctx);
  checkSecrets(ctx);
  checkMesh(ctx);
  checkNetworkPolicies(ctx);
  checkCoverage(ctx);
  checkRollouts(ctx);
  checkAnalysisTemplates(ctx);
}
