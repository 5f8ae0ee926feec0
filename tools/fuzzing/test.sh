#!/usr/bin/env bash
# Tool suite for tools/test: every libFuzzer target's seeds replayed, then 10 s of fuzzing
# each (tools/fuzz --smoke). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
exec tools/fuzz --smoke "${FUZZ_SMOKE_SECONDS:-10}"
