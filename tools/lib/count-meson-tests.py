#!/usr/bin/env python3
"""Counts test cases in a meson testlog.json: GoogleTest binaries count their
cases, any other test counts as one. Prints "<passed> <failed>" and, on stderr,
the names of what failed."""
import json
import re
import sys

passed = failed = 0
with open(sys.argv[1]) as log:
    for line in log:
        entry = json.loads(line)
        out = entry.get("stdout") or ""
        ok = entry["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
        cases_ok = re.search(r"\[  PASSED  \] (\d+) tests?", out)
        cases_bad = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", out)
        good = int(cases_ok.group(1)) if cases_ok else (1 if ok else 0)
        bad = int(cases_bad.group(1)) if cases_bad else 0
        if not ok and bad == 0:
            bad = 1  # crashed, timed out or failed outside a test case
        passed += good
        failed += bad
        if not ok:
            print(f"FAILED: {entry['name']} ({entry['result']})", file=sys.stderr)
print(passed, failed)
