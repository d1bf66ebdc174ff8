#!/usr/bin/python3
"""run.py — the side-by-side benchmark suite (`make bench`): kmem against
glibc's malloc, jemalloc, tcmalloc and mimalloc on the same workloads, in
the same invocation.

    bench/run.py --build build/release [--quick] [--reps N] [--out build/bench]
                 [--workloads a,b,...] [--allocators a,b,...] [--no-callgrind]
    bench/run.py --check --build build/release

Needs: Debian's /usr/bin/python3 (standard library only) and util-linux's
setsid. Uses when present, and names the Debian package when not (`make
bench-deps` installs them): libjemalloc-dev, libgoogle-perftools-dev,
libmimalloc-dev (the peers), python3.11 and sqlite3 (the real programs),
valgrind (instruction counts), gnuplot-nox (the chart).

What it owns: running the workloads (bench/workloads/*.c, built by
mk/build.mk into BUILD/bench/workloads/, and two real programs: Debian's
python3.11 on bench/workloads/python_alloc.py, and the sqlite3 CLI on an SQL
script generated here) under each allocator, measuring them, checking them,
and writing the results:

  OUT/results.csv   workload,allocator,median_seconds,peak_rss_kib
  OUT/extra.csv     workload,allocator,metric,value: spread, ratios to
                    kmem, requested peak and utilization, fast-path ns per
                    pair, callgrind instructions per pair, geometric means
  OUT/results.md    the tables (also printed on standard output), with the
                    date and the machine; bench/update_readme.py copies it
                    into README.md
  OUT/results.png, OUT/results.svg   the ratios to kmem, drawn by gnuplot

Method. Each allocator is put under the unchanged program: glibc with no
LD_PRELOAD, the others with LD_PRELOAD=their .so (kmem's is
BUILD/lib/libkmem.so). Every workload runs REPS times per allocator
(default 5; --quick: 3 at the workloads' quick sizes), interleaved: rep 1
of every allocator, then rep 2, ..., the order rotated each rep, so that
noise from a shared machine falls on all alike. In full mode one untimed
run per workload goes first (to warm the file cache). A run is timed with
time.monotonic() around the child (spawn to wait4), and its peak RSS is
the ru_maxrss the kernel reports for it through os.wait4 (KiB; the child
is started through `setsid -f` so that the figure is its own: spawn()). Reported:
medians; ratios are an allocator's median over kmem's in this same
invocation (above 1: kmem is faster or smaller). Nothing here asserts on a
time.

Checks. A workload checks its own results (exit status 1 on a wrong
one); here, besides, a run must exit 0, print the same checksum under every
allocator, and have had its malloc bound to the allocator meant (the C
workloads print where malloc came from, via dladdr). A failed run is named
(workload, allocator, why) and makes the exit status 1; timings are never a
failure. Exit status 2: a usage or set-up error (kmem not built).

--check: every workload once at its quick size on kmem and on glibc, for
`make test`; prints ok/FAIL lines.
"""

import argparse
import csv
import datetime
import math
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD_DIR = os.path.join(ROOT, "bench", "workloads")
PYTHON = "/usr/bin/python3.11"  # Debian's binary itself, not a wrapper or shim
MULTIARCH = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
LIBDIRS = ["/usr/lib/" + MULTIARCH, "/lib/" + MULTIARCH, "/usr/lib", "/usr/local/lib"]
DEPS_HINT = "`make bench-deps` installs the peer allocators and tools"
SETSID = shutil.which("setsid") or "/usr/bin/setsid"  # util-linux

# Environment variables that would change an allocator's or a program's
# behaviour: removed for every run, so that all run alike.
SCRUB_PREFIXES = ("LD_PRELOAD", "KMEM_", "MALLOC_", "GLIBC_TUNABLES", "JE_MALLOC",
                  "TCMALLOC_", "HEAPPROFILE", "HEAPCHECK", "CPUPROFILE", "MIMALLOC_",
                  "PYTHON")


# ---- allocators ---------------------------------------------------------------------

class Allocator:
    def __init__(self, name, soname, package):
        self.name = name
        self.soname = soname    # None: glibc's malloc, nothing preloaded
        self.package = package  # the Debian package that provides it
        self.path = None        # the .so used, if any
        self.origin = None      # kmem: the build's .so that path is a copy of

    def find(self, build):
        if self.origin is not None:  # --also NAME=PATH: a given library
            self.path = self.origin if os.path.isfile(self.origin) else None
            return self.path is not None
        if self.name == "kmem":
            p = os.path.join(build, "lib", "libkmem.so")
            self.path = p if os.path.isfile(p) else None
        elif self.soname is not None:
            self.path = next((os.path.join(d, self.soname) for d in LIBDIRS
                              if os.path.isfile(os.path.join(d, self.soname))), None)
        return self.soname is None or self.path is not None

    def env(self, base):
        env = dict(base)
        if self.path is not None:
            env["LD_PRELOAD"] = self.path
        return env


def all_allocators():
    # kmem first: the one the others are compared to. tcmalloc is the full
    # library (gperftools), not tcmalloc_minimal: what programs link.
    return [Allocator("kmem", None, None),
            Allocator("glibc", None, "libc6"),
            Allocator("jemalloc", "libjemalloc.so.2", "libjemalloc-dev"),
            Allocator("tcmalloc", "libtcmalloc.so.4", "libgoogle-perftools-dev"),
            Allocator("mimalloc", "libmimalloc.so.2", "libmimalloc-dev")]


# ---- workloads ----------------------------------------------------------------------

class Workload:
    """One row of the tables: a program, its arguments at full and quick
    size, and what it needs."""

    def __init__(self, name, kind, full, quick, needs=None, package=None):
        self.name = name
        self.kind = kind        # "c", "python" or "sqlite"
        self.full = full        # arguments (c: after the program; others: a size)
        self.quick = quick
        self.needs = needs      # a program that must exist
        self.package = package  # its Debian package
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
        # python: rounds of python_alloc.py; sqlite: rows inserted.
        Workload("python", "python", 20, 2, needs=PYTHON, package="python3.11"),
        Workload("sqlite", "sqlite", 200000, 20000, needs="sqlite3", package="sqlite3"),
    ]


def c_program(build, w):
    return os.path.join(build, "bench", "workloads", w.name.split("-")[0])


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


# ---- running one child ------------------------------------------------------------

class Result:
    def __init__(self):
        self.seconds = None
        self.cpu_seconds = None  # user + system, from the same rusage
        self.rss_kib = None
        self.status = None   # "ok" or why it failed
        self.values = {}     # "key value" lines of its output
        self.stdout = ""
        self.stderr = ""


def become_subreaper():
    """Makes this process the reaper of its orphaned descendants (Linux
    prctl PR_SET_CHILD_SUBREAPER), so that spawn() can wait for a program
    whose own parent has gone."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        sys.exit("run.py: prctl(PR_SET_CHILD_SUBREAPER) failed (errno %d): "
                 "peak RSS could not be measured" % ctypes.get_errno())


def our_children():
    """The pids whose parent is this process (for killing on a timeout)."""
    me, pids = os.getpid(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def kill_children():
    for pid in our_children():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def spawn(argv, env, stdin_path, tmp, timeout):
    """Runs argv; returns a Result with the wall time and the peak RSS.

    The program is started through `setsid -f`, which forks it and exits
    at once; this process, a subreaper, then inherits it and waits for it
    with os.wait4. Why not posix_spawn it directly: the kernel's ru_maxrss
    of a process carries over the resident size of the address space it
    was exec'ed from, and a child spawned from here starts from this
    Python process's (about 20 MiB, more than most workloads); forked
    from setsid, it starts from setsid's (about 1 MiB, less than any
    workload). The few hundred microseconds setsid takes are in every
    allocator's time alike."""
    r = Result()
    out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
    actions = [(os.POSIX_SPAWN_OPEN, 0, stdin_path or os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
               (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        kill_children()

    t0 = time.monotonic()
    launcher = os.posix_spawn(SETSID, ["setsid", "-f"] + argv, env, file_actions=actions)
    _, status, _ = os.wait4(launcher, 0)
    if status != 0:
        with open(err_path, errors="replace") as f:
            r.status = "could not be started (setsid: %s)" % f.read().strip()
        return r
    timer = threading.Timer(timeout, on_timeout)
    timer.start()
    try:
        _, status, usage = os.wait4(-1, 0)  # the program, now our child
    except KeyboardInterrupt:
        kill_children()
        raise
    finally:
        timer.cancel()
    t1 = time.monotonic()
    r.seconds = t1 - t0
    r.rss_kib = usage.ru_maxrss
    r.cpu_seconds = usage.ru_utime + usage.ru_stime
    with open(out_path, errors="replace") as f:
        r.stdout = f.read()
    with open(err_path, errors="replace") as f:
        r.stderr = f.read()
    for line in r.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key and value and key not in r.values:
            r.values[key] = value.strip()
    if timed_out:
        r.status = "timed out after %d s (killed)" % timeout
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        r.status = "killed by signal %d (%s)" % (sig, signal.Signals(sig).name)
    elif os.WEXITSTATUS(status) != 0:
        r.status = "exit status %d" % os.WEXITSTATUS(status)
    else:
        r.status = "ok"
    if r.status != "ok":
        tail = (r.stderr.strip().splitlines() or [""])[-3:]
        if any(tail):
            r.status += ": " + " | ".join(t.strip() for t in tail if t.strip())
    return r


class Runner:
    def __init__(self, build, tmp, quick):
        self.build = build
        self.tmp = tmp
        self.quick = quick
        self.timeout = 120 if quick else 600
        base = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB_PREFIXES)}
        base["LC_ALL"] = "C"
        self.base_env = base

    def command(self, w, extra_py=()):
        """argv, extra environment and stdin for workload w."""
        if w.kind == "c":
            return [w.prog] + w.size(self.quick), {}, None
        if w.kind == "python":
            return ([PYTHON, "-s"] + list(extra_py) +
                    [os.path.join(WORKLOAD_DIR, "python_alloc.py"), str(w.size(self.quick))],
                    {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0",
                     "PYTHONDONTWRITEBYTECODE": "1"}, None)
        return [w.prog, "-batch", "-bail"], {}, w.sql

    def run(self, w, a, extra_py=()):
        argv, extra_env, stdin = self.command(w, extra_py)
        env = a.env(self.base_env)
        env.update(extra_env)
        r = spawn(argv, env, stdin, self.tmp, self.timeout)
        if r.status == "ok" and w.kind == "sqlite":
            r.status = sqlite_postprocess(w, r)
        if r.status == "ok":
            r.status = self.verify(w, a, r)
        return r

    def verify(self, w, a, r):
        """What the driver checks besides the exit status."""
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


# ---- progress -------------------------------------------------------------------------

class Progress:
    """One line per run on stderr, with a rough estimate of the time left:
    the mean time per run so far of the same kind of run (the workload, or
    callgrind), else of any."""

    def __init__(self, tasks):
        self.total = len(tasks)
        self.kinds = [t[0] for t in tasks]
        self.done = 0
        self.start = time.monotonic()
        self.spent = {}

    def step(self, kind, text):
        now = time.monotonic()
        self.spent.setdefault(kind, []).append(now - self.last if self.done else now - self.start)
        self.last = now
        self.done += 1
        every = [s for v in self.spent.values() for s in v]
        mean_all = sum(every) / len(every)
        left = 0.0
        for k in self.kinds[self.done:]:
            v = self.spent.get(k)
            left += sum(v) / len(v) if v else mean_all
        sys.stderr.write("[%3d/%d] %s   %s elapsed, ~%s left\n"
                         % (self.done, self.total, text, clock(now - self.start), clock(left)))
        sys.stderr.flush()


def clock(s):
    s = int(round(s))
    return "%d:%02d" % (s // 60, s % 60)


# ---- callgrind -------------------------------------------------------------------------

CG_SIZE, CG_N1, CG_N2 = 64, 100000, 200000


def callgrind_count(runner, prog, a, pairs, tmp):
    """Instructions callgrind counts in pairs_<size> (and what it calls)."""
    out = os.path.join(tmp, "cg.out")
    argv = [shutil.which("valgrind"), "--tool=callgrind",
            "--toggle-collect=pairs_%d" % CG_SIZE, "--callgrind-out-file=" + out,
            prog, "--only", str(CG_SIZE), "-n", str(pairs)]
    r = spawn(argv, a.env(runner.base_env), None, tmp, 600)
    if r.status != "ok":
        return None, "valgrind: " + r.status
    total = summary = None
    with open(out) as f:
        for line in f:
            if line.startswith("totals:"):
                total = int(line.split()[1])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
    n = total if total is not None else summary
    if not n:
        return None, "callgrind counted nothing in pairs_%d" % CG_SIZE
    return n, "ok"


# ---- statistics and tables -------------------------------------------------------------

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return "%.1f %s" % (n / size, unit)
    return "%d B" % n


def fmt_percent(x):
    p = 100.0 * x
    return "%.0f%%" % p if p >= 10 else "%.1f%%" % p if p >= 1 else "%.2f%%" % p


def fmt_ratio(x):
    return "%.2f×" % x if x is not None else "n/a"


def machine_lines():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    return uname or platform.platform(), cpu, os.cpu_count()


def package_version(path):
    """The Debian package and version a library file comes from."""
    for p in (path, path.replace("/usr/lib/", "/lib/", 1)):
        q = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if q.returncode == 0:
            pkg = q.stdout.split(":")[0].strip()
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                               capture_output=True, text=True).stdout.strip()
            return "%s %s" % (pkg, v)
    return None


def kmem_version():
    try:
        with open(os.path.join(ROOT, "VERSION")) as f:
            v = f.read().strip()
    except OSError:
        v = "?"
    g = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return v + (" (git %s)" % g.stdout.strip() if g.returncode == 0 else "")


class Report:
    """The medians and everything computed from them."""

    def __init__(self, workloads, allocs, runs, reps, quick):
        self.workloads = workloads
        self.allocs = allocs
        self.names = [a.name for a in allocs]
        self.reps = reps
        self.quick = quick
        self.med = {}    # (w, a) -> (seconds, rss_kib)
        self.spread = {}  # (w, a) -> (min s, max s)
        self.cpu = {}    # (w, a) -> median CPU seconds (user + system)
        self.req = {}    # (w, a) -> requested peak bytes
        self.fast = {}   # (a, size) -> ns/pair
        for (w, a), rs in runs.items():
            good = [r for r in rs if r.status == "ok"]
            if len(good) != len(rs) or not good:
                continue
            secs = [r.seconds for r in good]
            self.med[w, a] = (statistics.median(secs),
                              int(round(statistics.median(r.rss_kib for r in good))))
            self.spread[w, a] = (min(secs), max(secs))
            self.cpu[w, a] = statistics.median(r.cpu_seconds for r in good)
            reqs = [int(r.values["requested_peak_bytes"]) for r in good
                    if r.values.get("requested_peak_bytes", "").isdigit()]
            if reqs:
                self.req[w, a] = int(statistics.median(reqs))
            for size in (16, 64, 256, 1024):
                v = [float(r.values["ns_per_pair_%d" % size]) for r in good
                     if "ns_per_pair_%d" % size in r.values]
                if v:
                    self.fast[a, size] = statistics.median(v)
        # The geometric means run over the workloads every allocator passed.
        self.common = [w.name for w in workloads
                       if all((w.name, n) in self.med for n in self.names)]
        self.geo = {}
        if self.common:
            for n in self.names:
                self.geo[n] = (geomean([self.med[w, n][0] for w in self.common]),
                               geomean([self.med[w, n][1] for w in self.common]))

    def ratio(self, w, a, i):
        if (w, a) in self.med and (w, "kmem") in self.med:
            return self.med[w, a][i] / self.med[w, "kmem"][i]
        return None

    def utilization(self, w, a):
        if (w, a) in self.req and (w, a) in self.med:
            return self.req[w, a] / (self.med[w, a][1] * 1024.0)
        return None

    def worst(self):
        """kmem's workloads ranked by how far it is from the best peer,
        in time or in memory, whichever is further."""
        rows = []
        peers = [n for n in self.names if n != "kmem"]
        for w in self.workloads:
            if (w.name, "kmem") not in self.med:
                continue
            have = [p for p in peers if (w.name, p) in self.med]
            if not have:
                continue
            bt = min(have, key=lambda p: self.med[w.name, p][0])
            bm = min(have, key=lambda p: self.med[w.name, p][1])
            kt, km = self.med[w.name, "kmem"]
            rt, rm = kt / self.med[w.name, bt][0], km / self.med[w.name, bm][1]
            rows.append((max(rt, rm), w.name, rt, bt, rm, bm))
        rows.sort(reverse=True)
        return rows[:3]


def markdown(rep, missing, failures, notes, callgrind, mode_line, total_seconds, kmem_ver):
    uname, cpu, ncpu = machine_lines()
    L = []
    L.append("## Benchmark results")
    L.append("")
    L.append("Measured %s on `%s`, %s, %d CPUs (`bench/run.py`, %s; %s in all)."
             % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), uname, cpu, ncpu,
                mode_line, clock(total_seconds)))
    vers = ["kmem %s" % kmem_ver]
    for a in rep.allocs:
        if a.name == "kmem":
            continue
        path = a.path if a.path else "/lib/%s/libc.so.6" % MULTIARCH
        pv = package_version(path)
        vers.append("%s (%s)" % (a.name, pv) if pv else a.name)
    L.append("Allocators: " + ", ".join(vers) + ".")
    L.append("Each cell is the median over the repetitions; the ratio is that allocator's "
             "median over kmem's (above 1: kmem is faster / uses less memory). "
             "Peak RSS is the kernel's ru_maxrss for the process, program and libraries "
             "included.")
    L.append("")
    for title, i, fmt in (("Wall time, seconds", 0, lambda v: "%.3f" % v),
                          ("Peak RSS, MiB", 1, lambda v: "%.1f" % (v / 1024.0))):
        L.append("### " + title)
        L.append("")
        L.append("| workload | " + " | ".join(rep.names) + " |")
        L.append("| --- |" + " ---: |" * len(rep.names))
        for w in rep.workloads:
            cells = []
            for n in rep.names:
                if (w.name, n) not in rep.med:
                    cells.append("FAILED" if any(f[0] == w.name and f[1] == n for f in failures)
                                 else "–")
                elif n == "kmem":
                    cells.append(fmt(rep.med[w.name, n][i]))
                else:
                    cells.append("%s (%s)" % (fmt(rep.med[w.name, n][i]),
                                              fmt_ratio(rep.ratio(w.name, n, i))))
            L.append("| %s | %s |" % (w.name, " | ".join(cells)))
        if rep.geo:
            cells = []
            for n in rep.names:
                g = rep.geo[n][i]
                r = g / rep.geo["kmem"][i] if "kmem" in rep.geo else None
                cells.append("**%s**" % fmt(g) if n == "kmem" else
                             "**%s (%s)**" % (fmt(g), fmt_ratio(r)))
            L.append("| **geomean** | %s |" % " | ".join(cells))
        L.append("")
    L.append("### Run-to-run spread of the wall time, (max − min) / median")
    L.append("")
    L.append("| workload | " + " | ".join(rep.names) + " |")
    L.append("| --- |" + " ---: |" * len(rep.names))
    for w in rep.workloads:
        cells = []
        for n in rep.names:
            if (w.name, n) in rep.spread:
                lo, hi = rep.spread[w.name, n]
                cells.append("%.0f%%" % (100.0 * (hi - lo) / rep.med[w.name, n][0]))
            else:
                cells.append("–")
        L.append("| %s | %s |" % (w.name, " | ".join(cells)))
    L.append("")
    L.append("A wide spread means the machine was busy with something else during some "
             "repetitions; the median is robust to a few such runs, not to many. "
             "extra.csv also has each run's median CPU time (user + system).")
    L.append("")
    if rep.geo and len(rep.common) < len(rep.workloads):
        L.append("Geometric means over the workloads every allocator passed: %s."
                 % ", ".join(rep.common))
        L.append("")

    L.append("### Utilization (requested peak / peak RSS)")
    L.append("")
    L.append("| workload | requested peak | " + " | ".join(rep.names) + " |")
    L.append("| --- | ---: |" + " ---: |" * len(rep.names))
    for w in rep.workloads:
        reqs = [rep.req[w.name, n] for n in rep.names if (w.name, n) in rep.req]
        req = fmt_bytes(statistics.median(reqs)) if reqs else "–"
        cells = [fmt_percent(rep.utilization(w.name, n))
                 if rep.utilization(w.name, n) is not None else "–" for n in rep.names]
        L.append("| %s | %s | %s |" % (w.name, req, " | ".join(cells)))
    L.append("")
    L.append("Requested peak: the most bytes the workload had asked for and not freed "
             "(the C workloads count it themselves; python: tracemalloc's peak in one "
             "extra untimed run; sqlite: its own memory statistics). RSS includes the "
             "program itself, so small working sets show a low utilization for everyone.")
    L.append("")

    if rep.fast:
        L.append("### Fast path: ns per malloc/free pair (fastpath workload, medians)")
        L.append("")
        L.append("| size | " + " | ".join(rep.names) + " |")
        L.append("| ---: |" + " ---: |" * len(rep.names))
        for size in (16, 64, 256, 1024):
            L.append("| %d | %s |" % (size, " | ".join(
                "%.2f" % rep.fast[n, size] if (n, size) in rep.fast else "–"
                for n in rep.names)))
        L.append("")
    L.append("### Fast path: instructions per malloc/free pair (callgrind, %d bytes)" % CG_SIZE)
    L.append("")
    if callgrind.get("skipped"):
        L.append(callgrind["skipped"])
    else:
        L.append("| allocator | instructions/pair | × kmem |")
        L.append("| --- | ---: | ---: |")
        k = callgrind.get("kmem")
        for n in rep.names:
            v = callgrind.get(n)
            if isinstance(v, float):
                L.append("| %s | %.1f | %s |" % (n, v, fmt_ratio(v / k) if isinstance(k, float) else "n/a"))
            else:
                L.append("| %s | failed: %s | |" % (n, v))
        L.append("")
        L.append("Counted in the workload's loop function (`--toggle-collect=pairs_%d`), as the "
                 "slope between %d and %d pairs, so start-up and warm-up are not counted; the "
                 "loop's own instructions (a store, a load, a compare) are included."
                 % (CG_SIZE, CG_N1, CG_N2))
    L.append("")

    worst = rep.worst()
    if worst:
        L.append("### kmem's three worst workloads, against the best peer")
        L.append("")
        for _, name, rt, bt, rm, bm in worst:
            L.append("- **%s**: time %.2f× %s's, peak RSS %.2f× %s's"
                     % (name, rt, bt, rm, bm))
        L.append("")
    if missing or failures or notes:
        L.append("### Notes")
        L.append("")
        for m in missing:
            L.append("- " + m)
        for w, a, why in failures:
            L.append("- FAILED: %s on %s: %s" % (w, a, why))
        for n in notes:
            L.append("- " + n)
        L.append("")
    return "\n".join(L)


def write_csvs(rep, out, callgrind):
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["workload", "allocator", "median_seconds", "peak_rss_kib"])
        for w in rep.workloads:
            for n in rep.names:
                if (w.name, n) in rep.med:
                    s, k = rep.med[w.name, n]
                    wr.writerow([w.name, n, "%.4f" % s, k])
    with open(os.path.join(out, "extra.csv"), "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["workload", "allocator", "metric", "value"])
        for w in rep.workloads:
            for n in rep.names:
                if (w.name, n) not in rep.med:
                    continue
                lo, hi = rep.spread[w.name, n]
                wr.writerow([w.name, n, "min_seconds", "%.4f" % lo])
                wr.writerow([w.name, n, "max_seconds", "%.4f" % hi])
                wr.writerow([w.name, n, "median_cpu_seconds", "%.4f" % rep.cpu[w.name, n]])
                for i, m in ((0, "time_ratio_to_kmem"), (1, "rss_ratio_to_kmem")):
                    r = rep.ratio(w.name, n, i)
                    if r is not None:
                        wr.writerow([w.name, n, m, "%.4f" % r])
                if (w.name, n) in rep.req:
                    wr.writerow([w.name, n, "requested_peak_bytes", rep.req[w.name, n]])
                    wr.writerow([w.name, n, "utilization", "%.4f" % rep.utilization(w.name, n)])
        for (n, size), v in sorted(rep.fast.items(), key=lambda kv: (rep.names.index(kv[0][0]), kv[0][1])):
            wr.writerow(["fastpath", n, "ns_per_pair_%d" % size, "%.3f" % v])
        for n in rep.names:
            if isinstance(callgrind.get(n), float):
                wr.writerow(["fastpath", n, "callgrind_instructions_per_pair_%d" % CG_SIZE,
                             "%.1f" % callgrind[n]])
        for n, (gs, gk) in rep.geo.items():
            wr.writerow(["geomean", n, "geomean_seconds", "%.4f" % gs])
            wr.writerow(["geomean", n, "geomean_rss_kib", "%.1f" % gk])
            if "kmem" in rep.geo:
                wr.writerow(["geomean", n, "time_ratio_to_kmem", "%.4f" % (gs / rep.geo["kmem"][0])])
                wr.writerow(["geomean", n, "rss_ratio_to_kmem", "%.4f" % (gk / rep.geo["kmem"][1])])


def draw_chart(rep, out, title):
    """Two panels of grouped bars: each peer's time and peak RSS over
    kmem's, per workload and for the geometric means. The bars are drawn
    on a log scale from 1 (kmem): up where the peer takes more than kmem,
    down where it takes less. Returns a note, or None when drawn."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return "gnuplot is missing (Debian package gnuplot-nox): no chart drawn"
    peers = [n for n in rep.names if n != "kmem"]
    if "kmem" not in rep.names or not peers:
        return "no chart: it needs kmem and at least one peer"
    rows = [(w.name, [rep.ratio(w.name, p, 0) for p in peers],
             [rep.ratio(w.name, p, 1) for p in peers]) for w in rep.workloads]
    if rep.geo and "kmem" in rep.geo:
        rows.append(("geomean", [rep.geo[p][0] / rep.geo["kmem"][0] for p in peers],
                     [rep.geo[p][1] / rep.geo["kmem"][1] for p in peers]))
    vals = [v for _, t, m in rows for v in t + m if v is not None]
    if not vals:
        return "no chart: no ratios to draw"
    # log2 of the ratios, on a linear axis: boxes grow from 0 (= 1×).
    lo = math.floor(min(0.0, min(math.log2(v) for v in vals)) - 0.25)
    hi = math.ceil(max(0.0, max(math.log2(v) for v in vals)) + 0.25)
    tics = ", ".join('"%s×" %d' % (("%g" % (2.0 ** e)), e) for e in range(lo, hi + 1))
    dat = os.path.join(out, "chart.dat")
    with open(dat, "w") as f:
        f.write("# log2(peer / kmem): workload, time for " + " ".join(peers) +
                ", peak RSS for " + " ".join(peers) + "\n")
        for name, t, m in rows:
            f.write(name + " " + " ".join("%.4f" % math.log2(v) if v is not None else "NaN"
                                          for v in t + m) + "\n")
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    plots = []
    for first in (2, 2 + len(peers)):
        plots.append(", ".join("'%s' using %d:xtic(1) title '%s' lc rgb '%s'"
                               % (dat, first + i, p, colors[i % len(colors)])
                               for i, p in enumerate(peers)))
    body = """
set termoption noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set xrange [-0.6:%(n)d - 0.4]
set yrange [%(lo)d:%(hi)d]
set ytics (%(tics)s)
set grid ytics
set key outside right top
set xtics rotate by -30 nomirror
set xzeroaxis lt 1 lw 2 lc rgb 'black'
set datafile missing 'NaN'
set multiplot layout 2,1 title "%(title)s"
set title "wall time of each peer relative to kmem (log scale; up: the peer is slower than kmem)"
set ylabel "time / kmem's"
plot %(p0)s
set title "peak RSS of each peer relative to kmem (log scale; up: the peer uses more memory than kmem)"
set ylabel "peak RSS / kmem's"
plot %(p1)s
unset multiplot
""" % {"n": len(rows), "lo": lo, "hi": hi, "tics": tics, "title": title.replace('"', "'"),
       "p0": plots[0], "p1": plots[1]}
    gp = os.path.join(out, "chart.gp")
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size 1200,900 font 'sans,10'\n")
        f.write("set output '%s'\n" % os.path.join(out, "results.png"))
        f.write(body)
        f.write("set terminal svg size 1200,900 font 'sans,10' dynamic\n")
        f.write("set output '%s'\n" % os.path.join(out, "results.svg"))
        f.write(body)
    q = subprocess.run([gnuplot, gp], capture_output=True, text=True)
    if q.returncode != 0:
        return "gnuplot failed: " + q.stderr.strip()[-300:]
    return None


# ---- the suite ---------------------------------------------------------------------------

def prepare(args, tmp, quick, names_w, names_a):
    """Finds the allocators and the programs; returns (workloads,
    allocators, missing notes)."""
    build = os.path.abspath(args.build)
    missing = []
    allocs = []
    extra = []
    for spec in getattr(args, "also", None) or []:
        name, _, path = spec.partition("=")
        if not name or not path:
            sys.exit("run.py: --also takes NAME=PATH to a malloc library, not %r" % spec)
        a = Allocator(name, None, None)
        a.origin = os.path.abspath(path)
        extra.append(a)
    for a in all_allocators() + extra:
        if names_a and a.name not in names_a and a not in extra:
            continue
        if a.find(build):
            if a.name == "kmem" or a in extra:
                # A private copy: the library may be rebuilt while the
                # suite runs, and every kmem run must be of the same one.
                copy = os.path.join(tmp, "lib%s.so" % a.name)
                shutil.copy2(a.path, copy)
                a.origin, a.path = a.path, copy
            allocs.append(a)
        elif a in extra:
            sys.exit("run.py: --also %s: %s is missing" % (a.name, a.origin))
        elif a.name == "kmem":
            sys.exit("run.py: %s/lib/libkmem.so is missing: build kmem first "
                     "(make -f mk/build.mk O=%s lib benches)" % (args.build, args.build))
        else:
            missing.append("%s is missing (%s not found in %s; Debian package %s); %s"
                           % (a.name, a.soname, ", ".join(LIBDIRS[:2]), a.package, DEPS_HINT))
    workloads = []
    for w in all_workloads():
        if names_w and w.name not in names_w:
            continue
        if w.kind == "c":
            w.prog = c_program(build, w)
            if not os.access(w.prog, os.X_OK):
                sys.exit("run.py: %s is missing: build the benchmarks first "
                         "(make -f mk/build.mk O=%s benches)" % (w.prog, args.build))
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
    return workloads, allocs, missing


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


def run_suite(args):
    quick = args.quick
    reps = args.reps if args.reps else (3 if quick else 5)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="kmem-bench.")
    try:
        t_start = time.monotonic()
        names_w = args.workloads.split(",") if args.workloads else None
        names_a = args.allocators.split(",") if args.allocators else None
        kmem_ver = kmem_version()  # the source tree as the library is copied
        workloads, allocs, missing = prepare(args, tmp, quick, names_w, names_a)
        kcopy = next((a.path for a in allocs if a.name == "kmem"), None)
        if kcopy:
            import hashlib
            with open(kcopy, "rb") as f:
                kmem_ver += ", libkmem.so sha256 %s" % hashlib.sha256(f.read()).hexdigest()[:12]
        runner = Runner(os.path.abspath(args.build), tmp, quick)
        notes = []

        do_cg = not quick and not args.no_callgrind
        valgrind = shutil.which("valgrind")
        callgrind = {}
        if not do_cg:
            callgrind["skipped"] = ("Skipped (%s)." % ("--quick" if quick else "--no-callgrind"))
        elif valgrind is None:
            callgrind["skipped"] = ("Skipped: valgrind is missing (Debian package valgrind); "
                                    + DEPS_HINT + ".")
            do_cg = False
        fast = next((w for w in all_workloads() if w.name == "fastpath"), None)
        fast_prog = c_program(os.path.abspath(args.build), fast)
        if do_cg and not os.access(fast_prog, os.X_OK):
            callgrind["skipped"] = "Skipped: %s is not built." % fast_prog
            do_cg = False

        # The plan: (kind, what) in order.
        tasks = []
        for w in workloads:
            if not quick:
                tasks.append((w.name, ("warm", w, allocs[0], 0)))
            if w.kind == "python":
                glibc = next((a for a in allocs if a.name == "glibc"), allocs[0])
                tasks.append((w.name, ("tracemalloc", w, glibc, 0)))
            for rep in range(reps):
                k = rep % len(allocs)
                for a in allocs[k:] + allocs[:k]:
                    tasks.append((w.name, ("run", w, a, rep)))
        if do_cg:
            for a in allocs:
                for n in (CG_N1, CG_N2):
                    tasks.append(("callgrind", ("callgrind", None, a, n)))

        sys.stderr.write("bench: %d workloads × %d allocators × %d reps%s (%s mode), %d runs in all\n"
                         % (len(workloads), len(allocs), reps,
                            " + callgrind" if do_cg else "", "quick" if quick else "full",
                            len(tasks)))
        for m in missing:
            sys.stderr.write("bench: " + m + "\n")
        progress = Progress(tasks)
        runs = {}
        failures = []
        requested_py = None
        cg_counts = {}
        for i, (kind, (what, w, a, n)) in enumerate(tasks):
            if what == "callgrind":
                count, why = callgrind_count(runner, fast_prog, a, n, tmp)
                if count is None:
                    callgrind[a.name] = why
                else:
                    cg_counts[a.name, n] = count
                progress.step(kind, "callgrind %-9s %d pairs: %s"
                              % (a.name, n, count if count is not None else why))
                continue
            if what == "tracemalloc":
                r = runner.run(w, a, extra_py=("-X", "tracemalloc"))
                if r.status == "ok" and r.values.get("requested_peak_bytes", "").isdigit():
                    requested_py = int(r.values["requested_peak_bytes"])
                else:
                    notes.append("python: the tracemalloc run failed (%s): no requested "
                                 "peak" % r.status)
                progress.step(kind, "%-15s %-9s requested bytes (tracemalloc, untimed)"
                              % (w.name, a.name))
                continue
            r = runner.run(w, a)
            label = "%-15s %-9s %s" % (w.name, a.name,
                                       "warm-up (untimed)" if what == "warm"
                                       else "rep %d/%d" % (n + 1, reps))
            if r.status == "ok":
                progress.step(kind, "%s %7.3f s %7.1f MiB" % (label, r.seconds, r.rss_kib / 1024.0))
            else:
                progress.step(kind, "%s FAILED: %s" % (label, r.status))
            if what == "warm":
                if r.status != "ok":
                    failures.append((w.name, a.name, "(warm-up run) " + r.status))
                continue
            if w.kind == "python" and requested_py is not None:
                r.values["requested_peak_bytes"] = str(requested_py)
            runs.setdefault((w.name, a.name), []).append(r)
            if r.status != "ok":
                failures.append((w.name, a.name, "rep %d: %s" % (n + 1, r.status)))
            # The workload's last run: compare the checksums.
            if i + 1 == len(tasks) or tasks[i + 1][1][1] is not w:
                consistent_checksums(w, allocs, runs, failures)

        for a in allocs:
            if (a.name, CG_N1) in cg_counts and (a.name, CG_N2) in cg_counts:
                callgrind[a.name] = ((cg_counts[a.name, CG_N2] - cg_counts[a.name, CG_N1])
                                     / float(CG_N2 - CG_N1))
            elif do_cg and a.name not in callgrind:
                callgrind[a.name] = "no count"

        total = time.monotonic() - t_start
        rep = Report(workloads, allocs, runs, reps, quick)
        write_csvs(rep, out, callgrind)
        mode_line = "%s mode, %d repetitions interleaved" % ("quick" if quick else "full", reps)
        uname, cpu, ncpu = machine_lines()
        note = draw_chart(rep, out, "kmem against its peers — %s, %s, %d CPUs (%s)"
                          % (uname, cpu, ncpu, "quick" if quick else "full"))
        if note:
            notes.append(note)
        md = markdown(rep, missing, failures, notes, callgrind, mode_line, total, kmem_ver)
        with open(os.path.join(out, "results.md"), "w") as f:
            f.write(md + "\n")
        print(md)
        print("files: %s/results.csv, extra.csv, results.md%s"
              % (out, "" if note else ", results.png, results.svg"))
        if failures:
            sys.stderr.write("bench: %d failed run(s):\n" % len(failures))
            for w, a, why in failures:
                sys.stderr.write("bench: FAILED: workload %s on %s: %s\n" % (w, a, why))
            return 1
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_check(args):
    """Every workload once, quick size, on kmem and glibc."""
    tmp = tempfile.mkdtemp(prefix="kmem-bench-check.")
    try:
        workloads, allocs, missing = prepare(args, tmp, True, None, ["kmem", "glibc"])
        runner = Runner(os.path.abspath(args.build), tmp, True)
        for m in missing:
            print("skip: " + m)
        failed = 0
        for w in workloads:
            runs = {}
            for a in allocs:
                r = runner.run(w, a)
                runs[w.name, a.name] = [r]
            fails = []
            consistent_checksums(w, allocs, runs, fails)
            for a in allocs:
                r = runs[w.name, a.name][0]
                if r.status == "ok":
                    print("ok   %-15s %-6s %6.3f s %7.1f MiB  checksum %s"
                          % (w.name, a.name, r.seconds, r.rss_kib / 1024.0, r.values["checksum"]))
                else:
                    failed += 1
                    print("FAIL %-15s %-6s %s" % (w.name, a.name, r.status))
        print("bench check: %d workloads on %s: %s"
              % (len(workloads), ", ".join(a.name for a in allocs),
                 "all passed" if not failed else "%d FAILED" % failed))
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    become_subreaper()
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
    known_w = [w.name for w in all_workloads()]
    known_a = [a.name for a in all_allocators()]
    for opt, given, known in (("--workloads", args.workloads, known_w),
                              ("--allocators", args.allocators, known_a)):
        for n in (given.split(",") if given else []):
            if n not in known:
                p.error("%s: unknown name %r (known: %s)" % (opt, n, ", ".join(known)))
    try:
        return run_check(args) if args.check else run_suite(args)
    except KeyboardInterrupt:
        sys.stderr.write("bench: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
