#!/usr/bin/env bash
# Tests of tools/validate-manifests (k8s/ must pass, every fixture must fail with its
# expected message). Self-contained: installs yamllint, promtool and amtool (Debian
# packages yamllint, prometheus, prometheus-alertmanager) when missing, and the pinned npm
# packages when needed.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

missing=()
command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "manifest-validator tests need: ${missing[*]} (apt-get install, as root)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  # The prometheus packages ship services; never start them on a build machine.
  policy=/usr/sbin/policy-rc.d
  created_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/manifest-validator-apt.log 2>&1; then
    cat /tmp/manifest-validator-apt.log >&2
    [[ -n $created_policy ]] && rm -f "$policy"
    echo "manifest-validator: could not install ${missing[*]}" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  [[ -n $created_policy ]] && rm -f "$policy"
fi

# Installs the npm packages if needed (same logic as the validator itself), quietly.
if ! "$here/../validate-manifests" --help >/dev/null; then
  echo "0 passed, 1 failed"
  exit 1
fi

exec node "$here/test.mjs"
