#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""python_suite.py — peak RSS and time of one long real process: Debian's
python3.11 running modules of its own regression suite (`python3.11 -m
test`, package libpython3.11-testsuite) in one process, with
PYTHONMALLOC=malloc so that every object comes from the allocator under
test; on kmem and on every peer, the runs interleaved.

Too long for make bench (a run is about 45 s here): make bench-python-suite
runs it. The modules (MODULES below, or --modules) are ones that pass on a
plain machine, need no network and run in the one process; every run must
report the same result as the first, else the table says so.

    bench/python_suite.py [--build build/release] [--reps 3]
                          [--modules test_a,test_b] [--allocators kmem,glibc]
                          [--also NAME=PATH] [--out build/python-suite]

Prints a Markdown table (and writes it, with a CSV of every run, into
--out): per allocator the median peak RSS (the kernel's ru_maxrss) and wall
time over the repetitions, each with its ratio to kmem's, and the
spread (max - min) / median of both."""

import argparse
import csv
import os
import re
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbench import SetupError, discovery, supervise  # noqa: E402

PYTHON = "/usr/bin/python3.11"
MODULES = ("test_list test_dict test_set test_unicode test_json test_re test_pickle "
           "test_collections test_itertools test_functools test_string test_bytes test_math "
           "test_statistics test_decimal test_fractions test_enum test_ast test_grammar "
           "test_compile test_tokenize test_zlib test_array test_struct test_heapq test_bisect "
           "test_sort test_deque test_textwrap test_difflib").split()
RESULT = re.compile(r"^(?:== )?Tests? result: (\S+)", re.M)
COUNT = re.compile(r"^All (\d+) tests OK|^(\d+) tests? OK", re.M)
TIMEOUT = 1800


def outcome(r):
    """What the suite said of itself: its result line, else the failure."""
    if r.status != "ok" and not r.stdout:
        return r.status
    m = RESULT.search(r.stdout)
    return m.group(1) if m else "no result line (%s)" % r.status


def spread(xs):
    med = statistics.median(xs)
    return (max(xs) - min(xs)) / med if med else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--modules", help="comma-separated test modules (default: %d of them)"
                    % len(MODULES))
    ap.add_argument("--allocators", help="comma-separated names (default: all found)")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                    help="another malloc library to measure beside them")
    ap.add_argument("--out", default="build/python-suite")
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    modules = args.modules.split(",") if args.modules else list(MODULES)
    if not os.path.isfile(PYTHON):
        raise SetupError("%s is missing (Debian package python3.11)" % PYTHON)
    missing_mods = [m for m in modules
                    if not os.path.exists("/usr/lib/python3.11/test/%s.py" % m)
                    and not os.path.isdir("/usr/lib/python3.11/test/%s" % m)]
    if missing_mods:
        raise SetupError("not in /usr/lib/python3.11/test: %s (Debian package "
                         "libpython3.11-testsuite)" % ", ".join(missing_mods))
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="kmem-pysuite-")
    names = args.allocators.split(",") if args.allocators else None
    allocs, missing = discovery.find_allocators(args.build, tmp, names, args.also)
    for note in missing:
        print("note:", note, file=sys.stderr)
    supervise.become_subreaper()
    argv = [PYTHON, "-m", "test"] + modules
    runs = {a.name: [] for a in allocs}
    rows = []
    print("python3.11 -m test, %d modules, %d allocators, %d repetitions"
          % (len(modules), len(allocs), args.reps), flush=True)
    expected = None
    for rep in range(args.reps):
        order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
        for a in order:
            env = supervise.clean_env()
            env.update({"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0",
                        "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": tmp})
            if a.path:
                env["LD_PRELOAD"] = a.path
            r = supervise.spawn(argv, env, None, tmp, TIMEOUT)
            said = outcome(r)
            if expected is None:
                expected = said
            ok = said == expected
            runs[a.name].append((r.rss_kib, r.seconds, ok, said))
            rows.append([rep, a.name, r.rss_kib, "%.3f" % r.seconds, said])
            print("  %-10s rep %d: peak RSS %7.1f MiB, %6.1f s, %s"
                  % (a.name, rep + 1, r.rss_kib / 1024, r.seconds, said), flush=True)
    with open(os.path.join(args.out, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep", "allocator", "peak_rss_kib", "wall_s", "result"])
        w.writerows(rows)
    base = allocs[0].name
    med = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for n, v in runs.items()}
    lines = ["### Python's regression suite in one process (%d modules, PYTHONMALLOC=malloc)"
             % len(modules), "",
             "| allocator | peak RSS, MiB | wall, s | RSS spread | time spread | result |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for a in allocs:
        rss, sec = med[a.name]
        v = runs[a.name]
        ratio = "" if a.name == base else " (%.2f×)" % (rss / med[base][0])
        tratio = "" if a.name == base else " (%.2f×)" % (sec / med[base][1])
        bad = [x[3] for x in v if not x[2]]
        result = expected if not bad else "differs: " + ", ".join(sorted(set(bad)))
        lines.append("| %s | %.1f%s | %.2f%s | %.0f%% | %.0f%% | %s |"
                     % (a.name, rss / 1024, ratio, sec, tratio, 100 * spread([x[0] for x in v]),
                        100 * spread([x[1] for x in v]), result))
    lines += ["", "Medians of %d interleaved runs each; ratios are over %s's median (above "
              "1: %s uses less / is faster). Modules: %s." % (args.reps, base, base,
                                                              " ".join(modules))]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print()
    print(text)
    print("files: %s/results.md, runs.csv" % args.out)
    failed = any(not x[2] for v in runs.values() for x in v) or expected != "SUCCESS"
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupError as e:
        print("python_suite.py:", e, file=sys.stderr)
        sys.exit(2)
