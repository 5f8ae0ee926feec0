#!/usr/bin/env bash
# Runtime-image check, without a container engine: proves that the Containerfile's three
# runtime stages, `runtime` (paystream-authd, the default target), `authload` (the load
# generator) and `processor-sim` (the simulated processor, staging's), hold everything
# their binary needs, and nothing the check cannot see.
#
#   1. Reads the Containerfile (runtime_stage.py): each runtime stage may only COPY files
#      from the build stage (plus USER, EXPOSE, LABEL, ...); its base must be the one
#      named in distroless-cc-packages.txt.
#   2. Builds the release binaries as the image does (tools/build build, production flags).
#   3. Builds a root filesystem from the Debian packages of the distroless cc base
#      (distroless-cc-packages.txt; `apt-get download`, cached in build/image-check/debs,
#      unpacked with `dpkg-deb -x`) and the distroless nonroot user, one copy per stage,
#      plus exactly the files that stage copies (the build stage's /src is this checkout;
#      its /usr/lib/... are this Debian 12 machine's, the same packages tools/deps installs).
#   4. In new mount, PID and network namespaces (unshare; loopback only): the root
#      filesystem read-only, /proc and /sys bind-mounted read-only, tmpfs /tmp and the
#      secret volume as in the pod; runs `paystream-authd --version` and serves as UID
#      65532 via chroot: /livez, /readyz, POST /v1/authorize, the admin listener, SIGTERM;
#      `authload --help` in the authload root filesystem and `paystream-processor-sim
#      --help` in the processor-sim one.
#
# Where namespaces cannot be created (no permission) the run checks are reported as SKIP,
# which counts as a failure when CI=true. Last line: "N passed, N failed"; exit status
# non-zero on any failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root" || exit 1
export LC_ALL=C.UTF-8

containerfile="${IMAGE_CHECK_CONTAINERFILE:-$root/Containerfile}" # override: tests of this check
packages_file="$here/distroless-cc-packages.txt"
work="$root/build/image-check"
debs="$work/debs"
rootfs="$work/rootfs"
authload_rootfs="$work/rootfs-authload"
sim_rootfs="$work/rootfs-processor-sim"
# tools/test passes its release build (the production flags) in PAYSTREAM_BUILD_DIR;
# run alone, this builds build/ as the image does.
build_dir="${PAYSTREAM_BUILD_DIR:-$root/build}"
binary="$build_dir/svc/paystream-authd"

passed=0
failed=0
pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1${2:+: $2}"; failed=$((failed + 1)); }
skip() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "SKIP  $1 (counts as a failure: CI=true)"
    failed=$((failed + 1))
  else
    echo "SKIP  $1"
  fi
}
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

# --- 1. The Containerfile --------------------------------------------------------------
if cmp -s "$root/.containerignore" "$root/.dockerignore"; then
  pass ".dockerignore is identical to .containerignore"
else
  fail ".dockerignore differs from .containerignore" "Docker reads one, Podman the other: cp .containerignore .dockerignore"
fi

if ! stage="$(python3 "$here/runtime_stage.py" "$containerfile" 2>&1)"; then
  fail "Containerfile parses" "$stage"
  finish
fi
field() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' <<<"$stage"; }
errors="$(field error)"
if [[ -n "$errors" ]]; then
  fail "runtime stage is reproducible by this check" "$errors"
  finish
fi
pass "runtime stage only copies files from the build stage"

base="$(field base)"
want_base="$(sed -n 's/^# base: *//p' "$packages_file" | head -n 1)"
if [[ -n "$base" && "$base" == "$want_base" ]]; then
  pass "runtime base is $base, the package set in $(basename "$packages_file")"
else
  fail "runtime base matches $(basename "$packages_file")" "Containerfile: '$base', package list: '$want_base'"
fi

build_runs="$(field build)"
# shellcheck disable=SC2016 # the literal "$REVISION" of the Containerfile is what is wanted
if grep -q '^tools/deps' <<<"$build_runs" &&
  grep -qF 'tools/build build -Drevision="$REVISION" -Dtests=false -Dbenchmarks=true' <<<"$build_runs" &&
  grep -qF 'build/svc/processor_sim/paystream-processor-sim --help' <<<"$build_runs"; then
  pass "build stage runs tools/deps and tools/build with -Drevision=\$REVISION (production flags, authload included) and starts the simulator"
else
  fail "build stage uses tools/deps and tools/build build -Drevision=\"\$REVISION\" -Dtests=false -Dbenchmarks=true and runs build/svc/processor_sim/paystream-processor-sim --help"
fi

meta_problems=()
[[ "$(field user)" == "65532:65532" ]] || meta_problems+=("USER is '$(field user)', want 65532:65532")
exposed=" $(field expose | tr '\n' ' ')"
for port in 8080 8081; do
  [[ "$exposed" == *" $port "* ]] || meta_problems+=("EXPOSE lacks $port")
done
for key in source revision version; do
  field label | grep -q "^org.opencontainers.image.$key$" || meta_problems+=("no LABEL org.opencontainers.image.$key")
done
# shellcheck disable=SC2016
[[ "$(awk -F'\t' '$1 == "label" && $2 == "org.opencontainers.image.revision" { print $3 }' <<<"$stage")" == '$REVISION' ]] ||
  meta_problems+=("org.opencontainers.image.revision is not \$REVISION")
entrypoint="$(field entrypoint)"
entry_bin="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0])' "$entrypoint" 2>/dev/null)"
if ((${#meta_problems[@]} == 0)) && [[ -n "$entry_bin" ]]; then
  pass "USER 65532:65532, EXPOSE 8080 8081, OCI labels, exec-form ENTRYPOINT $entry_bin"
else
  fail "image metadata" "${meta_problems[*]:-no exec-form ENTRYPOINT}"
fi

# The other runtime stages: the same base and user, only files from the build stage, OCI
# labels, the binary at the ENTRYPOINT the workloads run.
#   check_stage STAGE ENTRY WHAT      sets the stage's records in stage_records
check_stage() {
  local name=$1 entry=$2 what=$3 rec
  stage_records=
  if ! grep -qx $'stage\t'"$name" <<<"$stage"; then
    fail "Containerfile has a $name stage ($what)"
    return 1
  fi
  if ! rec="$(python3 "$here/runtime_stage.py" "$containerfile" "$name" 2>&1)"; then
    fail "Containerfile parses ($name stage)" "$rec"
    return 1
  fi
  sfield() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' <<<"$rec"; }
  local problems=()
  [[ -z "$(sfield error)" ]] || problems+=("$(sfield error | tr '\n' ' ')")
  [[ "$(sfield base)" == "$want_base" ]] || problems+=("base is '$(sfield base)', want '$want_base'")
  [[ "$(sfield user)" == "65532:65532" ]] || problems+=("USER is '$(sfield user)', want 65532:65532")
  for key in source revision version; do
    sfield label | grep -q "^org.opencontainers.image.$key$" || problems+=("no LABEL org.opencontainers.image.$key")
  done
  [[ "$(sfield entrypoint)" == "[\"$entry\"]" ]] || problems+=("ENTRYPOINT is '$(sfield entrypoint)', want [\"$entry\"]")
  if ((${#problems[@]} == 0)); then
    pass "$name stage: only files from the build stage, base $want_base, USER 65532:65532, OCI labels, ENTRYPOINT $entry"
    stage_records=$rec
  else
    fail "$name stage" "${problems[*]}"
    return 1
  fi
}
# The load Job runs /usr/local/bin/authload; k8s/processor-sim runs the image's ENTRYPOINT.
authload_entry=/usr/local/bin/authload
sim_entry=/usr/local/bin/paystream-processor-sim
check_stage authload "$authload_entry" "the load generator's image" || finish
astage=$stage_records
check_stage processor-sim "$sim_entry" "the simulated processor's image" || finish
sstage=$stage_records
if grep -qx $'expose\t9090' <<<"$sstage"; then
  pass "processor-sim stage: EXPOSE 9090 (the simulator's public port)"
else
  fail "processor-sim stage: EXPOSE 9090 (the simulator's public port)"
fi

# --- 2. The release binary, as the image builds it ---------------------------------------
if [[ -n "${PAYSTREAM_BUILD_DIR:-}" ]]; then
  out="using $binary"
elif ! out="$(tools/build build -Dtests=false -Dbenchmarks=true 2>&1)"; then
  out="tools/build failed: $out"
fi
if [[ ! -x "$binary" ]]; then
  fail "release build (tools/build build)" "$(tail -n 20 <<<"$out")"
  finish
fi

# --- 3. The root filesystem ---------------------------------------------------------------
mkdir -p "$debs"
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$packages_file" | grep -v '^$')
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
updated=
fetch_problems=()
deb_files=()
for pkg in "${packages[@]}"; do
  version="$(candidate "$pkg")"
  if [[ ( -z "$version" || "$version" == "(none)" ) && -z "$updated" ]]; then
    apt-get update -qq >/dev/null 2>&1 || true # a fresh container has no package lists
    updated=1
    version="$(candidate "$pkg")"
  fi
  deb=
  if [[ -n "$version" && "$version" != "(none)" ]]; then
    shopt -s nullglob
    cached=("$debs/${pkg}_${version//:/%3a}_"*.deb)
    shopt -u nullglob
    if ((${#cached[@]})); then
      deb="${cached[0]}"
    elif (cd "$debs" && apt-get download -qq "$pkg=$version" >/dev/null 2>&1); then
      shopt -s nullglob
      cached=("$debs/${pkg}_${version//:/%3a}_"*.deb)
      shopt -u nullglob
      deb="${cached[0]:-}"
      # Keep one version per package in the cache.
      for old in "$debs/${pkg}_"*.deb; do
        [[ "$old" == "$deb" ]] || rm -f "$old"
      done
    fi
  fi
  if [[ -z "$deb" ]]; then
    # Offline: fall back to a cached older version rather than failing.
    shopt -s nullglob
    cached=("$debs/${pkg}_"*.deb)
    shopt -u nullglob
    deb="${cached[0]:-}"
  fi
  if [[ -n "$deb" ]]; then
    deb_files+=("$deb")
  else
    fetch_problems+=("$pkg")
  fi
done
if ((${#fetch_problems[@]})); then
  fail "download the distroless cc packages" "apt-get download failed for: ${fetch_problems[*]}"
  finish
fi

rm -rf "$rootfs"
mkdir -p "$rootfs"
unpack_problems=()
for deb in "${deb_files[@]}"; do
  dpkg-deb -x "$deb" "$rootfs" 2>/dev/null || unpack_problems+=("$(basename "$deb")")
done
# What distroless adds to its packages: the users (root, nobody, nonroot 65532) and
# nonroot's home; /tmp is world-writable (and a tmpfs in the pod).
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$rootfs/etc/group"
mkdir -p "$rootfs/home/nonroot" "$rootfs/tmp"
chown 65532:65532 "$rootfs/home/nonroot" 2>/dev/null || true
chmod 1777 "$rootfs/tmp"
libdirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib)

# The authload and processor-sim images start from the same base: copies made before
# anything is added.
rm -rf "$authload_rootfs" "$sim_rootfs"
cp -a "$rootfs" "$authload_rootfs"
cp -a "$rootfs" "$sim_rootfs"

# Base libraries, before anything is copied: a copied library must not shadow one of them.
declare -A base_libs=()
for d in "${libdirs[@]}"; do
  for f in "$rootfs/$d"/*.so*; do
    [[ -e "$f" ]] && base_libs["$(basename "$f")"]=1
  done
done

# populate STAGE_RECORDS ROOTFS: copies exactly what the stage's COPY lines copy; sets
# copied, copy_problems and shadowed.
populate() {
  local records=$1 fs=$2 src dest host
  copy_problems=()
  copied=()
  shadowed=()
  while IFS=$'\t' read -r _ src dest; do
    case "$src" in
      # The build stage's WORKDIR is this checkout, and its build/ is our release build.
      /src/build/*) host="$build_dir/${src#/src/build/}" ;;
      /src/*) host="$root/${src#/src/}" ;;
      *) host="$src" ;;                    # the build stage's system files: this Debian 12
    esac
    if [[ ! -f "$host" ]]; then
      copy_problems+=("$src (looked for $host)")
      continue
    fi
    [[ -n "${base_libs[$(basename "$dest")]:-}" ]] && shadowed+=("$dest")
    mkdir -p "$fs$(dirname "$dest")"
    # COPY follows a symlink source: the file lands under the link's name.
    cp -L --preserve=mode "$host" "$fs$dest"
    copied+=("$dest")
  done < <(awk -F'\t' '$1 == "copy"' <<<"$records")
}

# Every library a binary needs (recursively) resolves inside the root filesystem; copied
# libraries that nothing needs are reported (not a failure: a library can be copied ahead
# of the code that links it).
needed_of() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
resolve() {  # resolve ROOTFS SONAME
  local d
  for d in "${libdirs[@]}"; do
    if [[ -e "$1/$d/$2" ]]; then
      echo "$1/$d/$2"
      return 0
    fi
  done
  return 1
}
# check_image NAME ROOTFS ENTRY: the entry binary is there, no shell, no shadowed base
# library, every needed library resolves. Uses copied and shadowed from populate.
check_image() {
  local name=$1 fs=$2 entry=$3 sh obj soname path dest lib
  if [[ ! -x "$fs$entry" ]]; then
    fail "$name: ENTRYPOINT $entry is in the image"
    return 1
  fi
  local shells=()
  for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash bin/busybox; do
    [[ -e "$fs/$sh" || -L "$fs/$sh" ]] && shells+=("/$sh")
  done
  if ((${#shells[@]} == 0)) && ((${#shadowed[@]} == 0)); then
    pass "$name: no shell in the image; no copied library shadows one of the base"
  else
    fail "$name: no shell, no shadowed base library" "shells: ${shells[*]:-none}; shadowed: ${shadowed[*]:-none}"
  fi
  local -A seen=()
  local queue=("$fs$entry") unresolved=()
  while ((${#queue[@]})); do
    obj="${queue[0]}"
    queue=("${queue[@]:1}")
    while read -r soname; do
      [[ -z "$soname" || -n "${seen[$soname]:-}" ]] && continue
      seen["$soname"]=1
      if path="$(resolve "$fs" "$soname")"; then
        queue+=("$path")
      else
        unresolved+=("$soname")
      fi
    done < <(needed_of "$obj")
  done
  if ((${#unresolved[@]} == 0)); then
    pass "$name: every shared library the binary needs is in the image (${#seen[@]} sonames)"
  else
    fail "$name: shared libraries missing from the image" "${unresolved[*]}"
  fi
  for dest in "${copied[@]}"; do
    lib="$(basename "$dest")"
    [[ "$lib" == *.so* && -z "${seen[$lib]:-}" ]] && echo "note: $name: $dest is copied but this binary does not need it"
  done
  return 0
}

populate "$stage" "$rootfs"
if ((${#unpack_problems[@]} + ${#copy_problems[@]})); then
  fail "root filesystem" "unpack: ${unpack_problems[*]:-ok}; copy: ${copy_problems[*]:-ok}"
  finish
fi
pass "root filesystem: ${#deb_files[@]} packages + ${#copied[@]} files from the runtime stage's COPY lines"
check_image paystream-authd "$rootfs" "$entry_bin" || finish

populate "$astage" "$authload_rootfs"
if ((${#copy_problems[@]})); then
  fail "authload root filesystem" "copy: ${copy_problems[*]}"
  finish
fi
pass "authload root filesystem: the same packages + ${#copied[@]} files from the authload stage's COPY lines"
check_image authload "$authload_rootfs" "$authload_entry" || finish

populate "$sstage" "$sim_rootfs"
if ((${#copy_problems[@]})); then
  fail "processor-sim root filesystem" "copy: ${copy_problems[*]}"
  finish
fi
pass "processor-sim root filesystem: the same packages + ${#copied[@]} files from the processor-sim stage's COPY lines"
check_image paystream-processor-sim "$sim_rootfs" "$sim_entry" || finish

# --- 4. Run it --------------------------------------------------------------------------
if [[ $(id -u) -eq 0 ]]; then
  ns_args=(--mount --pid --net --fork --mount-proc)
  userspec=(--userspec=65532:65532)
else
  # Unprivileged: a user namespace maps us to root inside (the server then runs as
  # that mapped root, not 65532).
  ns_args=(--user --map-root-user --mount --pid --net --fork --mount-proc)
  userspec=()
fi
if ! command -v unshare >/dev/null 2>&1 || ! unshare "${ns_args[@]}" true >/dev/null 2>&1; then
  skip "run paystream-authd in the image root filesystem (cannot create namespaces here)"
  finish
fi
for tool in ip curl chroot; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    fail "run checks need '$tool'" "tools/deps --test installs iproute2, curl and coreutils"
    finish
  fi
done

# The pod's secret volume mount point (the kubelet creates it in the real pod).
mkdir -p "$rootfs/var/run/secrets/paystream"

# Runs inside the namespaces; prints PASS/FAIL lines that are counted below.
# shellcheck disable=SC2016 # expanded by the inner shell
inner='
set -u
r=$ROOTFS
ok() { echo "PASS  $1"; }
ko() { echo "FAIL  $1${2:+: $2}"; }
ip link set lo up || { ko "loopback up in the new network namespace"; exit 0; }
ro_bind() { mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"; }
# Root filesystem read-only (readOnlyRootFilesystem), /proc and /sys read-only binds.
ro_bind "$r" "$r" && ro_bind /proc "$r/proc" && ro_bind /sys "$r/sys" || { ko "mounts"; exit 0; }
if mountpoint -q /sys/fs/cgroup; then ro_bind /sys/fs/cgroup "$r/sys/fs/cgroup" || { ko "cgroup mount"; exit 0; }; fi
# What the container runtime and the pod provide: a minimal /dev, /tmp (emptyDir), the
# secret volume (0440, group 65532 as with fsGroup).
mount -t tmpfs -o mode=755,size=64k tmpfs "$r/dev" || { ko "/dev"; exit 0; }
for n in null zero random urandom; do touch "$r/dev/$n" && mount --bind "/dev/$n" "$r/dev/$n"; done
mount -t tmpfs -o mode=1777,size=16m tmpfs "$r/tmp"
mount -t tmpfs -o mode=755,size=64k tmpfs "$r/var/run/secrets/paystream"
printf "image-check-token\n" >"$r/var/run/secrets/paystream/ADMIN_TOKEN"
chgrp 65532 "$r/var/run/secrets/paystream/ADMIN_TOKEN"; chmod 0440 "$r/var/run/secrets/paystream/ADMIN_TOKEN"

version=$(env -i "$CHROOT" $USERSPEC "$r" "$BIN" --version 2>&1)
if [[ "$version" =~ ^paystream-authd\ [0-9][0-9A-Za-z.+~-]*\ \(revision\ [0-9a-f]{7,40}\)$ ]]; then
  ok "--version in the image: $version"
else
  ko "--version in the image prints version and a known revision" "$version"
fi

env -i PORT=8080 ADMIN_PORT=8081 BIND_ADDR=0.0.0.0 ADMIN_BIND_ADDR=0.0.0.0 \
  ADMIN_TOKEN_FILE=/var/run/secrets/paystream/ADMIN_TOKEN SERVICE_VERSION=image-check \
  LATENCY_BASE_MS=5 LATENCY_JITTER_MS=0 DRAIN_TIMEOUT_MS=5000 LOG_LEVEL=info \
  "$CHROOT" $USERSPEC "$r" "$BIN" 2>"$LOG" &
pid=$!
code=
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 1 http://127.0.0.1:8080/readyz)
  [[ "$code" == 200 ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ "$code" != 200 ]]; then
  ko "serves in the image (GET /readyz)" "got ${code:-nothing}; log: $(tail -n 5 "$LOG" | tr "\n" " ")"
  kill -KILL "$pid" 2>/dev/null
  exit 0
fi
uid=$(awk "/^Uid:/ { print \$2 }" "/proc/$pid/status")
ok "GET /readyz 200 (UID $uid, read-only root, loopback-only network)"
code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 http://127.0.0.1:8080/livez)
[[ "$code" == 200 ]] && ok "GET /livez 200" || ko "GET /livez" "status $code"
code=$(curl -s -o "$WORK/authorize.json" -w "%{http_code}" --max-time 5 \
  -H "Content-Type: application/json" --data-binary @"$WORK/authorize-request.json" \
  http://127.0.0.1:8080/v1/authorize)
body=$(cat "$WORK/authorize.json" 2>/dev/null)
if [[ "$code" == 200 && "$body" =~ \"status\":\"(approved|declined)\" ]]; then
  ok "POST /v1/authorize 200 ${BASH_REMATCH[1]}"
else
  ko "POST /v1/authorize" "status $code: $body"
fi
status_line=$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 http://127.0.0.1:8081/metrics)
[[ "$status_line" =~ ^[1-5][0-9][0-9]$ ]] && ok "admin listener answers on :8081 (GET /metrics: $status_line)" ||
  ko "admin listener on :8081" "no HTTP answer"
kill -TERM "$pid"
wait "$pid"
rc=$?
[[ $rc == 0 ]] && ok "SIGTERM: drained and exited 0" || ko "SIGTERM exit status" "$rc; log: $(tail -n 3 "$LOG" | tr "\n" " ")"
'
log="$work/server.log"
printf '%s\n' '{"card_number":"4111 1111 1111 1111","currency":"USD","amount":"2450.00","merchant":"Amazon Web Services"}' \
  >"$work/authorize-request.json"
out="$(WORK="$work" ROOTFS="$rootfs" BIN="$entry_bin" CHROOT="$(command -v chroot)" USERSPEC="${userspec[*]:-}" LOG="$log" \
  timeout 60 unshare "${ns_args[@]}" bash -c "$inner" 2>&1)"
status=$?
while IFS= read -r line; do
  case "$line" in
    "PASS  "*) pass "${line#PASS  }" ;;
    "FAIL  "*) fail "${line#FAIL  }" ;;
    *) [[ -n "$line" ]] && echo "  $line" ;;
  esac
done <<<"$out"
if [[ $status -ne 0 ]]; then
  fail "run checks completed" "exit status $status"
fi

# The load generator in its own root filesystem (read-only, no network but loopback):
# --help must print its usage and exit 0, i.e. the binary loads and starts there.
# shellcheck disable=SC2016 # expanded by the inner shell
ainner='
set -u
mount --bind "$ROOTFS" "$ROOTFS" && mount -o remount,bind,ro "$ROOTFS" || { echo "mount failed"; exit 97; }
env -i "$CHROOT" $USERSPEC "$ROOTFS" "$BIN" --help
'
out="$(ROOTFS="$authload_rootfs" BIN="$authload_entry" CHROOT="$(command -v chroot)" USERSPEC="${userspec[*]:-}" \
  timeout 20 unshare "${ns_args[@]}" bash -c "$ainner" 2>&1)"
status=$?
if [[ $status -eq 0 && "$(head -n 1 <<<"$out")" == "Usage: authload "* ]]; then
  pass "authload --help in the authload image: exit 0, usage printed"
else
  fail "authload --help in the authload image" "exit status $status: $(head -n 5 <<<"$out" | tr '\n' ' ')"
fi

# The simulator the same way: --help exits 0 and names the program, so the binary loads
# and starts in its image.
out="$(ROOTFS="$sim_rootfs" BIN="$sim_entry" CHROOT="$(command -v chroot)" USERSPEC="${userspec[*]:-}" \
  timeout 20 unshare "${ns_args[@]}" bash -c "$ainner" 2>&1)"
status=$?
if [[ $status -eq 0 && "$out" == *paystream-processor-sim* ]]; then
  pass "paystream-processor-sim --help in the processor-sim image: exit 0, usage printed"
else
  fail "paystream-processor-sim --help in the processor-sim image" "exit status $status: $(head -n 5 <<<"$out" | tr '\n' ' ')"
fi
finish
