#!/usr/bin/env bash
# Tests of the cluster scripts, which cannot reach a cluster here:
#   tools/cluster-up --dry-run   the plan: pinned versions, static CPU manager, the plugin
#                                registration with its checksum, k8s/ applied in order,
#                                the API-server egress checks, and no tool invoked;
#   tools/lib/apiserver-egress.sh (cluster-up's check, after applying the policies) against
#                                the NetworkPolicies of k8s/ as kubectl would return them:
#                                an API server on 443, 6443 or 8443 (minikube) is allowed
#                                for Prometheus and Vault; 9443, a port allowed only to
#                                other peers, or a policy without 8443 fails on minikube;
#   tools/canary-live --dry-run  the single patch (image or digest, SERVICE_VERSION and the
#                                canonical-revision label of the Rollout and of its pods),
#                                applied to the Rollouts of k8s/ with and without the
#                                labels; the fault path;
#   tools/canary-live            against a stub kubectl that replays Rollout states: exit 0
#                                promoted, 10 aborted, 11 paused inconclusive, 1 timeout;
#                                a stale (unobserved) status is never taken for promotion;
#                                faults reach a fake admin port with the bearer token from
#                                the Secret, and are cleared on exit; --load-image replaces
#                                the load generator's image in the AnalysisTemplates and,
#                                in the same patch as the service image, in the Rollout.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1
export LC_ALL=C.UTF-8

passed=0
failed=0
check() {  # check NAME CONDITION-STATUS [DETAIL]
  if [[ "$2" -eq 0 ]]; then
    echo "PASS  $1"
    passed=$((passed + 1))
  else
    echo "FAIL  $1"
    [[ -n "${3:-}" ]] && printf '%s\n' "$3" | tail -n 30 | sed 's/^/      /'
    failed=$((failed + 1))
  fi
}

work="$(mktemp -d)"
admin_pid=
cleanup() {
  [[ -n "$admin_pid" ]] && kill "$admin_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Stubs: every cluster tool logs its call; kubectl replays Rollout states.
stubs="$work/bin"
mkdir -p "$stubs"
export STUB_LOG="$work/calls.log"
for tool in minikube helm docker istioctl; do
  # shellcheck disable=SC2016 # expanded when the stub runs
  printf '#!/usr/bin/env bash\necho "%s $*" >>"$STUB_LOG"\nexit 97\n' "$tool" >"$stubs/$tool"
done
cat >"$stubs/kubectl" <<'EOF'
#!/usr/bin/env bash
# Stub kubectl for tools/canary-live: STUB_STATES holds one Rollout state per line
# (generation|observed|phase|abort|currentPodHash|stableRS|step|weight|reasons|message);
# each status read returns the next line, the last one forever.
echo "kubectl $*" >>"$STUB_LOG"
args=" $* "
case "$args" in
  *" argo rollouts "*) exit 1 ;; # plugin not installed: the report falls back
  *" patch rollout "*) echo "rollout.argoproj.io/auth-service patched" ;;
  *" patch analysistemplate "*) echo "analysistemplate.argoproj.io/patched" ;;
  *" get analysistemplates "*) printf 'auth-service-load\nauth-service-gate-10\n' ;;
  *" get analysistemplate auth-service-load -o json "*)
    echo '{"metadata":{"name":"auth-service-load"},"spec":{"metrics":[{"provider":{"job":{"spec":{"template":{"spec":{"containers":[{"name":"authload","image":"ghcr.io/paystream/authload:0.1.0"}]}}}}}}]}}' ;;
  *" get analysistemplate "*"-o json "*) echo '{"spec":{"metrics":[{"name":"error-rate","provider":{"prometheus":{"query":"1"}}}]}}' ;;
  *" get rollout "*"-o name"*) echo "rollout.argoproj.io/auth-service" ;;
  *" get rollout "*"-o json "*)
    echo '{"spec":{"steps":[{"analysis":{"args":[{"name":"load-image","value":"ghcr.io/paystream/authload@sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}}],"template":{"spec":{"containers":[{"image":"ghcr.io/paystream/auth-service:0.1.0"}]}}}}' ;;
  *" get rollout "*"jsonpath="*)
    n=$(cat "$STUB_COUNTER" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" >"$STUB_COUNTER"
    total=$(wc -l <"$STUB_STATES")
    ((n > total)) && n=$total
    sed -n "${n}p" "$STUB_STATES" | tr -d '\n' ;;
  *" get rollout "*) echo "NAME           DESIRED   CURRENT" ;;
  *" get analysisruns "*) printf 'auth-service-7c9d-2-1  Failed  metric "error-rate" assessed Failed\n    error-rate: Failed (successful 0, failed 2, inconclusive 0, errors 0) last value [0.05]\n' ;;
  *" get pods "*) printf 'auth-service-7c9d-abcde|True\n' ;;
  *" get secret "*) printf '%s' "c3R1Yi1hZG1pbi10b2tlbg==" ;; # "stub-admin-token"
  *" port-forward "*) echo "Forwarding from 127.0.0.1:$STUB_ADMIN_PORT -> 8081"; sleep 30 ;;
  *" config current-context "*) echo stub ;;
  # The API server's endpoints: $STUB_APISERVER_PORTS. NetworkPolicies: as applied from
  # the manifests under $STUB_K8S, in the format of cluster-up's jsonpath.
  *" get endpointslices "*) printf '%s\n' $STUB_APISERVER_PORTS ;;
  *" get networkpolicy "*) python3 "$STUB_POLICY_PY" "$@" ;;
  *) echo "stub kubectl: unexpected call: $*" >&2; exit 98 ;;
esac
EOF
cat >"$work/policy.py" <<'EOF'
# kubectl -n NS get networkpolicy NAME -o jsonpath='{range .spec.egress[*]}{.to}{"|"}
#   {range .ports[*]}{.protocol}/{.port}{" "}{end}{"\n"}{end}', from the manifests.
import glob, json, os, sys, yaml
args = sys.argv[1:]
ns = args[args.index("-n") + 1]
name = args[args.index("networkpolicy") + 1]
for f in sorted(glob.glob(os.path.join(os.environ["STUB_K8S"], "**", "*.yaml"), recursive=True)):
    for d in yaml.safe_load_all(open(f)):
        if d and d.get("kind") == "NetworkPolicy" and d["metadata"]["name"] == name and d["metadata"].get("namespace") == ns:
            for r in d["spec"].get("egress") or []:
                to = json.dumps(r["to"], separators=(",", ":")) if "to" in r else ""
                ports = "".join(f"{p.get('protocol', '')}/{p.get('port', '')} " for p in r.get("ports") or [])
                print(f"{to}|{ports}")
            sys.exit(0)
print(f'Error from server (NotFound): networkpolicies.networking.k8s.io "{name}" not found', file=sys.stderr)
sys.exit(1)
EOF
export STUB_POLICY_PY="$work/policy.py"
chmod +x "$stubs"/*
export PATH="$stubs:$PATH"

calls() { [[ -f "$STUB_LOG" ]] && cat "$STUB_LOG"; }
reset_calls() { rm -f "$STUB_LOG" "$work/counter"; }

# --- cluster-up --dry-run ---------------------------------------------------------------
reset_calls
out="$(tools/cluster-up --dry-run 2>&1)"
status=$?
check "cluster-up --dry-run exits 0 and invokes no cluster tool" $((status != 0 || $(calls | wc -l) != 0)) "$out$(calls)"
missing=()
for want in "minikube start -p paystream" "--cpus=14" "--extra-config=kubelet.cpu-manager-policy=static" \
  "--extra-config=kubelet.reserved-cpus=0" "--cni=calico" "--kubernetes-version=v1.33.1" \
  "gateway-api/releases/download/v1.3.0/experimental-install.yaml" \
  "istio/istiod -n istio-system --version 1.26.0" "retryOn: connect-failure,refused-stream" \
  "cni.cniNetnsDir=/var/run/docker/netns" "istio/ztunnel" \
  "argo-rollouts/releases/download/v1.8.2/install.yaml" "name: argoproj-labs/gatewayAPI" \
  "sha256: 1904ca787d33107c140521899d61fff030ee75d99908bd175fca5a4647759061" \
  "sha256sum -c" "external-secrets/external-secrets" "--version 0.17.0" \
  "create secret generic vault-dev-root-token" "job/vault-init" "image build -t ghcr.io/paystream/auth-service:" \
  "image build -t ghcr.io/paystream/authload:0.1.0 -f Containerfile --build-opt=target=authload" \
  "image build -t ghcr.io/paystream/processor-sim:0.1.0 -f Containerfile --build-opt=target=processor-sim" \
  "-n processor-sim rollout status deployment/processor-sim" \
  "externalsecret/auth-service-secrets" "status auth-service -n paystream" \
  "get endpointslices -l kubernetes.io/service-name=kubernetes" "-n vault get networkpolicy vault" \
  "-n monitoring get networkpolicy prometheus" "externalsecret/alertmanager-receivers" \
  "-n redis wait --for=condition=Ready externalsecret/redis-auth" "-n redis rollout status deployment/redis"; do
  grep -qF -- "$want" <<<"$out" || missing+=("$want")
done
check "cluster-up plan names the pinned versions and every component" ${#missing[@]} "missing: ${missing[*]}"
order=()
for dir in dev/vault/ dev/redis/ monitoring/ istio-ingress/ processor-sim/ paystream-egress/ paystream-staging/ "paystream/"; do
  order+=("$(grep -n -- "apply -f $root/k8s/$dir\$" <<<"$out" | head -n 1 | cut -d: -f1)")
done
sorted="$(printf '%s\n' "${order[@]}" | sort -n | tr '\n' ' ')"
in_order=1
[[ "${order[*]}" != *" "" "* && -n "${order[0]}" && -n "${order[7]}" && "$sorted" == "${order[*]} " ]] && in_order=0
check "cluster-up applies k8s/ in order: dev/vault, dev/redis, monitoring, istio-ingress, processor-sim, paystream-egress, staging, production" $in_order "lines: ${order[*]}"
reset_calls
out="$(tools/cluster-up --dry-run --profile reduced 2>&1)"
scales=$(grep -c -- "scale rollout/auth-service --replicas=1" <<<"$out")
check "cluster-up --profile reduced: 8 CPUs, both Rollouts scaled to 1 replica" \
  $((scales != 2 || $(grep -c -- "--cpus=8" <<<"$out") != 1)) "$out"
out="$(tools/cluster-up --profile tiny 2>&1)"
status=$?
check "cluster-up rejects an unknown profile (exit 1, message)" $((status != 1)) "$out"

# --- API-server egress (tools/lib/apiserver-egress.sh, cluster-up's check) ---------------
# shellcheck source=SCRIPTDIR/../lib/apiserver-egress.sh
source "$root/tools/lib/apiserver-egress.sh"
export STUB_K8S="$root/k8s"
egress() {  # egress PORTS NAMESPACE POLICY: sets out and status
  out="$(STUB_APISERVER_PORTS="$1" check_apiserver_egress "$2" "$3" kubectl 2>&1)"
  status=$?
}
for port in 8443 6443 443; do
  for np in "monitoring prometheus" "vault vault"; do
    # shellcheck disable=SC2086 # namespace and name
    egress "$port" $np
    check "API-server egress: ${np/ //} allows an API server listening on $port" $status "$out"
  done
done
egress "6443 8443" vault vault
check "API-server egress: vault/vault allows an API server with endpoints on 6443 and 8443" $status "$out"
egress 9443 monitoring prometheus
ok=1
((status != 0)) && grep -qF "listens on port 9443" <<<"$out" && grep -qF "monitoring/prometheus" <<<"$out" && ok=0
check "API-server egress: an API server on 9443 fails, naming the port and the policy" $ok "$out"
egress 9093 monitoring prometheus
check "API-server egress: a port allowed only towards other pods (9093, Alertmanager) does not count" $((status == 0)) "$out"
mkdir -p "$work/k8s-443-6443"
cp -r k8s/dev k8s/monitoring "$work/k8s-443-6443/"
perl -0pi -e 's/        - protocol: TCP\n          port: 8443\n//g' "$work/k8s-443-6443"/monitoring/70-network-policies.yaml "$work/k8s-443-6443"/dev/vault/70-network-policies.yaml
STUB_K8S="$work/k8s-443-6443" egress 8443 vault vault
ok=1
((status != 0)) && grep -qF "listens on port 8443" <<<"$out" && ! grep -q "port: 8443" "$work/k8s-443-6443/dev/vault/70-network-policies.yaml" && ok=0
check "API-server egress: policies allowing only 443 and 6443 fail on minikube (8443)" $ok "$out"

# --- canary-live --dry-run ----------------------------------------------------------------
reset_calls
out="$(tools/canary-live --dry-run --tag sha-0123456789ab 2>&1)"
status=$?
patch_lines=$(grep -c -- "patch rollout auth-service --type=json" <<<"$out")
ok=1
if ((status == 0 && patch_lines == 1)) && [[ $(calls | wc -l) -eq 0 ]] &&
  grep -qF '{"op":"test","path":"/spec/template/spec/containers/0/env/0/name","value":"SERVICE_VERSION"},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"ghcr.io/paystream/auth-service:sha-0123456789ab"},{"op":"replace","path":"/spec/template/spec/containers/0/env/0/value","value":"sha-0123456789ab"},{"op":"add","path":"/metadata/labels/service.istio.io~1canonical-revision","value":"sha-0123456789ab"},{"op":"add","path":"/spec/template/metadata/labels/service.istio.io~1canonical-revision","value":"sha-0123456789ab"}]' <<<"$out"; then
  ok=0
fi
check "canary-live --dry-run: one patch sets image, SERVICE_VERSION and the canonical-revision label of the Rollout and its pods, nothing invoked" $ok "$out$(calls)"
# The plan's patch applied (RFC 6902) to the Rollouts of k8s/, as they are and without the
# release labels: both labels come out as the release, whether or not they existed.
cat >"$work/apply-patch.py" <<'EOF2'
import copy, json, re, sys, yaml
plan, manifest, strip = sys.argv[1], sys.argv[2], sys.argv[3] == "strip"
label = "service.istio.io/canonical-revision"
line = next(l for l in open(plan) if " patch rollout " in l)
ops = json.loads(re.search(r"-p '(.*)'\s*$", line).group(1))
doc = next(d for d in yaml.safe_load_all(open(manifest)) if d and d.get("kind") == "Rollout")
if strip:
    doc["metadata"]["labels"].pop(label, None)
    doc["spec"]["template"]["metadata"]["labels"].pop(label, None)
doc = copy.deepcopy(doc)
for op in ops:
    *parents, key = [t.replace("~1", "/").replace("~0", "~") for t in op["path"][1:].split("/")]
    node = doc
    for t in parents:
        node = node[int(t)] if isinstance(node, list) else node[t]  # KeyError: no parent
    k = int(key) if isinstance(node, list) else key
    if op["op"] == "test":
        assert node[k] == op["value"], f"test {op['path']} failed"
    elif op["op"] == "replace":
        assert isinstance(node, list) or key in node, f"replace {op['path']}: no such member"
        node[k] = op["value"]
    elif op["op"] == "add" and not isinstance(node, list):
        node[k] = op["value"]
    else:
        sys.exit(f"unsupported op {op}")
c = doc["spec"]["template"]["spec"]["containers"][0]
print(doc["metadata"]["labels"].get(label), doc["spec"]["template"]["metadata"]["labels"].get(label),
      c["env"][0]["name"], c["env"][0]["value"], c["image"])
EOF2
printf '%s\n' "$out" >"$work/plan.txt"
for manifest in k8s/paystream/90-rollout.yaml k8s/paystream-staging/90-rollout.yaml; do
  for variant in as-is strip; do
    applied="$(python3 "$work/apply-patch.py" "$work/plan.txt" "$manifest" "$variant" 2>&1)"
    want="sha-0123456789ab sha-0123456789ab SERVICE_VERSION sha-0123456789ab ghcr.io/paystream/auth-service:sha-0123456789ab"
    check "canary-live's patch applied to $manifest ($variant): both labels, SERVICE_VERSION and the image are the release" \
      "$([[ "$applied" == "$want" ]]; echo $?)" "got:  $applied"$'\n'"want: $want"
  done
done
digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
out="$(tools/canary-live --dry-run --tag sha-0123456789ab --image "ghcr.io/paystream/auth-service@$digest" 2>&1)"
ok=1
grep -qF '{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"ghcr.io/paystream/auth-service@'"$digest"'"}' <<<"$out" &&
  grep -qF '"path":"/spec/template/metadata/labels/service.istio.io~1canonical-revision","value":"sha-0123456789ab"' <<<"$out" && ok=0
check "canary-live --dry-run --image REPO@sha256:...: deploys the digest, the release in the label" $ok "$out"
out="$(tools/canary-live --dry-run --tag sha-0123456789ab --namespace paystream --scenario latency 2>&1)"
ok=1
grep -qF '{"enabled":true,"latency_ms":350,"jitter_ms":50}' <<<"$out" && grep -qF "port-forward pod/<canary pod> :8081" <<<"$out" &&
  grep -qF "secret auth-service-secrets" <<<"$out" && grep -qF "kubectl -n paystream patch" <<<"$out" && ok=0
check "canary-live --dry-run --scenario latency: fault through the admin port with the Secret's token" $ok "$out"
for bad in "--tag latest" "--tag sha-0123456789ab --scenario nope" "--tag sha-0123456789ab --fault notjson" "--bogus" \
  "--tag sha-0123456789ab --image ghcr.io/paystream/auth-service:sha-0123456789ab" \
  "--tag sha-0123456789ab --image ghcr.io/paystream/auth-service@sha256:0123" \
  "--tag sha-0123456789ab --load-image ghcr.io/paystream/authload" "--tag -sha-"; do
  # shellcheck disable=SC2086 # word splitting of the argument list is intended
  out="$(tools/canary-live --dry-run $bad 2>&1)"
  status=$?
  check "canary-live rejects '$bad' (exit 1)" $((status != 1)) "$out"
done

# --- canary-live against the stub ---------------------------------------------------------
export CANARY_LIVE_POLL_SECONDS=0.05
export STUB_COUNTER="$work/counter"
live() {  # live STATES... : run canary-live against these states; sets out and status
  printf '%s\n' "$@" >"$work/states"
  export STUB_STATES="$work/states"
  reset_calls
  local extra=()
  [[ -n "${LIVE_ARGS:-}" ]] && read -r -a extra <<<"$LIVE_ARGS"
  out="$(tools/canary-live --tag sha-0123456789ab --timeout "${LIVE_TIMEOUT:-20}" "${extra[@]}" 2>&1)"
  status=$?
}
progress='7|7|Progressing||c2|s1|1|10|||'
live '7|6|Healthy||s1|s1|6|0|||' "$progress" '7|7|Paused||c2|s1|5|100|||' '7|7|Healthy||c2|c2|6|0|||'
reads=$(cat "$STUB_COUNTER")
check "canary-live: promoted -> exit 0, only after the controller observed the patch" \
  $((status != 0 || reads != 4)) "status $status, reads $reads: $out"
patches=$(calls | grep -c "patch rollout auth-service --type=json")
check "canary-live: exactly one patch call" $((patches != 1)) "$(calls)"
live "$progress" '7|7|Degraded|true|c2|s1|1|0||RolloutAborted: metric "error-rate" assessed Failed'
ok=1
((status == 10)) && grep -q 'error-rate: Failed' <<<"$out" && grep -q "aborted" <<<"$out" && ok=0
check "canary-live: aborted -> exit 10, AnalysisRuns printed" $ok "status $status: $out"
live "$progress" '7|7|Paused||c2|s1|1|10|InconclusiveAnalysis|'
check "canary-live: paused by an inconclusive analysis -> exit 11" $((status != 11)) "status $status: $out"
LIVE_TIMEOUT=1 live "$progress"
check "canary-live: no outcome before --timeout -> exit 1" $((status != 1)) "status $status: $out"
load="ghcr.io/paystream/authload@sha256:1111111111111111111111111111111111111111111111111111111111111111"
LIVE_ARGS="--image ghcr.io/paystream/auth-service@$digest --load-image $load" live '7|7|Healthy||c2|c2|6|0|||'
template_patch="$(calls | grep "patch analysistemplate")"
rollout_patch="$(calls | grep "patch rollout")"
ok=1
((status == 0)) && [[ $(wc -l <<<"$template_patch") -eq 1 ]] &&
  grep -qF 'patch analysistemplate auth-service-load --type=json -p [{"op":"test","path":"/spec/metrics/0/provider/job/spec/template/spec/containers/0/image","value":"ghcr.io/paystream/authload:0.1.0"},{"op":"replace","path":"/spec/metrics/0/provider/job/spec/template/spec/containers/0/image","value":"'"$load"'"}]' <<<"$template_patch" &&
  [[ $(wc -l <<<"$rollout_patch") -eq 1 ]] &&
  grep -qF '"value":"ghcr.io/paystream/auth-service@'"$digest"'"' <<<"$rollout_patch" &&
  grep -qF '{"op":"replace","path":"/spec/steps/0/analysis/args/0/value","value":"'"$load"'"}' <<<"$rollout_patch" &&
  [[ "$(calls | grep -n "patch" | head -n 1)" == *"patch analysistemplate"* ]] && ok=0
check "canary-live --load-image: AnalysisTemplates patched first, the Rollout's reference in the one Rollout patch, by digest" $ok "status $status: $out$(calls)"

# Fault injection: a fake admin port records requests; like the service, it refuses a
# mutation that is not application/json (415).
cat >"$work/admin.py" <<'EOF'
import http.server, sys
log = open(sys.argv[1], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        kind = self.headers.get("Content-Type")
        log.write(f"{self.command} {self.path} {self.headers.get('Authorization')} {kind} {body}\n")
        self.send_response(200 if kind == "application/json" else 415)
        self.send_header("Content-Type", "application/json")
        self.end_headers(); self.wfile.write(b'{"fault_injection":{}}')
    do_POST = do_DELETE = handle_one
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$work/admin.py" "$work/admin.log" >"$work/admin.port" &
admin_pid=$!
for _ in $(seq 1 50); do [[ -s "$work/admin.port" ]] && break; sleep 0.1; done
export STUB_ADMIN_PORT
STUB_ADMIN_PORT=$(cat "$work/admin.port")
LIVE_ARGS="--scenario errors" live "$progress" "$progress" "$progress" '7|7|Degraded|true|c2|s1|1|0||RolloutAborted'
admin="$(cat "$work/admin.log" 2>/dev/null)"
ok=1
((status == 10)) &&
  grep -qxF 'POST /admin/fault-inject Bearer stub-admin-token application/json {"enabled":true,"error_rate":0.05}' <<<"$admin" &&
  grep -qxF 'DELETE /admin/fault-inject Bearer stub-admin-token application/json ' <<<"$admin" &&
  [[ $(grep -c '^POST' <<<"$admin") -eq 1 ]] && ! grep -q "stub-admin-token" <<<"$out" && ok=0
check "canary-live --scenario errors: fault posted once per canary pod with the Secret's token, cleared on exit, token never printed" \
  $ok "status $status; admin log: $admin; output: $out"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
