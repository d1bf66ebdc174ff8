# SPDX-License-Identifier: BSD-2-Clause
"""workloads.py — what the workloads are: the C programs of bench/workloads/
(built by mk/build.mk into BUILD/bench/workloads/) and two real programs,
Debian's python3.11 on bench/workloads/python_alloc.py and the sqlite3 CLI
on an SQL script generated here; their arguments at full and quick size,
the command line of a run, and what a run's output must say (its "key
value" lines, the checksum, where malloc came from, sqlite's expected
rows), within a run and across the allocators. Also the fastpath
workload's callgrind command (what bench/workloads/fastpath.c counts in),
and reading the phases workload's RSS timeline (not a timed workload:
Workload.timeline). Runs nothing."""

import os
import random
import shutil

from . import DEPS_HINT, ROOT, SetupError

WORKLOAD_DIR = os.path.join(ROOT, "bench", "workloads")
PYTHON = "/usr/bin/python3.11"  # Debian's binary itself, not a wrapper or shim

# The sizes the fastpath workload times, each in its own loop pairs_<S>:
# it prints ns_per_pair_<S> for each.
FASTPATH_SIZES = (16, 64, 256, 1024)
# Under callgrind: pairs_<CG_SIZE> counted for CG_N1 and CG_N2 pairs.
CG_SIZE, CG_N1, CG_N2 = 64, 100000, 200000


class Workload:
    """One row of the tables: a program, its arguments at full and quick
    size, and what it needs."""

    def __init__(self, name, kind, full, quick, needs=None, package=None, timeline=False):
        self.name = name
        self.kind = kind        # "c", "python" or "sqlite"
        self.full = full        # arguments (c: after the program; others: a size)
        self.quick = quick
        self.needs = needs      # a program that must exist
        self.package = package  # its Debian package
        self.timeline = timeline  # run once per allocator for the RSS chart, not timed
        self.prog = None
        self.sql = None         # sqlite: the script and its expected output
        self.expected = None

    def size(self, quick):
        return self.quick if quick else self.full


def all_workloads():
    c = "c"
    return [
        Workload("fastpath", c, [], ["--quick"]),
        Workload("churn", c, [], ["--quick"]),
        Workload("mixed", c, [], ["--quick"]),
        Workload("realloc_growth", c, [], ["--quick"]),
        Workload("prodcons-2", c, ["-t", "2"], ["--quick", "-t", "2"]),
        Workload("prodcons-4", c, ["-t", "4"], ["--quick", "-t", "4"]),
        Workload("larson-2", c, ["-t", "2"], ["--quick", "-t", "2"]),
        Workload("server-2", c, ["-t", "2"], ["--quick", "-t", "2"]),
        Workload("batch", c, [], ["--quick"]),
        Workload("pool-2", c, ["-t", "2"], ["--quick", "-t", "2"]),
        Workload("xmalloc-4", c, ["-t", "4"], ["--quick", "-t", "4"]),
        Workload("alloc_test", c, [], ["--quick"]),
        # python: rounds of python_alloc.py; sqlite: rows inserted.
        Workload("python", "python", 20, 2, needs=PYTHON, package="python3.11"),
        Workload("sqlite", "sqlite", 200000, 20000, needs="sqlite3", package="sqlite3"),
        # Not in the tables: resident memory over time (chart.draw_timeline).
        Workload("phases", c, [], ["--quick"], timeline=True),
    ]


def c_program(build, name):
    """The built C program of workload `name` (prodcons-2: prodcons)."""
    return os.path.join(build, "bench", "workloads", name.split("-")[0])


def find_workloads(build_arg, tmp, quick, names):
    """The workloads to run, their programs found (and sqlite's script
    written into tmp), and notes on those skipped for a missing program.
    names: only these (None: all)."""
    build = os.path.abspath(build_arg)
    missing = []
    workloads = []
    for w in all_workloads():
        if names and w.name not in names:
            continue
        if w.kind == "c":
            w.prog = c_program(build, w.name)
            if not os.access(w.prog, os.X_OK):
                raise SetupError("%s is missing: build the benchmarks first "
                                 "(make -f mk/build.mk O=%s benches)" % (w.prog, build_arg))
        else:
            w.prog = w.needs if os.path.isabs(w.needs) else shutil.which(w.needs)
            if w.prog is None or not os.access(w.prog, os.X_OK):
                missing.append("workload %s skipped: %s is missing (Debian package %s); %s"
                               % (w.name, w.needs, w.package, DEPS_HINT))
                continue
            if w.kind == "sqlite":
                w.sql = os.path.join(tmp, "sqlite.sql")
                w.expected = make_sqlite_script(w.size(quick), w.sql)
        workloads.append(w)
    return workloads, missing


def make_sqlite_script(rows, path):
    """Writes the SQL for `rows` rows; returns the output it must give.
    In memory (no database file): every page is the allocator's."""
    rng = random.Random(4711)
    data = [(i, rng.randrange(rows // 20 + 1), "name-%08x" % rng.getrandbits(32))
            for i in range(rows)]
    with open(path, "w") as f:
        f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, name TEXT NOT NULL);\n")
        f.write("BEGIN;\n")
        for i, k, name in data:
            f.write("INSERT INTO t VALUES(%d,%d,'%s');\n" % (i, k, name))
        f.write("COMMIT;\n")
        f.write("CREATE INDEX t_k ON t(k);\n")
        f.write("CREATE INDEX t_name ON t(name);\n")
        f.write("SELECT count(*), sum(k), min(name), max(name) FROM t;\n")
        f.write("SELECT k, count(*), sum(id) FROM t WHERE k BETWEEN 10 AND 14 GROUP BY k ORDER BY k;\n")
        f.write("SELECT sum(length(name) + id) FROM (SELECT name, id FROM t ORDER BY name, id LIMIT 1000 OFFSET 100);\n")
        f.write("SELECT count(*) FROM t WHERE name >= 'name-8' AND name < 'name-9';\n")
        f.write(".stats on\nSELECT 'end';\n")
    names = sorted(d[2] for d in data)
    out = ["%d|%d|%s|%s" % (rows, sum(d[1] for d in data), names[0], names[-1])]
    for k in range(10, 15):
        sel = [d for d in data if d[1] == k]
        if sel:
            out.append("%d|%d|%d" % (k, len(sel), sum(d[0] for d in sel)))
    by_name = sorted(data, key=lambda d: (d[2], d[0]))[100:1100]
    out.append("%d" % sum(len(d[2]) + d[0] for d in by_name))
    out.append("%d" % sum(1 for d in data if "name-8" <= d[2] < "name-9"))
    out.append("end")
    return out


# ---- one run: its command, its output ----------------------------------------------

def command(w, quick, extra_py=()):
    """argv, extra environment and stdin for workload w."""
    if w.kind == "c":
        return [w.prog] + w.size(quick), {}, None
    if w.kind == "python":
        return ([PYTHON, "-s"] + list(extra_py) +
                [os.path.join(WORKLOAD_DIR, "python_alloc.py"), str(w.size(quick))],
                {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0",
                 "PYTHONDONTWRITEBYTECODE": "1"}, None)
    return [w.prog, "-batch", "-bail"], {}, w.sql


def callgrind_command(prog, pairs):
    """The fastpath workload's argv for `pairs` pairs of CG_SIZE bytes
    alone, and the function to count in."""
    return [prog, "--only", str(CG_SIZE), "-n", str(pairs)], "pairs_%d" % CG_SIZE


def parse_timeline(r):
    """The phases workload's output as {"samples": [(ms, kib, phase)],
    "names": [phase name], "phase_ms": [start of each phase..., end]}, or
    None when a line is missing or malformed."""
    try:
        samples = [tuple(int(x) for x in s.split(":"))
                   for s in r.values["rss_timeline"].split(",")]
        names = r.values["phase_names"].split(",")
        phase_ms = [int(x) for x in r.values["phase_ms"].split(",")]
    except (KeyError, ValueError):
        return None
    if not samples or any(len(s) != 3 for s in samples) or len(phase_ms) != len(names) + 1:
        return None
    return {"samples": samples, "names": names, "phase_ms": phase_ms}


def read_values(r):
    """r.values: the first value of each "key value" line of the output."""
    for line in r.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key and value and key not in r.values:
            r.values[key] = value.strip()


def check(w, a, r):
    """"ok", or why the run of w on allocator a is wrong though it exited 0."""
    status = sqlite_postprocess(w, r) if w.kind == "sqlite" else "ok"
    if status == "ok":
        status = verify(w, a, r)
    return status


def sqlite_postprocess(w, r):
    """sqlite3 prints no checksum: compare its output with the expected
    one, and take the requested peak from its own memory statistics."""
    lines = r.stdout.splitlines()
    if "end" not in lines:
        return "the output stops before the end of the script"
    got = lines[:lines.index("end") + 1]
    if got != w.expected:
        diff = next(i for i, (x, y) in enumerate(zip(got + [None] * 99, w.expected + [None] * 99))
                    if x != y)
        return "output line %d is %r, not %r" % (diff + 1, (got + [None] * 99)[diff],
                                                 (w.expected + [None] * 99)[diff])
    r.values["checksum"] = "%08x" % (hash_lines(got))
    for line in lines:
        if line.startswith("Memory Used:") and "(max" in line:
            r.values["requested_peak_bytes"] = line.split("(max")[1].split(")")[0].strip()
    return "ok"


def hash_lines(lines):
    h = 2166136261
    for ch in "\n".join(lines).encode():
        h = ((h ^ ch) * 16777619) & 0xffffffff
    return h


def verify(w, a, r):
    """What the driver checks besides the exit status: a checksum, and
    (C workloads) malloc bound to the allocator meant."""
    if "checksum" not in r.values:
        return "no checksum line in the output"
    if w.kind == "c":
        got = os.path.realpath(r.values.get("malloc_from", "?"))
        if a.path is None:
            if not os.path.basename(got).startswith("libc.so"):
                return "malloc came from %s, not the C library" % got
        elif got != os.path.realpath(a.path):
            return "malloc came from %s, not %s (LD_PRELOAD did not take)" % (got, a.path)
    return "ok"


def consistent_checksums(w, allocs, runs, failures):
    """Every allocator must print the checksum most runs printed."""
    seen = {}
    for a in allocs:
        for r in runs.get((w.name, a.name), []):
            if r.status == "ok":
                seen.setdefault(r.values["checksum"], []).append(a.name)
    if len(seen) <= 1:
        return
    ref = max(seen, key=lambda c: len(seen[c]))
    for c, names in seen.items():
        if c == ref:
            continue
        for n in sorted(set(names)):
            why = "checksum %s, where the others printed %s" % (c, ref)
            failures.append((w.name, n, why))
            for r in runs[w.name, n]:
                if r.status == "ok" and r.values["checksum"] == c:
                    r.status = why
