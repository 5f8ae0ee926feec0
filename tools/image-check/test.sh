#!/usr/bin/env bash
# Runtime-image check, without a container engine: proves that the Containerfile's
# runtime stage holds everything paystream-authd needs, and nothing the check cannot see.
#
#   1. Reads the Containerfile (runtime_stage.py): the runtime stage may only COPY files
#      from the build stage (plus USER, EXPOSE, LABEL, ...); its base must be the one
#      named in distroless-cc-packages.txt.
#   2. Builds the release binary as the image does (tools/build build, production flags).
#   3. Builds a root filesystem from the Debian packages of the distroless cc base
#      (distroless-cc-packages.txt; `apt-get download`, cached in build/image-check/debs,
#      unpacked with `dpkg-deb -x`), the distroless nonroot user, and exactly the files
#      the runtime stage copies (the build stage's /src is this checkout; its
#      /usr/lib/... are this Debian 12 machine's, the same packages tools/deps installs).
#   4. In new mount, PID and network namespaces (unshare; loopback only): the root
#      filesystem read-only, /proc and /sys bind-mounted read-only, tmpfs /tmp and the
#      secret volume as in the pod; runs `paystream-authd --version` and serves as UID
#      65532 via chroot: /livez, /readyz, POST /v1/authorize, the admin listener, SIGTERM.
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
  grep -qF 'tools/build build -Drevision="$REVISION" -Dtests=false -Dbenchmarks=false' <<<"$build_runs"; then
  pass "build stage runs tools/deps and tools/build with -Drevision=\$REVISION (production flags)"
else
  fail "build stage uses tools/deps and tools/build build -Drevision=\"\$REVISION\" -Dtests=false -Dbenchmarks=false"
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

# --- 2. The release binary, as the image builds it ---------------------------------------
if [[ -n "${PAYSTREAM_BUILD_DIR:-}" ]]; then
  out="using $binary"
elif ! out="$(tools/build build -Dtests=false -Dbenchmarks=false 2>&1)"; then
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

# Base libraries, before anything is copied: a copied library must not shadow one of them.
declare -A base_libs=()
for d in "${libdirs[@]}"; do
  for f in "$rootfs/$d"/*.so*; do
    [[ -e "$f" ]] && base_libs["$(basename "$f")"]=1
  done
done

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
  mkdir -p "$rootfs$(dirname "$dest")"
  # COPY follows a symlink source: the file lands under the link's name.
  cp -L --preserve=mode "$host" "$rootfs$dest"
  copied+=("$dest")
done < <(awk -F'\t' '$1 == "copy"' <<<"$stage")
if ((${#unpack_problems[@]} + ${#copy_problems[@]})); then
  fail "root filesystem" "unpack: ${unpack_problems[*]:-ok}; copy: ${copy_problems[*]:-ok}"
  finish
fi
pass "root filesystem: ${#deb_files[@]} packages + ${#copied[@]} files from the runtime stage's COPY lines"

if [[ ! -x "$rootfs$entry_bin" ]]; then
  fail "ENTRYPOINT $entry_bin is in the image"
  finish
fi

shells=()
for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash bin/busybox; do
  [[ -e "$rootfs/$sh" || -L "$rootfs/$sh" ]] && shells+=("/$sh")
done
if ((${#shells[@]} == 0)) && ((${#shadowed[@]} == 0)); then
  pass "no shell in the image; no copied library shadows one of the base"
else
  fail "no shell, no shadowed base library" "shells: ${shells[*]:-none}; shadowed: ${shadowed[*]:-none}"
fi

# Every library the binary needs (recursively) resolves inside the root filesystem;
# copied libraries that nothing needs are reported (not a failure: a library can be
# copied ahead of the code that links it).
needed_of() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
resolve() {
  local d
  for d in "${libdirs[@]}"; do
    if [[ -e "$rootfs/$d/$1" ]]; then
      echo "$rootfs/$d/$1"
      return 0
    fi
  done
  return 1
}
declare -A seen=()
queue=("$rootfs$entry_bin")
unresolved=()
while ((${#queue[@]})); do
  obj="${queue[0]}"
  queue=("${queue[@]:1}")
  while read -r soname; do
    [[ -z "$soname" || -n "${seen[$soname]:-}" ]] && continue
    seen["$soname"]=1
    if path="$(resolve "$soname")"; then
      queue+=("$path")
    else
      unresolved+=("$soname")
    fi
  done < <(needed_of "$obj")
done
if ((${#unresolved[@]} == 0)); then
  pass "every shared library the binary needs is in the image (${#seen[@]} sonames)"
else
  fail "shared libraries missing from the image" "${unresolved[*]}"
fi
for dest in "${copied[@]}"; do
  name="$(basename "$dest")"
  [[ "$name" == *.so* && -z "${seen[$name]:-}" ]] && echo "note: $dest is copied but this binary does not need it"
done

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
finish
