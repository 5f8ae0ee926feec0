// The rehearsal's Prometheus: Debian's /usr/bin/prometheus (no Kubernetes discovery),
// configured with the copy of the ConfigMap's prometheus.yml that
// tools/validate-manifests --emit-prometheus writes (kubernetes_sd_configs replaced by
// file_sd_configs, relabel_configs byte-identical), every interval divided by the time
// scale, and the rules ConfigMap's files with their windows divided likewise. Targets
// come through file_sd with the __meta_kubernetes_* labels pod discovery would set.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseDuration } from "./durations.mjs";
import { scaleRuleFile, repoRoot, YAML } from "./manifests.mjs";
import { startProcess, freePort, httpJson, sleep, stopProcess } from "./procs.mjs";

export function relabelBlock(text) {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => /^\s*relabel_configs:/.test(l));
  if (i < 0) return "";
  const ind = lines[i].length - lines[i].trimStart().length;
  let j = i + 1;
  while (j < lines.length && (lines[j].trim() === "" || lines[j].length - lines[j].trimStart().length > ind || lines[j].trimStart().startsWith("- ") && lines[j].length - lines[j].trimStart().length === ind)) j++;
  return lines.slice(i, j).join("\n");
}

function scaledDuration(d, scale) {
  const ms = Math.max(1, Math.round(parseDuration(d) / scale));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

// Emits and scales the configuration into dir; returns what the rehearsal needs.
export function prepareConfig({ dir, k8sDir, scale, configMapText }) {
  const r = spawnSync(path.join(repoRoot, "tools", "validate-manifests"), ["--emit-prometheus", dir, k8sDir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tools/validate-manifests --emit-prometheus failed:\n${r.stdout}${r.stderr}`);
  const file = path.join(dir, "prometheus.yml");
  const emitted = fs.readFileSync(file, "utf8");
  const parsed = YAML.parse(emitted);
  const jobs = (parsed.scrape_configs || []).map((j) => j.job_name);
  // Text edits of the interval lines only, so relabel_configs stay byte-identical.
  const scaled = emitted.replace(/^(\s*)(scrape_interval|scrape_timeout|evaluation_interval):(\s*)(\S+)(\s*)$/gm, (all, a, k, b, v, c) => `${a}${k}:${b}${scaledDuration(v, scale)}${c}`);
  const orig = relabelBlock(configMapText);
  if (!orig || relabelBlock(scaled) !== orig) throw new Error("internal: relabel_configs of the rehearsal's configuration differ from the ConfigMap's");
  fs.writeFileSync(file, scaled);
  const global = YAML.parse(scaled).global || {};
  // Rules: every file under dir/rules/, windows scaled.
  const rulesDir = path.join(dir, "rules");
  const ruleFiles = [];
  if (fs.existsSync(rulesDir))
    for (const sub of fs.readdirSync(rulesDir))
      for (const f of fs.readdirSync(path.join(rulesDir, sub))) {
        const p = path.join(rulesDir, sub, f);
        fs.writeFileSync(p, scaleRuleFile(fs.readFileSync(p, "utf8"), scale));
        ruleFiles.push(p);
      }
  const sdFile = (job) => path.join(dir, "file_sd", `${job}.json`);
  return {
    file,
    jobs,
    sdFile,
    ruleFiles,
    scrapeIntervalMs: parseDuration(global.scrape_interval || "1m"),
    evaluationIntervalMs: parseDuration(global.evaluation_interval || "1m"),
    relabel: orig,
  };
}

// What Kubernetes pod discovery (role: pod) produces: one target per container port.
export function podTargets(pod) {
  return pod.ports.map((port) => ({
    targets: [`127.0.0.1:${port.port}`],
    labels: {
      __meta_kubernetes_namespace: pod.namespace,
      __meta_kubernetes_pod_name: pod.name,
      __meta_kubernetes_pod_ip: "127.0.0.1",
      __meta_kubernetes_pod_uid: pod.uid,
      __meta_kubernetes_pod_phase: pod.phase,
      __meta_kubernetes_pod_ready: pod.phase === "Running" ? "true" : "false",
      __meta_kubernetes_pod_node_name: "rehearsal-node",
      __meta_kubernetes_pod_host_ip: "127.0.0.1",
      __meta_kubernetes_pod_controller_kind: "ReplicaSet",
      __meta_kubernetes_pod_controller_name: `${pod.app}-${pod.hash}`,
      __meta_kubernetes_pod_container_name: pod.container,
      __meta_kubernetes_pod_container_image: pod.image,
      __meta_kubernetes_pod_container_init: "false",
      __meta_kubernetes_pod_container_port_name: port.name,
      __meta_kubernetes_pod_container_port_number: String(port.containerPort),
      __meta_kubernetes_pod_container_port_protocol: "TCP",
      __meta_kubernetes_pod_label_app_kubernetes_io_name: pod.app,
      __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: "true",
      __meta_kubernetes_pod_label_app_kubernetes_io_part_of: "paystream",
      __meta_kubernetes_pod_labelpresent_app_kubernetes_io_part_of: "true",
      __meta_kubernetes_pod_label_app_kubernetes_io_component: "api",
      __meta_kubernetes_pod_labelpresent_app_kubernetes_io_component: "true",
      __meta_kubernetes_pod_label_rollouts_pod_template_hash: pod.hash,
      __meta_kubernetes_pod_labelpresent_rollouts_pod_template_hash: "true",
      ...(pod.revision
        ? { __meta_kubernetes_pod_label_service_istio_io_canonical_revision: pod.revision, __meta_kubernetes_pod_labelpresent_service_istio_io_canonical_revision: "true" }
        : {}),
    },
  }));
}

// A pod Istio generates from a Gateway (the waypoint of a namespace, the ingress
// gateway): container istio-proxy with the ports of Istio's gateway template (15020
// metrics, the merged Prometheus endpoint; 15021 status; 15090 Envoy's own stats), the
// labels Istio puts on it. Port 15020 is the mesh's metrics port for this reporter; the
// other two point nowhere (relabeling must drop them).
export function meshPodTargets(pod) {
  const ports = [
    { name: "metrics", containerPort: 15020, port: pod.metricsPort },
    { name: "status-port", containerPort: 15021, port: 9 },
    { name: "http-envoy-prom", containerPort: 15090, port: 9 },
  ];
  const label = (k, v) => ({ [`__meta_kubernetes_pod_label_${k}`]: v, [`__meta_kubernetes_pod_labelpresent_${k}`]: "true" });
  return ports.map((port) => ({
    targets: [`127.0.0.1:${port.port}`],
    labels: {
      __meta_kubernetes_namespace: pod.namespace,
      __meta_kubernetes_pod_name: pod.name,
      __meta_kubernetes_pod_ip: "127.0.0.1",
      __meta_kubernetes_pod_uid: pod.uid || `${pod.name}-uid`,
      __meta_kubernetes_pod_phase: "Running",
      __meta_kubernetes_pod_ready: "true",
      __meta_kubernetes_pod_node_name: "rehearsal-node",
      __meta_kubernetes_pod_host_ip: "127.0.0.1",
      __meta_kubernetes_pod_controller_kind: "ReplicaSet",
      __meta_kubernetes_pod_controller_name: pod.name.replace(/-[a-z0-9]+$/, ""),
      __meta_kubernetes_pod_container_name: "istio-proxy",
      __meta_kubernetes_pod_container_image: "docker.io/istio/proxyv2:1.25.2",
      __meta_kubernetes_pod_container_init: "false",
      __meta_kubernetes_pod_container_port_name: port.name,
      __meta_kubernetes_pod_container_port_number: String(port.containerPort),
      __meta_kubernetes_pod_container_port_protocol: "TCP",
      ...label("gateway_networking_k8s_io_gateway_name", pod.gateway),
      ...label("gateway_networking_k8s_io_gateway_class_name", pod.gatewayClass),
      ...label("istio_io_gateway_name", pod.gateway),
      ...label("service_istio_io_canonical_name", pod.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, "")),
      ...label("service_istio_io_canonical_revision", "latest"),
      ...label("sidecar_istio_io_inject", "false"),
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: "true",
      __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: "true",
      __meta_kubernetes_pod_annotation_prometheus_io_port: "15020",
      __meta_kubernetes_pod_annotationpresent_prometheus_io_port: "true",
      __meta_kubernetes_pod_annotation_prometheus_io_path: "/stats/prometheus",
      __meta_kubernetes_pod_annotationpresent_prometheus_io_path: "true",
    },
  }));
}

export class Prometheus {
  constructor({ dir, config, scale, logFile }) {
    Object.assign(this, { dir, config, scale, logFile });
  }

  async start() {
    const bin = process.env.PROMETHEUS || "/usr/bin/prometheus";
    if (!fs.existsSync(bin)) throw new Error(`${bin} not found (Debian package "prometheus")`);
    const lookback = scaledDuration("5m", this.scale);
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      this.url = `http://127.0.0.1:${this.port}`;
      this.proc = startProcess("prometheus", bin, [
        `--config.file=${this.config.file}`,
        `--storage.tsdb.path=${path.join(this.dir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        `--query.lookback-delta=${lookback}`,
        "--storage.tsdb.retention.time=1d",
        "--log.level=warn",
      ], { logFile: this.logFile });
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline && !this.proc.exited) {
        try {
          const r = await httpJson(`${this.url}/-/ready`, { timeoutMs: 1000 });
          if (r.status === 200) return this;
        } catch {
          /* not yet */
        }
        await sleep(100);
      }
      const bound = this.proc.lines.some((l) => /address already in use/.test(l));
      await stopProcess(this.proc);
      if (!bound) throw new Error(`Prometheus did not become ready; log: ${this.logFile}\n${this.proc.lines.slice(-10).join("\n")}`);
    }
    throw new Error("Prometheus: no free port");
  }

  writeTargets(job, groups) {
    const f = this.config.sdFile(job);
    const tmp = `${f}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(groups, null, 2));
    fs.renameSync(tmp, f);
  }

  // Instant query. Returns {resultType, result}; throws on HTTP or API error.
  async query(expr, { timeoutMs = 10000, time } = {}) {
    const params = new URLSearchParams({ query: expr });
    if (time) params.set("time", String(time / 1000));
    params.set("timeout", `${Math.max(1, Math.floor(timeoutMs / 1000))}s`);
    const r = await httpJson(`${this.url}/api/v1/query?${params}`, { timeoutMs });
    if (!r.json) throw new Error(`Prometheus answered HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    if (r.json.status !== "success") throw new Error(`Prometheus: ${r.json.errorType || "error"}: ${r.json.error || r.text.slice(0, 200)}`);
    return r.json.data;
  }

  async targets() {
    const r = await httpJson(`${this.url}/api/v1/targets?state=any`);
    return r.json && r.json.data;
  }

  async alerts() {
    const r = await httpJson(`${this.url}/api/v1/alerts`);
    return (r.json && r.json.data && r.json.data.alerts) || [];
  }

  async stop() {
    await stopProcess(this.proc);
  }
}

// Prometheus sample value strings -> numbers ("NaN", "+Inf", "-Inf" included).
export function sampleValue(s) {
  if (s === "NaN") return NaN;
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s);
}

// The metric provider's view of a query answer (Argo's processResponse): a vector is an
// array of its sample values, a scalar a number; anything else is an error.
export function providerResult(data) {
  if (data.resultType === "vector") {
    const result = data.result.map((s) => sampleValue(s.value[1]));
    return { result, value: `[${data.result.map((s) => s.value[1]).join(",")}]`, series: data.result.map((s) => s.metric) };
  }
  if (data.resultType === "scalar") return { result: sampleValue(data.result[1]), value: data.result[1], series: [] };
  throw new Error("Prometheus metric type not supported");
}
