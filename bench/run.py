#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""run.py — the side-by-side benchmark suite (`make bench`): kmem against
glibc's malloc, jemalloc, tcmalloc and mimalloc on the same workloads, in
the same invocation.

    bench/run.py --build build/release [--quick] [--reps N] [--out build/bench]
                 [--workloads a,b,...] [--allocators a,b,...] [--no-callgrind]
                 [--also NAME=PATH ...]
    bench/run.py --check --build build/release

Needs: Debian's /usr/bin/python3 (standard library only) and util-linux's
setsid. Uses when present, and names the Debian package when not (`make
bench-deps` installs them): libjemalloc-dev, libgoogle-perftools-dev,
libmimalloc-dev (the peers), python3.11 and sqlite3 (the real programs),
valgrind (instruction counts), gnuplot-nox (the chart).

It runs the workloads (bench/workloads/*.c, built by mk/build.mk into
BUILD/bench/workloads/, and two real programs: Debian's python3.11 on
bench/workloads/python_alloc.py, and the sqlite3 CLI on a generated SQL
script) under each allocator, measures them, checks them, and writes the
results:

  OUT/results.csv   workload,allocator,median_seconds,peak_rss_kib
  OUT/extra.csv     workload,allocator,metric,value: spread, ratios to
                    kmem, requested peak and utilization, fast-path ns per
                    pair, callgrind instructions per pair, geometric means
  OUT/results.md    the tables (also printed on standard output), with the
                    date and the machine; bench/update_readme.py copies it
                    into README.md
  OUT/results.png, OUT/results.svg   the ratios to kmem, drawn by gnuplot
  OUT/timeline.png, OUT/timeline.svg, OUT/timeline.csv   resident memory
                    over time of the phases workload (grow, shrink, steady,
                    idle, grow, free, idle), one line per allocator

After the timed runs, untimed: the phases workload once per allocator (the
timeline), and larson-2, xmalloc-4 and prodcons-2 with --latency three
times per allocator, interleaved (every malloc and free timed with the
cycle counter; results.md's "Per-operation latency" gives the median of
each percentile over the three, and the timer's own cost). In full mode,
callgrind counts the fastpath workload's instructions per pair on each
allocator and on bench/baseline/libbump.so, a bump allocator whose count
(the loop, the calls, a pointer bump) is taken off the others' to give
their own.

Method. Each allocator is put under the unchanged program: glibc with no
LD_PRELOAD, the others with LD_PRELOAD=their .so (kmem's is
BUILD/lib/libkmem.so). Every workload runs REPS times per allocator
(default 5; --quick: 3 at the workloads' quick sizes), interleaved: rep 1
of every allocator, then rep 2, ..., the order rotated each rep, so that
noise from a shared machine falls on all alike. In full mode one untimed
run per workload goes first (to warm the file cache). A run is timed with
time.monotonic() around the child (spawn to wait4), and its peak RSS is
the ru_maxrss the kernel reports for it through os.wait4 (KiB; the child
is started through `setsid -f` so that the figure is its own:
kbench/supervise.py). Reported:
medians; ratios are an allocator's median over kmem's in this same
invocation (above 1: kmem is faster or smaller). Nothing here asserts on a
time.

Checks. A workload checks its own results (exit status 1 on a wrong
one); here, besides, a run must exit 0, print the same checksum under every
allocator, and have had its malloc bound to the allocator meant (the C
workloads print where malloc came from, via dladdr). A failed run is named
(workload, allocator, why) and makes the exit status 1; timings are never a
failure. Exit status 2: a usage error; a set-up error (kmem or the
benchmarks not built, a bad --also) is named on standard error with exit
status 1.

--check: every workload once at its quick size on kmem and on glibc, for
`make test`; prints ok/FAIL lines.

This file is the command line only; the suite is the package bench/kbench/
(its __init__.py lists the modules and what each owns).
"""

import argparse
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from kbench import SetupError, discovery, suite, supervise, workloads  # noqa: E402


def main():
    try:
        supervise.become_subreaper()
    except SetupError as e:
        sys.exit("run.py: %s" % e)
    p = argparse.ArgumentParser(
        description="kmem against glibc, jemalloc, tcmalloc and mimalloc, side by side.")
    p.add_argument("--build", default="build/release", help="the build folder (build/release)")
    p.add_argument("--out", default="build/bench", help="where the results go (build/bench)")
    p.add_argument("--quick", action="store_true", help="quick sizes, 3 repetitions, no callgrind")
    p.add_argument("--reps", type=int, help="repetitions (default 5; --quick 3; at least 3)")
    p.add_argument("--check", action="store_true",
                   help="each workload once, quick size, on kmem and glibc: do they run and verify?")
    p.add_argument("--workloads", help="only these workloads (comma-separated)")
    p.add_argument("--allocators", help="only these allocators (comma-separated)")
    p.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    p.add_argument("--also", action="append", metavar="NAME=PATH",
                   help="another malloc library to compare, e.g. a kmem built otherwise "
                        "(kmem-quarter=build/quarter/lib/libkmem.so); may repeat")
    args = p.parse_args()
    if args.reps is not None and args.reps < 3:
        p.error("--reps: at least 3 (medians of fewer mean little)")
    known_w = [w.name for w in workloads.all_workloads()]
    known_a = [a.name for a in discovery.all_allocators()]
    for opt, given, known in (("--workloads", args.workloads, known_w),
                              ("--allocators", args.allocators, known_a)):
        for n in (given.split(",") if given else []):
            if n not in known:
                p.error("%s: unknown name %r (known: %s)" % (opt, n, ", ".join(known)))
    try:
        return suite.run_check(args) if args.check else suite.run_suite(args)
    except SetupError as e:
        sys.exit("run.py: %s" % e)
    except KeyboardInterrupt:
        sys.stderr.write("bench: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
