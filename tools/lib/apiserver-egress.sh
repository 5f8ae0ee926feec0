# shellcheck shell=bash
# Sourced by tools/cluster-up (and tools/cluster-scripts/test.sh).
#
# The NetworkPolicies of k8s/monitoring (Prometheus' pod discovery) and k8s/dev/vault
# (Vault's TokenReview) allow egress to the API server by port: 443, 6443 and 8443.
# Calico applies egress policy after the kubernetes Service's DNAT, so what must be
# allowed is the port of the API server's endpoints (8443 on minikube, 6443 on kubeadm,
# kind and k3s), not the Service's 443. This checks, on the live cluster, that the
# applied policy allows every port the API server's endpoints have, so a cluster whose
# API server listens elsewhere fails here instead of as silent discovery and secret-sync
# failures later.

# apiserver_endpoint_ports KUBECTL...: the API server's endpoint ports, space-separated.
apiserver_endpoint_ports() {
  "$@" -n default get endpointslices -l kubernetes.io/service-name=kubernetes \
    -o jsonpath='{range .items[*]}{range .ports[*]}{.port}{"\n"}{end}{end}' | sort -un | tr '\n' ' '
}

# policy_portonly_egress_ports NAMESPACE POLICY KUBECTL...: the TCP ports of the egress
# rules without peers (the API-server rules: any destination), space-separated.
policy_portonly_egress_ports() {
  local ns=$1 policy=$2
  shift 2
  "$@" -n "$ns" get networkpolicy "$policy" \
    -o jsonpath='{range .spec.egress[*]}{.to}{"|"}{range .ports[*]}{.protocol}/{.port}{" "}{end}{"\n"}{end}' |
    awk -F'|' '$1 == "" || $1 == "[]" { print $2 }' | tr ' ' '\n' | sed -n 's#^\(TCP\)\{0,1\}/\([0-9][0-9]*\)$#\2#p' | sort -un | tr '\n' ' '
}

# check_apiserver_egress NAMESPACE POLICY KUBECTL...: exit 0 when the policy allows every
# endpoint port of the API server; otherwise a message on stderr and exit 1.
check_apiserver_egress() {
  local ns=$1 policy=$2 endpoint allowed port missing=()
  shift 2
  endpoint=$(apiserver_endpoint_ports "$@") || return 1
  if [[ -z "${endpoint// /}" ]]; then
    echo "cannot read the API server's endpoint ports (EndpointSlices of service default/kubernetes)" >&2
    return 1
  fi
  allowed=$(policy_portonly_egress_ports "$ns" "$policy" "$@") || return 1
  allowed=${allowed% }
  for port in $endpoint; do
    [[ " $allowed " == *" $port "* ]] || missing+=("$port")
  done
  if ((${#missing[@]})); then
    echo "the API server listens on port ${missing[*]}, but NetworkPolicy $ns/$policy allows the API server only on ${allowed:-nothing}:" \
      "add the port to its API-server egress rule (and to config.yaml apiServerPorts of tools/manifest-validator)" >&2
    return 1
  fi
  echo "  NetworkPolicy $ns/$policy allows the API server's endpoint port ${endpoint% }"
}
