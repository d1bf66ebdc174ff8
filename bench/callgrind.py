#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""callgrind.py — instructions per allocate/free pair of each way of
bench/api_pairs.c, counted by callgrind (make bench, in full mode).

    bench/callgrind.py API_PAIRS [16|64|256|1024|all ...]

For each way (macro, func, glibc) and size (default 64) the program
API_PAIRS (BUILD/bench/api_pairs) runs under
    valgrind --tool=callgrind --toggle-collect=bench_<way>_<size>
so that only the measured loop and what it calls are counted (the warm-up
goes through a twin function, warm_<way>_<size>), once with N1 and once
with N2 pairs; the slope (Ir(N2) - Ir(N1)) / (N2 - N1) cancels the fixed
costs: entering the loop, and the first pass through any slow path. The
counting is bench/kbench/callgrind.py's, the driver bench/run.py uses for
the fastpath workload too.

Environment: CALLGRIND_N1, CALLGRIND_N2 (default 100000, 200000).
Prints a table and one line per way and size:
  csv,callgrind,<way>,<size>,<instructions_per_pair>
Exit status: 0; 1 if a run failed or counted nothing; 2 for a usage error
or when valgrind is missing.
"""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from kbench import SetupError, callgrind, supervise  # noqa: E402

PROG = "callgrind.py"
SIZES = ("16", "64", "256", "1024")
WAYS = (("macro", "KMEM_MALLOC/KMEM_FREE"), ("func", "kmem_malloc/kmem_free"),
        ("glibc", "glibc"))


def fail(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    return 2


def main(argv):
    if len(argv) < 1:
        sys.stderr.write("usage: %s API_PAIRS [16|64|256|1024|all ...]\n" % PROG)
        return 2
    prog, args = argv[0], argv[1:] or ["64"]
    if not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
        return fail("'%s' is not an executable (build bench/api_pairs.c first)" % prog)
    if callgrind.valgrind() is None:
        fail("valgrind not found: instruction counts need valgrind's callgrind tool")
        return fail("(Debian/Ubuntu: apt-get install valgrind)")
    sizes = []
    for s in args:
        if s in SIZES:
            sizes.append(s)
        elif s == "all":
            sizes.extend(SIZES)
        else:
            return fail("size '%s' is not one of 16, 64, 256, 1024, all" % s)
    n1 = os.environ.get("CALLGRIND_N1") or "100000"
    n2 = os.environ.get("CALLGRIND_N2") or "200000"
    if not (n1 + n2).isdigit():
        return fail("CALLGRIND_N1 and CALLGRIND_N2 must be numbers")
    n1, n2 = int(n1), int(n2)
    if n2 <= n1:
        return fail("CALLGRIND_N2 (%d) must be larger than CALLGRIND_N1 (%d)" % (n2, n1))

    try:
        supervise.become_subreaper()
    except SetupError as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 1
    env = dict(os.environ)  # as the program runs under make bench, tunables and all
    tmp = tempfile.mkdtemp(prefix="kmem-callgrind.")
    status = 0
    try:
        for size in sizes:
            per = {}  # way -> instructions per pair, as printed
            for way, _ in WAYS:
                counts = []
                for pairs in (n1, n2):
                    argv = [prog, "--only", way, "--size", size, "--pairs", str(pairs)]
                    n, why = callgrind.count(argv, env, "bench_%s_%s" % (way, size), tmp)
                    if n is None:
                        if why.startswith("callgrind counted nothing"):
                            why += " (was the function renamed or inlined?)"
                        sys.stderr.write("%s: %s --only %s --size %s --pairs %d: %s\n"
                                         % (PROG, prog, way, size, pairs, why))
                        break
                    counts.append(n)
                if len(counts) < 2:
                    status = 1
                    continue
                per[way] = "%.1f" % callgrind.per_pair(counts[0], counts[1], n1, n2)
            print("callgrind instructions per pair (%s bytes, pairs %d and %d): %s"
                  % (size, n1, n2, ", ".join("%s %s" % (label, per[way])
                                             for way, label in WAYS if way in per)))
            if "glibc" in per:
                g = float(per["glibc"])
                for way, label in WAYS[:2]:
                    if way in per:
                        p = float(per[way])
                        print("  %-22s %7.1f  %5.2f× glibc" % (label, p, p / g))
                print("  %-22s %7.1f" % ("glibc malloc/free", g))
            for way, _ in WAYS:
                if way in per:
                    print("csv,callgrind,%s,%s,%s" % (way, size, per[way]))
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
