#!/usr/bin/env bash
# Tests of the canary analysis, the Prometheus rules and dashboard, the rehearsal and its
# mesh (run by tools/test; about 2.5 minutes):
#   1. promtool: every rule file of the rules ConfigMap checked, every group of
#      tools/rehearsal/rules-tests/ run with `promtool test rules`, coverage of every alert
#      (fires, silent, silent at zero traffic) and recording rule, alert annotations and
#      RUNBOOK.md anchors, every dashboard panel query through `promtool check rules`;
#   2. unit tests of the expr evaluator, the controller's rules and the mesh (node --test);
#   3. rehearsals against real processes (stable and canary calling one shared
#      paystream-processor-sim over HTTP): healthy -> promoted (exit 0), errors, crash
#      (the canary killed: its clients see it) and unrouted (the mesh sends it nothing) ->
#      aborted (10), no-traffic and shared-incident -> paused (11), each with its JSON
#      record, PNG timeline and every dashboard panel returning data; the mesh's counts
#      equal authload's own reports (every finished segment, status code by status code)
#      and what Prometheus scraped through the istio-waypoint and istio-gateway jobs
#      (labels, revisions); the abort report (time from the first client-visible
#      failure, failed requests) of an abort; the shared processor answered the calls, no
#      503 processor_busy (the pools are sized for the traffic), and shared-incident's
#      fault was put on the simulator and failed calls there.
#      The full scenario matrix: tools/canary-rehearsal --scenarios all --runs 3.
# Installs what is missing (Debian: prometheus, gnuplot-nox; npm: the validator's pinned
# packages) quietly, and builds the service and authload when needed.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit $?; }

# --- dependencies -------------------------------------------------------------------
missing=()
command -v promtool >/dev/null 2>&1 && [[ -x /usr/bin/prometheus ]] || missing+=(prometheus)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    fail "dependencies: need ${missing[*]} (apt-get install, as root)"
    finish
  fi
  # The prometheus package ships a service; never start it on a build machine.
  policy=/usr/sbin/policy-rc.d
  created_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/rehearsal-apt.log 2>&1; then
    tail -20 /tmp/rehearsal-apt.log
    [[ -n $created_policy ]] && rm -f "$policy"
    fail "dependencies: apt-get install ${missing[*]}"
    finish
  fi
  [[ -n $created_policy ]] && rm -f "$policy"
fi
if ! tools/validate-manifests --help >/dev/null; then
  fail "dependencies: tools/validate-manifests (Node.js >= 20, npm packages)"
  finish
fi

count_from() {  # count_from FILE: adds the "N passed, N failed" last line of FILE
  local last
  last=$(tail -n 1 "$1")
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    fail "$2: no result line"
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rehearsal-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- 1. promtool: rules, alerts, dashboard -------------------------------------------
node "$here/test/check-rules.mjs" >"$tmp/rules.out" 2>&1
grep -E '^FAIL' -A6 "$tmp/rules.out" | head -80
echo "rules: $(tail -n 1 "$tmp/rules.out")"
count_from "$tmp/rules.out" "rules checks"

# --- 2. unit tests ----------------------------------------------------------------------
# A failed test can leave its servers open: force the exit, and bound each test.
node --test --test-force-exit --test-timeout=120000 "$here"/test/*.test.mjs >"$tmp/unit.out" 2>&1
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/unit.out")
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/unit.out")
if [[ -z $p || -z $f ]]; then
  tail -30 "$tmp/unit.out"
  fail "unit tests: no summary"
else
  [[ $f -ne 0 ]] && grep -E '^not ok' -A12 "$tmp/unit.out" | head -60
  echo "unit tests (expr evaluator, controller rules, mesh): $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
fi

# --- 3. binaries --------------------------------------------------------------------------
# tools/test has just built build-test/ (release, same CPU baseline, benchmarks on) and
# names it in PAYSTREAM_BUILD_DIR: use it. Run alone: build-test/ when it is up to date,
# otherwise build build/ with tools/build.
pick() {  # pick DIR: sets authd, sim and authload from DIR if all exist
  authd="$1/svc/paystream-authd"
  sim="$1/svc/processor_sim/paystream-processor-sim"
  authload=""
  for c in "$1/bench/authload/authload" "$1/bench/authload"; do
    [[ -f $c && -x $c ]] && { authload=$c; break; }
  done
  [[ -x $authd && -x $sim && -n $authload ]]
}
if [[ -n ${PAYSTREAM_BUILD_DIR:-} ]] && pick "$PAYSTREAM_BUILD_DIR"; then
  echo "binaries: $PAYSTREAM_BUILD_DIR (PAYSTREAM_BUILD_DIR, built by tools/test)"
elif [[ -f build-test/build.ninja ]] && ninja -C build-test -n 2>/dev/null | grep -q "no work to do" && pick build-test; then
  echo "binaries: build-test/ (up to date)"
elif tools/build build -Dbenchmarks=true >"$tmp/build.log" 2>&1 && pick build; then
  echo "binaries: build/ (tools/build build -Dbenchmarks=true)"
else
  tail -30 "$tmp/build.log" 2>/dev/null
  fail "build: paystream-authd, paystream-processor-sim and authload"
  finish
fi

# --- 4. rehearsals --------------------------------------------------------------------------
# Two lanes run side by side (the matrix in docs/canary-rehearsal.md was taken the same
# way), balanced: healthy (about 85 s) then unrouted (20 s) in one, the other short
# scenarios (about 95 s together) one after another in the other.
# Each writes "EXIT SECONDS" to $tmp/SCENARIO.exit; the checks below read the results.
run_lane() {  # run_lane SCENARIO…
  local s t0
  for s in "$@"; do
    t0=$SECONDS
    tools/canary-rehearsal --scenario "$s" --authd "$authd" --processor-sim "$sim" \
      --authload "$authload" --out "$tmp/$s" >"$tmp/$s.log" 2>&1
    echo "$? $((SECONDS - t0))" >"$tmp/$s.exit"
  done
}

rehearse() {  # rehearse SCENARIO EXPECTED_EXIT EXPECTED_VERDICT (after the lanes ended)
  local s=$1 want=$2 out="$tmp/$1" code dt
  read -r code dt <"$tmp/$s.exit" || { code=1 dt=0; }
  local summary
  summary=$(grep -E 'ROLLOUT|fault to verdict' "$tmp/$s.log" | sed 's/^\[[^]]*\] //' | tr '\n' ' ')
  if [[ $code -eq $want ]]; then
    pass "rehearsal $s: exit $code in ${dt}s: $summary"
  else
    fail "rehearsal $s: exit $code, expected $want (${dt}s)"
    grep -v '^\[.*\]   ' "$tmp/$s.log" | tail -25
    return
  fi
  if node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const empty = r.dashboard.filter((d) => !d.series);
    const ok = r.verdict === process.argv[2] && r.dashboard.length > 0 && empty.length === 0 && r.relabeling && r.relabeling.mesh && r.runs.length > 0;
    if (!ok) console.log(JSON.stringify({ verdict: r.verdict, empty: empty.map((d) => d.panel) }));
    process.exit(ok ? 0 : 1);' "$out/rehearsal.json" "$3"; then
    pass "rehearsal $s: record says $3, relabeling verified (service, waypoint, gateway jobs), every dashboard panel returned data"
  else
    fail "rehearsal $s: record"
  fi
  # The mesh: its counts against authload's reports and Prometheus, both reporters, the
  # releases' canonical revisions; an abort's report.
  local mesh
  # shellcheck disable=SC2016 # the ${…} below are JavaScript template literals
  if mesh=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const c = r.meshCheck;
    const p = [];
    // unrouted: the mesh sends the canary nothing, so no client fails and it has no series.
    const unrouted = process.argv[3] === "unrouted";
    if (!c || !c.ok) p.push(`mesh check: ${c ? c.problems.join("; ") : "missing"}`);
    else {
      if (c.mesh.requests < 1000 || c.prometheus.requests !== c.mesh.requests) p.push(`requests: mesh ${c.mesh.requests}, Prometheus ${c.prometheus.requests}`);
      // Only a full rollout lets authload finish its 15 s segments; an early abort may end
      // them all, and then the mesh is compared with Prometheus alone.
      if (process.argv[2] === "promoted" && c.segmentsCompared < 1) p.push("no authload segment compared");
      if (!(c.mesh.byReporter.waypoint > 0 && c.mesh.byReporter.source > 0)) p.push("a reporter saw nothing");
      const revs = c.prometheus.byRevision.map((x) => `${x.destination_service_name}=${x.destination_canonical_revision}`);
      if (!revs.some((x) => x.startsWith("auth-service-stable=sha-"))) p.push(`no stable series with a sha- revision: ${revs}`);
      const canary = `auth-service-canary=${r.rollouts[0].release.revision}`;
      if (unrouted && revs.includes(canary)) p.push(`the unrouted canary has series: ${revs}`);
      if (!unrouted && process.argv[2] !== "paused" && !revs.includes(canary)) p.push(`no canary series with revision ${r.rollouts[0].release.revision}: ${revs}`);
    }
    if (process.argv[2] === "aborted" && !unrouted) {
      const a = r.abort;
      if (!a || typeof a.firstFailureToAbortS !== "number" || !(a.failedBeforeAbort > 0)) p.push(`abort report: ${JSON.stringify(a)}`);
    }
    if (p.length) { console.log(p.join("; ")); process.exit(1); }
    const a = r.abort && r.abort.firstFailureToAbortS !== null ? `; abort ${r.abort.firstFailureToAbortS.toFixed(0)} production s after the first client-visible failure, ${r.abort.failedBeforeAbort} failed requests` : "";
    console.log(`${c.mesh.requests} requests (waypoint ${c.mesh.byReporter.waypoint}, gateway ${c.mesh.byReporter.source}) = Prometheus; ${c.segmentsCompared} authload segment(s) equal${a}`);' "$out/rehearsal.json" "$3" "$s"); then
    pass "rehearsal $s: mesh: $mesh"
  else
    fail "rehearsal $s: mesh: $mesh"
  fi
  # The shared processor: it answered the calls of both versions, every pool kept up
  # (no 503 processor_busy), and a processor incident was injected there.
  local proc
  # shellcheck disable=SC2016 # the ${…} below are JavaScript template literals
  if proc=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const p = r.processor;
    const q = [];
    if (!p || !p.stats) q.push("no processor record");
    else {
      const st = p.stats;
      if (!(st.requests >= 1000 && st.executed > 0)) q.push(`the simulator saw ${st.requests} requests`);
      if (p.busy !== 0) q.push(`${p.busy} requests answered 503 processor_busy (pool ${p.pool.maxConnections}, queue ${p.pool.maxQueue})`);
      for (const [role, x] of Object.entries(p.services)) if (x.mode !== "http") q.push(`${role}: processor mode ${x.mode}`);
      if (!(p.services.stable && p.services.stable.calls.answered > 0)) q.push(`stable, processor calls: ${JSON.stringify(p.services.stable)}`);
      if (st.rejected) q.push(`${st.rejected} calls rejected by the simulator (400/401/422)`);
      const shared = process.argv[2] === "shared-incident";
      // 5% errors put on the simulator: the calls after it fail at about that rate.
      const f = p.sinceFault;
      if (shared && !(p.fault && r.faultOn === "processor" && f && f.requests >= 1000 && f.errors >= 0.03 * f.requests)) q.push(`processor incident: fault ${JSON.stringify(p.fault)}, since then ${JSON.stringify(f)}`);
      if (!shared && st.errors > 0.01 * st.requests) q.push(`${st.errors} processor errors of ${st.requests} without a processor fault`);
    }
    if (q.length) { console.log(q.join("; ")); process.exit(1); }
    const f = p.sinceFault;
    console.log(`${p.stats.requests} calls (${p.stats.errors} errors, ${p.stats.duplicates} duplicates), 0 processor_busy with ${p.pool.maxConnections} connections + ${p.pool.maxQueue} queued per service${f ? `; ${JSON.stringify(p.fault)} on the simulator: ${f.errors} errors in the ${f.requests} calls since` : ""}`);' "$out/rehearsal.json" "$s"); then
    pass "rehearsal $s: shared processor: $proc"
  else
    fail "rehearsal $s: shared processor: $proc"
  fi
  if [[ -s $out/timeline.png ]] && [[ $(head -c 4 "$out/timeline.png" | od -An -c | tr -d ' ') == "211PNG" ]]; then
    pass "rehearsal $s: PNG timeline"
  else
    fail "rehearsal $s: no PNG timeline"
  fi
}
run_lane healthy unrouted &
lane_long=$!
run_lane errors no-traffic crash shared-incident &
lane_short=$!
wait "$lane_long" "$lane_short"
rehearse healthy 0 promoted
rehearse errors 10 aborted
rehearse no-traffic 11 paused
rehearse crash 10 aborted
rehearse unrouted 10 aborted
rehearse shared-incident 11 paused

finish
