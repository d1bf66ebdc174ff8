# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/real/prelude.sh — what the real-program tests share, sourced
# by python.sh, sqlite.sh and git.sh (each sets `here`, its own folder, and
# `set -u` first): the arguments (LIBKMEM_SO [WORKDIR]), a work folder made
# anew, a clean environment, the check that what the program needs is
# installed, running a program on glibc or on kmem, reading kmem's
# statistics and complaints, and the ok / FAIL / skip lines with their sum.
#
# Each program runs once on the C library's malloc (glibc) and once with
# LD_PRELOAD=LIBKMEM_SO, and the results must be the same; a run on kmem
# must also not print a "kmem:" line, and its statistics (KMEM_STATS_JSON)
# must show that its mallocs really went to kmem.
#
# A script prints one line per check ("ok", "skip" for a result that is the
# same on glibc but is not a pass, e.g. a test module that fails on glibc
# too, and "FAIL" with the detail), then "NAME: N passed, N failed, N
# skipped", and exits 1 if any check failed (2 on a usage or set-up error).

# shellcheck shell=sh
name=$(basename "$0" .sh)

# usage — the calling script's opening comment, then exit 2.
usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}
die() {
    printf 'FAIL setup: %s\n' "$*"
    exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
case $1 in -h | --help) usage ;; esac

# shellcheck disable=SC2154 # here: set by the script that sources this
root=$(cd "$here/../../.." && pwd)

lib=$1
case $lib in /*) ;; *) lib=$(pwd)/$lib ;; esac
if [ ! -f "$lib" ] || [ ! -r "$lib" ]; then die "no such library: $lib"; fi

work=${2:-$root/build/dropin-work/$name}
case $work in /*) ;; *) work=$(pwd)/$work ;; esac
# Only ever remove a directory a script made (it leaves a marker in it).
if [ -e "$work" ]; then
    if [ -f "$work/.dropin-work" ]; then
        rm -rf "$work" || die "cannot remove the old $work"
    elif [ -n "$(ls -A "$work" 2>/dev/null)" ]; then
        die "$work exists, is not empty and was not made by this script"
    fi
fi
if ! mkdir -p "$work" || ! : >"$work/.dropin-work"; then die "cannot create $work"; fi

# A clean, fixed environment for every program, glibc and kmem alike (each
# script also unsets its own program's variables).
unset LD_PRELOAD KMEM_STATS KMEM_STATS_JSON KMEM_STATS_PID KMEM_LIMIT
LC_ALL=C.UTF-8
TZ=UTC
export LC_ALL TZ

echo "$name on $lib (work in $work)"

# need — stop with the names of the Debian packages this script's program
# needs and lacks (tests/dropin/real/deps.sh tells; `make test-deps`
# installs them). Nothing is fetched here.
need() {
    _missing=$("$here/deps.sh" "$name") || die "$here/deps.sh $name failed"
    [ -z "$_missing" ] ||
        die "missing Debian package(s): $_missing — run 'make test-deps' as root" \
            "(apt-get install --no-install-recommends $_missing)"
}

npass=0
nfail=0
nskip=0
ok() {
    npass=$((npass + 1))
    printf 'ok   %s\n' "$*"
}
fail() {
    nfail=$((nfail + 1))
    printf 'FAIL %s\n' "$*"
}
skip() {
    nskip=$((nskip + 1))
    printf 'skip %s\n' "$*"
}
now() { date +%s; }

# finish — the sum of the checks, and the exit status.
finish() {
    echo "$name: $npass passed, $nfail failed, $nskip skipped"
    [ "$nfail" -eq 0 ] || exit 1
    exit 0
}

# run SIDE JSON LIMIT CMD ARGS... — run CMD on glibc (SIDE glibc) or on kmem
# (SIDE kmem), killed after LIMIT seconds. On kmem, CMD's own statistics are
# written as JSON into JSON at its exit (KMEM_STATS_PID keeps the programs it
# starts, which run on kmem too, from writing over them). This is what
# bin/kmem-run does; it is done here so that any libkmem.so can be tested.
run() {
    _side=$1 _json=$2 _limit=$3
    shift 3
    if [ "$_side" = kmem ]; then
        timeout -k 10 "$_limit" env LD_PRELOAD="$lib" KMEM_STATS_JSON="$_json" \
            sh -c 'KMEM_STATS_PID=$$; export KMEM_STATS_PID; exec "$@"' sh "$@"
    else
        timeout -k 10 "$_limit" "$@"
    fi
}

# malloc_calls JSON — the "calls" of kmem's type "malloc" (the C library's
# malloc family) in a statistics file, or nothing.
malloc_calls() {
    [ -s "$1" ] || return 0
    tr -d '\n' <"$1" | grep -o '"name":"malloc"[^}]*' |
        sed -n 's/.*"calls":\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# kmem_lines FILE... — the lines in which kmem (or the dynamic loader, about
# the preload) complains.
kmem_lines() {
    cat "$@" 2>/dev/null | grep -a -e 'kmem:' -e 'cannot be preloaded' | head -n 3
}

# status_of RC — a word for an exit status.
status_of() {
    case $1 in
    0) echo "exit 0" ;;
    124 | 137) echo "timed out" ;;
    12[89] | 1[3-9][0-9] | 2[0-9][0-9]) echo "killed by signal $(($1 - 128))" ;;
    *) echo "exit $1" ;;
    esac
}
