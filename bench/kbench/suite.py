# SPDX-License-Identifier: BSD-2-Clause
"""suite.py — the orchestration of bench/run.py: the plan of runs (every
workload REPS times on every allocator, interleaved: rep 1 of every
allocator, then rep 2, ..., the order rotated each rep; in full mode an
untimed warm-up run per workload first; python's untimed tracemalloc run;
the fastpath workload twice under callgrind per allocator and on the bump
baseline; after the timed runs, the latency workloads (LATENCY_WORKLOADS)
LATENCY_REPS times per allocator with --latency, interleaved, untimed,
and the timeline workloads once per allocator), running one workload on
one allocator and checking it, the progress lines, and handing the runs
to report and chart. Two modes: run_suite (the comparison) and run_check
(every workload once on kmem and glibc, for make test; the timeline
workloads too, checked alike; and larson-2 once more with --latency on
both, its lat_ lines parsed and its checksum compared)."""

import os
import shutil
import sys
import tempfile
import time

from . import DEPS_HINT, callgrind as cg, chart, discovery, report, supervise, workloads
from .workloads import CG_N1, CG_N2

# Timed call by call (--latency, bench/workloads/workload.h) in runs of
# their own after the timed runs, LATENCY_REPS times per allocator.
LATENCY_WORKLOADS = ("larson-2", "xmalloc-4", "prodcons-2")
LATENCY_REPS = 3


class Runner:
    """Runs a workload on an allocator: its command, the allocator's
    environment, the process, the checks of its output."""

    def __init__(self, tmp, quick):
        self.tmp = tmp
        self.quick = quick
        self.timeout = 120 if quick else 600
        self.base_env = supervise.clean_env()

    def run(self, w, a, extra_py=(), extra_args=()):
        argv, extra_env, stdin = workloads.command(w, self.quick, extra_py)
        argv = argv + list(extra_args)  # after the workload's own (C workloads)
        env = a.env(self.base_env)
        env.update(extra_env)
        r = supervise.spawn(argv, env, stdin, self.tmp, self.timeout)
        workloads.read_values(r)
        if r.status == "ok":
            r.status = workloads.check(w, a, r)
        return r


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
                         % (self.done, self.total, text, report.clock(now - self.start),
                            report.clock(left)))
        sys.stderr.flush()


def prepare(args, tmp, quick, names_w, names_a):
    """Finds the allocators and the programs; returns (workloads,
    allocators, missing notes)."""
    allocs, missing = discovery.find_allocators(args.build, tmp, names_a,
                                                getattr(args, "also", None))
    wls, missing_w = workloads.find_workloads(args.build, tmp, quick, names_w)
    return wls, allocs, missing + missing_w


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
        kmem_ver = discovery.kmem_version()  # the source tree as the library is copied
        wls, allocs, missing = prepare(args, tmp, quick, names_w, names_a)
        # Timeline workloads (phases): once per allocator, not in the tables.
        tl_wls = [w for w in wls if w.timeline]
        wls = [w for w in wls if not w.timeline]
        kcopy = next((a.path for a in allocs if a.name == "kmem"), None)
        if kcopy:
            kmem_ver += ", libkmem.so sha256 %s" % discovery.library_digest(kcopy)
        runner = Runner(tmp, quick)
        notes = []

        do_cg = not quick and not args.no_callgrind
        callgrind = {}
        if not do_cg:
            callgrind["skipped"] = ("Skipped (%s)." % ("--quick" if quick else "--no-callgrind"))
        elif cg.valgrind() is None:
            callgrind["skipped"] = ("Skipped: valgrind is missing (Debian package valgrind); "
                                    + DEPS_HINT + ".")
            do_cg = False
        fast_prog = workloads.c_program(os.path.abspath(args.build), "fastpath")
        if do_cg and not os.access(fast_prog, os.X_OK):
            callgrind["skipped"] = "Skipped: %s is not built." % fast_prog
            do_cg = False
        # The baseline of the counts: the same loop on a bump allocator.
        cg_allocs = list(allocs)
        bump_lib = os.path.join(os.path.abspath(args.build), "bench", "baseline", "libbump.so")
        if do_cg and os.path.isfile(bump_lib):
            bump = discovery.Allocator("bump", None, None)
            bump.path = bump_lib
            cg_allocs.append(bump)
        elif do_cg:
            callgrind["bump"] = "%s is not built" % bump_lib

        # The plan: (kind, what) in order.
        tasks = []
        for w in wls:
            if not quick:
                tasks.append((w.name, ("warm", w, allocs[0], 0)))
            if w.kind == "python":
                glibc = next((a for a in allocs if a.name == "glibc"), allocs[0])
                tasks.append((w.name, ("tracemalloc", w, glibc, 0)))
            for rep in range(reps):
                k = rep % len(allocs)
                for a in allocs[k:] + allocs[:k]:
                    tasks.append((w.name, ("run", w, a, rep)))
        lat_wls = [w for w in wls if w.name in LATENCY_WORKLOADS]
        for w in lat_wls:
            for rep in range(LATENCY_REPS):
                k = rep % len(allocs)
                for a in allocs[k:] + allocs[:k]:
                    tasks.append(("latency", ("latency", w, a, rep)))
        for w in tl_wls:
            for a in allocs:
                tasks.append(("timeline", ("timeline", w, a, 0)))
        if do_cg:
            for a in cg_allocs:
                for n in (CG_N1, CG_N2):
                    tasks.append(("callgrind", ("callgrind", None, a, n)))

        sys.stderr.write("bench: %d workloads × %d allocators × %d reps%s%s%s (%s mode), "
                         "%d runs in all\n"
                         % (len(wls), len(allocs), reps,
                            " + latency (%d × %d)" % (len(lat_wls), LATENCY_REPS)
                            if lat_wls else "",
                            " + timeline" if tl_wls else "",
                            " + callgrind" if do_cg else "", "quick" if quick else "full",
                            len(tasks)))
        for m in missing:
            sys.stderr.write("bench: " + m + "\n")
        progress = Progress(tasks)
        runs = {}
        failures = []
        requested_py = None
        cg_counts = {}
        tl_runs = {}
        timelines = {}
        lat_runs = {}  # (workload, allocator) -> [(Result, report.parse_latency's)]
        for i, (kind, (what, w, a, n)) in enumerate(tasks):
            if what == "latency":
                r, lat = run_latency(runner, w, a, runs)
                lat_runs.setdefault((w.name, a.name), []).append((r, lat))
                label = "%-15s %-9s latency %d/%d (untimed)" % (w.name, a.name, n + 1,
                                                               LATENCY_REPS)
                if r.status != "ok":
                    failures.append((w.name, a.name, "latency run %d: %s" % (n + 1, r.status)))
                    progress.step(kind, "%s FAILED: %s" % (label, r.status))
                else:
                    progress.step(kind, "%s malloc p50/p99 %d/%d ns, free %d/%d ns"
                                  % (label, lat["malloc"][0], lat["malloc"][1],
                                     lat["free"][0], lat["free"][1]))
                if i + 1 == len(tasks) or tasks[i + 1][1][:2] != ("latency", w):
                    fails = []
                    workloads.consistent_checksums(
                        w, allocs, {k: [r for r, _ in v] for k, v in lat_runs.items()}, fails)
                    failures.extend((wn, an, "latency runs: " + why) for wn, an, why in fails)
                continue
            if what == "timeline":
                r = runner.run(w, a)
                if r.status == "ok":
                    tl = workloads.parse_timeline(r)
                    if tl is None:
                        r.status = "no readable rss_timeline, phase_names, phase_ms lines"
                    else:
                        tl["maxrss_kib"] = r.rss_kib
                        timelines[a.name] = tl
                tl_runs[w.name, a.name] = [r]
                if r.status != "ok":
                    failures.append((w.name, a.name, "timeline: " + r.status))
                    progress.step(kind, "%-15s %-9s timeline FAILED: %s" % (w.name, a.name, r.status))
                else:
                    progress.step(kind, "%-15s %-9s timeline %7.3f s %7.1f MiB peak"
                                  % (w.name, a.name, r.seconds, r.rss_kib / 1024.0))
                if i + 1 == len(tasks) or tasks[i + 1][1][1] is not w:
                    n_fail = len(failures)
                    workloads.consistent_checksums(w, allocs, tl_runs, failures)
                    for _, name, _ in failures[n_fail:]:
                        timelines.pop(name, None)
                continue
            if what == "callgrind":
                argv, toggle = workloads.callgrind_command(fast_prog, n)
                count, why = cg.count(argv, a.env(runner.base_env), toggle, tmp)
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
            # The workload's last run: compare the checksums. (Its latency
            # runs may follow at once: with --workloads of one.)
            if (i + 1 == len(tasks) or tasks[i + 1][1][1] is not w
                    or tasks[i + 1][1][0] == "latency"):
                workloads.consistent_checksums(w, allocs, runs, failures)

        for a in cg_allocs if do_cg else allocs:
            if (a.name, CG_N1) in cg_counts and (a.name, CG_N2) in cg_counts:
                callgrind[a.name] = cg.per_pair(cg_counts[a.name, CG_N1],
                                                cg_counts[a.name, CG_N2], CG_N1, CG_N2)
            elif do_cg and a.name not in callgrind:
                callgrind[a.name] = "no count"

        total = time.monotonic() - t_start
        rep = report.Report(wls, allocs, runs)
        latency = report.latency_figures(lat_runs) if lat_wls else None
        report.write_csvs(rep, out, callgrind, timelines, latency)
        mode_line = "%s mode, %d repetitions interleaved" % ("quick" if quick else "full", reps)
        machine = discovery.machine()
        uname, cpu, ncpu = machine
        note = chart.draw_chart(rep, out, "kmem against its peers — %s, %s, %d CPUs (%s)"
                                % (uname, cpu, ncpu, "quick" if quick else "full"))
        if note:
            notes.append(note)
        tl_note = None
        if tl_wls:
            tl_note = chart.draw_timeline(timelines, [a.name for a in allocs], out,
                                          "resident memory over time, phases workload — %s (%s)"
                                          % (uname, "quick" if quick else "full"))
            if tl_note:
                notes.append(tl_note)
        md = report.markdown(rep, missing, failures, notes, callgrind, mode_line, total,
                             machine, discovery.versions(allocs, kmem_ver), timelines, latency)
        with open(os.path.join(out, "results.md"), "w") as f:
            f.write(md + "\n")
        print(md)
        print("files: %s/results.csv, extra.csv, results.md%s%s"
              % (out, "" if note else ", results.png, results.svg",
                 ", timeline.csv, timeline.png, timeline.svg" if tl_wls and not tl_note
                 else ", timeline.csv" if timelines else ""))
        if failures:
            sys.stderr.write("bench: %d failed run(s):\n" % len(failures))
            for w, a, why in failures:
                sys.stderr.write("bench: FAILED: workload %s on %s: %s\n" % (w, a, why))
            return 1
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_latency(runner, w, a, runs):
    """One --latency run of w on a: (Result, report.parse_latency's dict or
    None). Its status says, besides the usual checks, whether the lat_ lines
    parse and whether its checksum is the one the runs without --latency
    printed (runs: (workload, allocator) -> those runs)."""
    r = runner.run(w, a, extra_args=("--latency",))
    lat = None
    if r.status == "ok":
        lat = report.parse_latency(r)
        if lat is None:
            r.status = "no readable lat_malloc_ns, lat_free_ns, lat_overhead_ns, lat_samples lines"
    if r.status == "ok":
        seen = {}
        for (wn, _), rs in runs.items():
            for x in rs:
                if wn == w.name and x.status == "ok":
                    seen[x.values["checksum"]] = seen.get(x.values["checksum"], 0) + 1
        if seen:
            ref = max(seen, key=seen.get)
            if r.values["checksum"] != ref:
                r.status = ("checksum %s with --latency, %s without"
                            % (r.values["checksum"], ref))
    return r, lat


def run_check(args):
    """Every workload once, quick size, on kmem and glibc; larson-2 once
    more on each with --latency."""
    tmp = tempfile.mkdtemp(prefix="kmem-bench-check.")
    try:
        wls, allocs, missing = prepare(args, tmp, True, None, ["kmem", "glibc"])
        runner = Runner(tmp, True)
        for m in missing:
            print("skip: " + m)
        failed = 0
        for w in wls:
            runs = {}
            for a in allocs:
                r = runner.run(w, a)
                runs[w.name, a.name] = [r]
            fails = []
            workloads.consistent_checksums(w, allocs, runs, fails)
            for a in allocs:
                r = runs[w.name, a.name][0]
                if r.status == "ok":
                    print("ok   %-15s %-6s %6.3f s %7.1f MiB  checksum %s"
                          % (w.name, a.name, r.seconds, r.rss_kib / 1024.0, r.values["checksum"]))
                else:
                    failed += 1
                    print("FAIL %-15s %-6s %s" % (w.name, a.name, r.status))
            if w.name == "larson-2":
                # --latency once on each: the lat_ lines parse, the checksum holds.
                for a in allocs:
                    r, lat = run_latency(runner, w, a, runs)
                    if r.status == "ok":
                        print("ok   %-15s %-6s --latency: malloc p50/p99 %d/%d ns, free %d/%d "
                              "ns, overhead %d ns" % (w.name, a.name, lat["malloc"][0],
                                                      lat["malloc"][1], lat["free"][0],
                                                      lat["free"][1], lat["overhead"][0]))
                    else:
                        failed += 1
                        print("FAIL %-15s %-6s --latency: %s" % (w.name, a.name, r.status))
        print("bench check: %d workloads on %s: %s"
              % (len(wls), ", ".join(a.name for a in allocs),
                 "all passed" if not failed else "%d FAILED" % failed))
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
