# SPDX-License-Identifier: BSD-2-Clause
"""report.py — from the runs to what is shown: the figures (medians over
the repetitions, ratios to kmem, geometric means, utilization, the fast-path
ns per pair, kmem's worst workloads, each allocator's instructions per pair
less the bump baseline's, the phases workload's RSS at its phase ends, the
per-operation latency percentiles of the --latency runs, read from their
lat_ lines), the markdown tables (results.md, also printed) and the CSVs
(results.csv, extra.csv, timeline.csv). Runs nothing: the machine, the
versions, the callgrind counts, the timelines and the latency runs come
from the caller."""

import csv
import datetime
import math
import os
import statistics

from .workloads import CG_N1, CG_N2, CG_SIZE, FASTPATH_SIZES


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


def clock(s):
    """Seconds as m:ss."""
    s = int(round(s))
    return "%d:%02d" % (s // 60, s % 60)


class Report:
    """The medians and everything computed from them. runs: (workload
    name, allocator name) -> the timed runs (supervise.Result)."""

    def __init__(self, workloads, allocs, runs):
        self.workloads = workloads
        self.names = [a.name for a in allocs]
        # The peers kmem is ranked against (not the --also builds of kmem).
        self.peers = [a.name for a in allocs if a.name != "kmem" and not a.also]
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
            for size in FASTPATH_SIZES:
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
        peers = self.peers
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
        return rows

    def against_best(self):
        """The geometric means over the workloads of kmem's time and peak
        RSS over the best peer's in each (None without peers)."""
        rows = self.worst()
        if not rows:
            return None
        return geomean([r[2] for r in rows]), geomean([r[4] for r in rows])


def own_instructions(callgrind, n):
    """Allocator n's instructions per pair less the bump baseline's, or None."""
    v, b = callgrind.get(n), callgrind.get("bump")
    return v - b if isinstance(v, float) and isinstance(b, float) else None


def timeline_figures(tl):
    """From a phases run (workloads.parse_timeline's dict, with "maxrss_kib"):
    KiB at the peak, at the end of the steady phase, after the idle phase
    and at the end (None where no sample says)."""
    samples, names = tl["samples"], tl["names"]

    def last_of(name):
        ph = names.index(name) if name in names else None
        got = [kib for _, kib, p in samples if p == ph]
        return got[-1] if got else None

    steady = last_of("steady")
    if steady is None and "steady" in names:
        after = [kib for _, kib, p in samples if p > names.index("steady")]
        steady = after[0] if after else None
    return {"peak": tl.get("maxrss_kib") or max(kib for _, kib, _ in samples),
            "steady": steady, "idle": last_of("idle"), "end": samples[-1][1]}


# ---- per-operation latency (the --latency runs) -------------------------------------

# What the workloads time with --latency (bench/workloads/workload.h).
LATENCY_WHAT = {
    "larson": "every malloc and free of the worker threads (not the main thread's filling "
              "and emptying of the shared array)",
    "xmalloc": "every malloc of the producer (blocks and batch records) and every free of "
               "the consumers",
    "prodcons": "every malloc of the producers (blocks and batch records) and every free of "
                "the consumers",
}


def parse_latency(r):
    """A --latency run's lat_ lines as {"malloc": (p50, p99, p999, max),
    "free": (...), "overhead": (p50, p99), "samples_malloc": N,
    "samples_free": N, "clock", "mhz", "resolution", "sampling"} (ns), or
    None when one is missing or malformed."""
    v = r.values
    try:
        m = tuple(int(x) for x in v["lat_malloc_ns"].split(","))
        f = tuple(int(x) for x in v["lat_free_ns"].split(","))
        o = tuple(int(x) for x in v["lat_overhead_ns"].split(","))
        sm, sf = int(v["lat_samples_malloc"]), int(v["lat_samples_free"])
        mhz = float(v["lat_tsc_mhz"]) if "lat_tsc_mhz" in v else None
        res = float(v["lat_resolution_ns"]) if "lat_resolution_ns" in v else None
    except (KeyError, ValueError):
        return None
    if len(m) != 4 or len(f) != 4 or len(o) != 2 or sm <= 0 or sf <= 0:
        return None
    if list(m) != sorted(m) or list(f) != sorted(f) or list(o) != sorted(o):
        return None
    return {"malloc": m, "free": f, "overhead": o, "samples_malloc": sm, "samples_free": sf,
            "clock": v.get("lat_clock", "?"), "mhz": mhz, "resolution": res,
            "sampling": v.get("lat_sampling", "?")}


def latency_figures(lat_runs):
    """lat_runs: (workload, allocator) -> [(Result, parse_latency's dict or
    None)], its --latency runs. Returns (workload, allocator) -> the same
    dict with each figure the median over the runs (every percentile, the
    max, the overhead and the rest separately: not one run's), and "runs",
    for those whose every run passed."""
    out = {}
    for key, rs in lat_runs.items():
        if not rs or any(r.status != "ok" or lat is None for r, lat in rs):
            continue
        lats = [lat for _, lat in rs]
        fig = {"runs": len(lats), "clock": lats[0]["clock"], "sampling": lats[0]["sampling"]}
        for k, n in (("malloc", 4), ("free", 4), ("overhead", 2)):
            fig[k] = tuple(statistics.median(lat[k][i] for lat in lats) for i in range(n))
        for k in ("samples_malloc", "samples_free"):
            fig[k] = statistics.median(lat[k] for lat in lats)
        for k in ("mhz", "resolution"):
            got = [lat[k] for lat in lats if lat[k] is not None]
            fig[k] = statistics.median(got) if got else None
        out[key] = fig
    return out


def fmt_ns(v):
    """Nanoseconds: whole below 10 µs, then µs or ms."""
    if v >= 1e6:
        return "%.1f ms" % (v / 1e6)
    if v >= 1e4:
        return "%.0f µs" % (v / 1e3)
    return "%.0f" % v


def latency_markdown(rep, latency, failures, ncpu):
    """The "Per-operation latency" section: a table per workload."""
    L = []
    wnames = [w.name for w in rep.workloads if any((w.name, n) in latency or
                                                   any(f[0] == w.name and f[1] == n and
                                                       f[2].startswith("latency")
                                                       for f in failures)
                                                   for n in rep.names)]
    if not wnames:
        return L
    figs = list(latency.values())
    runs = max((f["runs"] for f in figs), default=0)
    L.append("### Per-operation latency, ns")
    L.append("")
    for wn in wnames:
        L.append("#### %s" % wn)
        L.append("")
        L.append("| allocator | malloc p50 | p99 | p99.9 | max | free p50 | p99 | p99.9 | max |")
        L.append("| --- |" + " ---: |" * 8)
        over, samples = [], None
        for n in rep.names:
            f = latency.get((wn, n))
            if f is None:
                failed = any(x[0] == wn and x[1] == n and x[2].startswith("latency")
                             for x in failures)
                L.append("| %s | %s |%s" % (n, "FAILED" if failed else "–", " |" * 7))
                continue
            L.append("| %s | %s |" % (n, " | ".join(fmt_ns(v) for v in f["malloc"] + f["free"])))
            over.append(f["overhead"])
            samples = (f["samples_malloc"], f["samples_free"])
        L.append("")
        if over:
            o50 = sorted(o[0] for o in over)
            o99 = sorted(o[1] for o in over)
            def spread(xs):
                return "" if xs[0] == xs[-1] else " (%s–%s by allocator)" % (fmt_ns(xs[0]),
                                                                             fmt_ns(xs[-1]))
            L.append("Recorder overhead, an empty timed interval (two reads back to back, "
                     "timed 200000 times at the start of each run): median %s ns%s, p99 %s ns%s. "
                     "Timed: %s; %.0f mallocs and %.0f frees a run, every call."
                     % (fmt_ns(statistics.median(o50)), spread(o50),
                        fmt_ns(statistics.median(o99)), spread(o99),
                        LATENCY_WHAT.get(wn.split("-")[0], "?"), samples[0], samples[1]))
            L.append("")
    mhz = [f["mhz"] for f in figs if f["mhz"]]
    res = [f["resolution"] for f in figs if f["resolution"]]
    clock = figs[0]["clock"] if figs else "?"
    if clock == "tsc":
        how = ("the TSC (%s MHz, calibrated against CLOCK_MONOTONIC over 50 ms at each run's "
               "start), read with lfence; rdtsc; lfence before the call and lfence; rdtsc after "
               "it" % ("%.0f" % statistics.median(mhz) if mhz else "?"))
    else:
        how = "clock_gettime(CLOCK_MONOTONIC) before and after the call"
    L.append("Every call of the kinds named is timed (no sampling), in %s extra untimed runs "
             "per allocator with `--latency` (after the timed runs, at the same size, "
             "interleaved with the order rotated each repetition), with %s%s. "
             "Each thread records into its own histogram (exact to 15 ns, then 8 buckets per "
             "power of two, each with the sum of its values: a percentile is the mean of its "
             "bucket, within 1/8; the max is exact), merged at the end. Each cell is the "
             "median of that figure over the runs, each percentile and the max on its own "
             "(not the run with the median p99). The recorder's overhead is in every figure, "
             "not subtracted. Only the call is timed: not the filling or checking of the "
             "block, nor the waits on the queues."
             % (runs or "the", how,
                "; the clock moves in steps of %.0f ns here (the figures below about %.0f ns "
                "are whole steps)" % (statistics.median(res), 10 * statistics.median(res))
                if clock == "tsc" and res and statistics.median(res) >= 2 else ""))
    L.append("The tail (p99.9, max) includes a thread being interrupted or descheduled in "
             "the middle of a call%s."
             % (" (this machine has %d CPUs, xmalloc-4 runs 4 threads)" % ncpu
                if ncpu and ncpu < 4 and "xmalloc-4" in wnames else ""))
    L.append("")
    return L


def latency_csv_rows(rep, latency):
    """extra.csv rows (workload, allocator, metric, value) of the latency figures."""
    rows = []
    for w in rep.workloads:
        for n in rep.names:
            f = latency.get((w.name, n))
            if f is None:
                continue
            for op in ("malloc", "free"):
                for q, v in zip(("p50", "p99", "p999", "max"), f[op]):
                    rows.append([w.name, n, "lat_%s_%s_ns" % (op, q), "%.0f" % v])
            for q, v in zip(("p50", "p99"), f["overhead"]):
                rows.append([w.name, n, "lat_overhead_%s_ns" % q, "%.0f" % v])
            rows.append([w.name, n, "lat_samples_malloc", "%.0f" % f["samples_malloc"]])
            rows.append([w.name, n, "lat_samples_free", "%.0f" % f["samples_free"]])
            rows.append([w.name, n, "lat_runs", f["runs"]])
    return rows


def markdown(rep, missing, failures, notes, callgrind, mode_line, total_seconds, machine,
             versions, timelines=None, latency=None):
    """The tables, with the date, the machine (kernel, CPU, CPUs), the
    allocators' versions and the notes. callgrind: allocator name (and
    "bump", the baseline) -> instructions per pair or why none, or
    "skipped" -> why not counted. timelines: allocator name -> its phases
    run (timeline_figures). latency: latency_figures' dict."""
    uname, cpu, ncpu = machine
    L = []
    L.append("## Benchmark results")
    L.append("")
    L.append("Measured %s on `%s`, %s, %d CPUs (`bench/run.py`, %s; %s in all)."
             % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), uname, cpu, ncpu,
                mode_line, clock(total_seconds)))
    L.append("Allocators: " + ", ".join(versions) + ".")
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
        for size in FASTPATH_SIZES:
            L.append("| %d | %s |" % (size, " | ".join(
                "%.2f" % rep.fast[n, size] if (n, size) in rep.fast else "–"
                for n in rep.names)))
        L.append("")
    L.append("### Fast path: instructions per malloc/free pair (callgrind, %d bytes)" % CG_SIZE)
    L.append("")
    if callgrind.get("skipped"):
        L.append(callgrind["skipped"])
    else:
        L.append("| allocator | with the loop | own | own × kmem's |")
        L.append("| --- | ---: | ---: | ---: |")
        k = own_instructions(callgrind, "kmem")
        for n in rep.names:
            v = callgrind.get(n)
            o = own_instructions(callgrind, n)
            if isinstance(v, float):
                L.append("| %s | %.1f | %s | %s |"
                         % (n, v, "%.1f" % o if o is not None else "n/a",
                            fmt_ratio(o / k) if o is not None and k else "n/a"))
            else:
                L.append("| %s | failed: %s | | |" % (n, v))
        b = callgrind.get("bump")
        if isinstance(b, float):
            L.append("| bump (baseline) | %.1f | | |" % b)
        L.append("")
        L.append("With the loop: counted in the workload's loop function "
                 "(`--toggle-collect=pairs_%d`), as the slope between %d and %d pairs, so "
                 "start-up and warm-up are not counted; the loop's own instructions (a store, "
                 "a load, a compare) and the calls through the PLT are included. "
                 "Own: that minus the same count for the same pair loop on a bump allocator "
                 "(bench/baseline/bump.c: malloc moves a thread-local pointer, free returns) "
                 "LD_PRELOADed the same way; the difference is the allocator's own "
                 "instructions per pair." % (CG_SIZE, CG_N1, CG_N2))
        if not isinstance(b, float):
            L.append("")
            L.append("Own: not computed, the bump baseline was not counted (%s)."
                     % (b if b else "no count"))
    L.append("")

    if latency is not None:
        L.extend(latency_markdown(rep, latency, failures, ncpu))

    if timelines:
        L.append("### Resident memory over time (phases workload)")
        L.append("")
        L.append("| allocator | peak RSS | end of steady | after idle | at the end |")
        L.append("| --- | ---: | ---: | ---: | ---: |")
        for n in rep.names:
            if n in timelines:
                f = timeline_figures(timelines[n])
                L.append("| %s | %s |" % (n, " | ".join(
                    "%.1f MiB" % (f[key] / 1024.0) if f[key] is not None else "–"
                    for key in ("peak", "steady", "idle", "end"))))
            else:
                L.append("| %s | failed | | | |" % n)
        L.append("")
        L.append("One run per allocator of bench/workloads/phases.c (grow to the peak, free a "
                 "random 90%, steady churn, idle 1 s, grow again, free everything, idle "
                 "0.5 s), its resident size sampled every 10 ms from /proc/self/statm. Peak: "
                 "the kernel's ru_maxrss; end of steady: the last sample of the steady phase "
                 "(else the first after it); after idle: the last sample of the idle phase; "
                 "at the end: the last sample, after everything was freed and 0.5 s idle. "
                 "Chart: timeline.png, timeline.svg (data: timeline.csv); the phases marked "
                 "on it are kmem's run's, the other runs' phases begin at slightly other times.")
        L.append("")

    worst = rep.worst()[:3]
    if worst:
        L.append("### kmem's three worst workloads, against the best peer")
        L.append("")
        for _, name, rt, bt, rm, bm in worst:
            L.append("- **%s**: time %.2f× %s's, peak RSS %.2f× %s's"
                     % (name, rt, bt, rm, bm))
        best = rep.against_best()
        L.append("")
        L.append("Against the best peer of each workload (the fastest for time, the leanest "
                 "for memory; builds given with --also are not peers), kmem's geometric mean "
                 "is %.2f× the time and %.2f× the peak RSS." % best)
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


def write_csvs(rep, out, callgrind, timelines=None, latency=None):
    """OUT/results.csv (workload,allocator,median_seconds,peak_rss_kib),
    OUT/extra.csv (workload,allocator,metric,value; with latency, its
    lat_* rows) and, with timelines, OUT/timeline.csv
    (allocator,ms,rss_kib,phase)."""
    timelines = timelines or {}
    if timelines:
        with open(os.path.join(out, "timeline.csv"), "w", newline="") as f:
            wr = csv.writer(f, lineterminator="\n")
            wr.writerow(["allocator", "ms", "rss_kib", "phase"])
            for n in rep.names:
                for ms, kib, ph in timelines.get(n, {}).get("samples", []):
                    wr.writerow([n, ms, kib, timelines[n]["names"][ph]
                                 if ph < len(timelines[n]["names"]) else ph])
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
        for n in rep.names + ["bump"]:
            if isinstance(callgrind.get(n), float):
                wr.writerow(["fastpath", n, "callgrind_instructions_per_pair_%d" % CG_SIZE,
                             "%.1f" % callgrind[n]])
            if own_instructions(callgrind, n) is not None and n != "bump":
                wr.writerow(["fastpath", n, "callgrind_own_instructions_per_pair_%d" % CG_SIZE,
                             "%.1f" % own_instructions(callgrind, n)])
        for row in latency_csv_rows(rep, latency or {}):
            wr.writerow(row)
        for n in rep.names:
            if n in timelines:
                fig = timeline_figures(timelines[n])
                for key, metric in (("peak", "peak_rss_kib"), ("steady", "rss_end_of_steady_kib"),
                                    ("idle", "rss_after_idle_kib"), ("end", "rss_at_end_kib")):
                    if fig[key] is not None:
                        wr.writerow(["phases", n, metric, fig[key]])
        for n, (gs, gk) in rep.geo.items():
            wr.writerow(["geomean", n, "geomean_seconds", "%.4f" % gs])
            wr.writerow(["geomean", n, "geomean_rss_kib", "%.1f" % gk])
            if "kmem" in rep.geo:
                wr.writerow(["geomean", n, "time_ratio_to_kmem", "%.4f" % (gs / rep.geo["kmem"][0])])
                wr.writerow(["geomean", n, "rss_ratio_to_kmem", "%.4f" % (gk / rep.geo["kmem"][1])])

