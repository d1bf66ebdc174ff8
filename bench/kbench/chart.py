# SPDX-License-Identifier: BSD-2-Clause
"""chart.py — the chart of the ratios to kmem (OUT/results.png and
OUT/results.svg, with its data OUT/chart.dat and script OUT/chart.gp), drawn
by gnuplot from a report.Report; and the phases workload's resident memory
over time (OUT/timeline.png and OUT/timeline.svg, with OUT/timeline.dat and
OUT/timeline.gp)."""

import math
import os
import shutil
import subprocess


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


def draw_timeline(timelines, names, out, title):
    """One line per allocator: resident MiB against seconds, from the
    phases workload's samples (timelines: allocator name ->
    workloads.parse_timeline's dict; names: their order). The phases are
    marked from kmem's run (else the first allocator's). Returns a note,
    or None when drawn."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return "gnuplot is missing (Debian package gnuplot-nox): no timeline chart drawn"
    names = [n for n in names if n in timelines]
    if not names:
        return "no timeline chart: no phases run succeeded"
    dat = os.path.join(out, "timeline.dat")
    with open(dat, "w") as f:
        for n in names:
            f.write("# %s: seconds, resident MiB, phase\n" % n)
            for ms, kib, ph in timelines[n]["samples"]:
                f.write("%.3f %.2f %d\n" % (ms / 1000.0, kib / 1024.0, ph))
            f.write("\n\n")
    ref = timelines["kmem" if "kmem" in timelines else names[0]]
    marks = []
    for i, (name, start) in enumerate(zip(ref["names"], ref["phase_ms"])):
        x = start / 1000.0
        if i > 0:
            marks.append("set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lc rgb '#999999'"
                         % (x, x))
        marks.append("set label '%s' at %.3f, graph %.2f offset 0.3,0 font ',9' tc rgb '#555555'"
                     % (name, x, 0.97 - 0.045 * (i % 4)))
    colors = ["#c44e52", "#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3"]
    plot = ", ".join("'%s' index %d using 1:2 with lines lw 2 lc rgb '%s' title '%s'"
                     % (dat, i, colors[i % len(colors)], n) for i, n in enumerate(names))
    body = """
set termoption noenhanced
set title "%(title)s"
set xlabel "seconds since the start"
set ylabel "resident MiB (/proc/self/statm, every 10 ms)"
set xrange [0:%(xmax).3f]
set yrange [0:*]
set grid
set key outside right top
%(marks)s
plot %(plot)s
""" % {"title": title.replace('"', "'"), "marks": "\n".join(marks), "plot": plot,
       "xmax": max(timelines[n]["samples"][-1][0] for n in names) / 1000.0}
    gp = os.path.join(out, "timeline.gp")
    with open(gp, "w") as f:
        f.write("set terminal pngcairo size 1200,600 font 'sans,10'\n")
        f.write("set output '%s'\n" % os.path.join(out, "timeline.png"))
        f.write(body)
        f.write("set terminal svg size 1200,600 font 'sans,10' dynamic\n")
        f.write("set output '%s'\n" % os.path.join(out, "timeline.svg"))
        f.write(body)
    q = subprocess.run([gnuplot, gp], capture_output=True, text=True)
    if q.returncode != 0:
        return "gnuplot failed on the timeline: " + q.stderr.strip()[-300:]
    return None
