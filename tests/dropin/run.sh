#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/run.sh BUILD_DIR — the drop-in malloc: the programs in
# tests/dropin run under LD_PRELOAD=BUILD_DIR/lib/libkmem.so (and
# edge_cases also on glibc, whose output must be the same), kmem-run is
# tried, and real programs run on kmem (tests/dropin/real/run.sh; set
# KMEM_SKIP_REAL_PROGRAMS=1 to leave them out).
# Prints a line per check; exits 1 if any failed.
set -u
dir=$1
lib=$(cd "$dir/lib" && pwd)/libkmem.so
bin=$dir/tests/dropin
run=$dir/bin/kmem-run
limit=${KMEM_TEST_TIMEOUT:-300}
work=$dir/dropin-work
rm -rf "$work" && mkdir -p "$work"
pass=0
fail=0
failed=""

ok() { pass=$((pass + 1)); printf '  ok    %s\n' "$1"; }
bad() {
    fail=$((fail + 1))
    failed="$failed $1"
    printf '  FAIL  %s\n' "$1"
    [ -f "$2" ] && tail -n 30 "$2" | sed 's/^/        /'
}

# A program on kmem, with a time limit; its output in $work/PROGRAM.log.
on_kmem() {
    name=$1
    shift
    log="$work/$(basename "$1")${2:+-$2}.log"
    if timeout "$limit" env LD_PRELOAD="$lib" "$@" >"$log" 2>&1; then
        ok "$name"
    else
        bad "$name (exit $?)" "$log"
    fi
}

# 1. Every function of the C library interface is exported.
missing=""
for f in malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign \
         valloc pvalloc malloc_usable_size free_sized free_aligned_sized malloc_trim \
         mallinfo mallinfo2 malloc_stats mallopt; do
    nm -D --defined-only "$lib" | awk '{ print $NF }' | grep -qx "$f" || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "libkmem.so exports the malloc family"; else
    echo "missing:$missing" >"$work/exports.log"; bad "exports" "$work/exports.log"; fi

# 2. Edge cases: the same facts on glibc and on kmem.
"$bin/edge_cases" >"$work/edge_glibc.log" 2>&1
LD_PRELOAD="$lib" "$bin/edge_cases" >"$work/edge_kmem.log" 2>&1
if diff "$work/edge_glibc.log" "$work/edge_kmem.log" >"$work/edge.diff" 2>&1; then
    ok "edge cases: output equal to glibc's ($(wc -l <"$work/edge_kmem.log") lines)"
else
    bad "edge cases differ from glibc (< glibc, > kmem)" "$work/edge.diff"
fi

# 3..8. Programs on kmem.
on_kmem "stress: 8 threads, 10M operations, cross-thread frees" "$bin/stress" 8 10000000
on_kmem "fork while threads getline() and fflush(NULL)" "$bin/fork_stdio"
on_kmem "fork from a signal handler interrupting malloc" "$bin/fork_signal"
on_kmem "5000 short-lived threads, resident memory after" "$bin/thread_churn"
on_kmem "malloc/free in thread-exit destructors after kmem's" "$bin/exit_destructors"
on_kmem "1.5 GiB block, over 4 GiB in total" "$bin/big"
on_kmem "dlopen'ed zlib allocates; whole usable sizes" "$bin/dlopen_alloc"
on_kmem "bad frees abort with one line" "$bin/bad_free"
on_kmem "blocks damaged after free are never handed out twice" "$bin/heap_damage"
for mode in default debug; do
    log="$work/probes-$mode.log"
    debug=
    [ "$mode" = debug ] && debug=KMEM_DEBUG=all,trace
    if timeout "$limit" env LD_PRELOAD="$lib" $debug "$bin/probes" "$mode" >"$log" 2>&1; then
        ok "probes, $(tail -n 2 "$log" | head -n 1)"
    else
        bad "probes, $mode mode" "$log"
    fi
done
on_kmem "fork while threads exchange cache batches: no block twice" "$bin/fork_threads" 4
# Threads that all end with pthread_exit while kmem's thread runs: the
# process must still end (exit 0, at-exit handlers run), and promptly.
for bg in auto on; do
    if timeout 30 env LD_PRELOAD="$lib" KMEM_BACKGROUND=$bg "$bin/last_thread" 1.5 \
        >"$work/last_thread-$bg.log" 2>&1 && grep -q "^at exit: [1-9]" "$work/last_thread-$bg.log"; then
        ok "KMEM_BACKGROUND=$bg: the program's last thread ends with pthread_exit, the process ends"
    else
        bad "KMEM_BACKGROUND=$bg: the process outlived its last thread (exit $?)" "$work/last_thread-$bg.log"
    fi
done
for how in posix_memalign aligned_alloc memalign valloc; do
    on_kmem "$how as the process's first allocation" "$bin/first_aligned" "$how"
done
if timeout "$limit" env LD_PRELOAD="$lib" KMEM_LIMIT=64M "$bin/limit" >"$work/limit.log" 2>&1; then
    ok "KMEM_LIMIT=64M: malloc returns NULL, the program goes on"
else
    bad "KMEM_LIMIT" "$work/limit.log"
fi

# Under ulimit -v, kmem sizes its reservation from the limit: a program
# gets nearly all of it (at least 90%; glibc gets 92-98%), and one block
# of three quarters of the limit can be had.
for kib in 524288 2097152; do
    glibc_mib=$(sh -c "ulimit -v $kib && exec $bin/ulimit_fill fill" 2>&1)
    kmem_mib=$(sh -c "ulimit -v $kib && LD_PRELOAD=$lib exec $bin/ulimit_fill fill" 2>&1)
    three_quarters=$((kib * 1024 / 4 * 3))
    name="ulimit -v $((kib / 1024))M: kmem $kmem_mib MiB, glibc $glibc_mib MiB; one block of 3/4"
    echo "$kmem_mib $glibc_mib" >"$work/ulimit-$kib.log"
    if [ "$kmem_mib" -ge $((kib / 1024 * 9 / 10)) ] 2>/dev/null &&
        sh -c "ulimit -v $kib && LD_PRELOAD=$lib exec $bin/ulimit_fill one $three_quarters" \
            >>"$work/ulimit-$kib.log" 2>&1; then
        ok "$name"
    else
        bad "$name" "$work/ulimit-$kib.log"
    fi
done

# 9. kmem-run.
if "$run" --stats --stats-json "$work/run.json" -- sh -c 'ls / >/dev/null; echo child' \
        >"$work/run.out" 2>"$work/run.err" &&
    [ "$(grep -c 'Memory statistics by type' "$work/run.err")" -eq 1 ] &&
    grep -q '"name":"malloc"' "$work/run.json" && grep -q child "$work/run.out"; then
    ok "kmem-run --stats --stats-json: one report, from the command only"
else
    bad "kmem-run --stats" "$work/run.err"
fi
if "$run" --limit 64M -- "$bin/limit" >"$work/runlimit.log" 2>&1; then
    ok "kmem-run --limit 64M"
else
    bad "kmem-run --limit" "$work/runlimit.log"
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "  skip  kmem-run arguments: no python3 (make test-deps installs it)"
elif python3 "$(dirname "$0")/kmem_run_args.py" "$run" "$lib" >"$work/run-args.log" 2>&1; then
    ok "kmem-run: $(tail -n 1 "$work/run-args.log") (random arguments against its documentation)"
else
    bad "kmem-run arguments" "$work/run-args.log"
fi

# 10. Real programs (what they need: make test-deps).
if [ "${KMEM_SKIP_REAL_PROGRAMS:-0}" = 1 ]; then
    echo "  skip  real programs (KMEM_SKIP_REAL_PROGRAMS=1)"
elif "$(dirname "$0")/real/run.sh" "$lib" "$work/real" >"$work/real.log" 2>&1; then
    ok "real programs: python3 regression tests, sqlite3, git"
    sed 's/^/        /' "$work/real.log" | grep -E '^ *(ok|FAIL)' | head -n 40
else
    bad "real programs" "$work/real.log"
fi

printf 'drop-in: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
