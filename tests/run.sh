#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/run.sh DIR [PATTERN...] — run the test programs built under
# DIR/tests/{api,internal,freestanding} whose names match one of the
# PATTERNs (shell globs; default all), each with a time limit. (The
# programs in tests/dropin run under LD_PRELOAD: tests/dropin/run.sh.) Prints a line per test and a summary; exits 1 if
# any failed, showing the end of its output.
dir=$1
shift
[ $# -gt 0 ] || set -- '*'
limit=${KMEM_TEST_TIMEOUT:-300}
pass=0
fail=0
failed=""
for pattern in "$@"; do
    for t in "$dir"/tests/api/$pattern "$dir"/tests/internal/$pattern \
             "$dir"/tests/freestanding/$pattern; do
        [ -x "$t" ] && [ -f "$t" ] || continue
        case $t in *.log) continue ;; esac
        name=${t#"$dir"/tests/}
        log="$t.log"
        start=$(date +%s)
        if timeout "$limit" "$t" >"$log" 2>&1; then
            pass=$((pass + 1))
            printf '  ok    %-44s %4ss\n' "$name" $(( $(date +%s) - start ))
        else
            rc=$?
            fail=$((fail + 1))
            failed="$failed $name"
            printf '  FAIL  %-44s (exit %s; end of its output below)\n' "$name" "$rc"
            tail -n 40 "$log" | sed 's/^/        /'
        fi
    done
done
printf '%s: %d passed, %d failed\n' "$dir" "$pass" "$fail"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
