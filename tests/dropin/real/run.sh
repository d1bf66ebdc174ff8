#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/real/run.sh LIBKMEM_SO [WORKDIR]
#
# The real programs on kmem and on glibc, one script each, one after the
# other: python.sh, sqlite.sh, git.sh (each in WORKDIR/NAME; WORKDIR is
# build/dropin-work by default). Prints their lines as they come, then the
# sum, "real programs: N passed, N failed, N skipped" (a script that stops
# in its set-up counts as one failure), and exits 1 if any check failed, 2
# on a usage error. What the programs need is installed by `make test-deps`.
#
# Environment: DROPIN_ONLY="python sqlite git" (a subset to run).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
fi
lib=$1
work=${2:-$(cd "$here/../../.." && pwd)/build/dropin-work}
mkdir -p "$work" || exit 2
work=$(cd "$work" && pwd)

t_start=$(date +%s)
npass=0
nfail=0
nskip=0
for prog in ${DROPIN_ONLY:-python sqlite git}; do
    log=$work/$prog.log
    if [ -x "$here/$prog.sh" ]; then
        "$here/$prog.sh" "$lib" "$work/$prog" 2>&1 | tee "$log"
    else
        echo "FAIL $prog: no such real-program test ($here/$prog.sh)" | tee "$log"
    fi
    sum=$(sed -n "s/^$prog: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped\$/\1 \2 \3/p" "$log")
    if [ -n "$sum" ]; then
        # shellcheck disable=SC2086 # three numbers
        set -- $sum
        npass=$((npass + $1))
        nfail=$((nfail + $2))
        nskip=$((nskip + $3))
    else
        nfail=$((nfail + 1))
    fi
done
echo "     total: $(($(date +%s) - t_start))s"
echo "real programs: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
