# SPDX-License-Identifier: BSD-2-Clause
"""kbench — the benchmark suite behind bench/run.py, and the callgrind driver
behind bench/callgrind.py.

One responsibility a module; each imports only the ones below it:

  suite.py       the orchestration: the plan of runs (interleaved, warm-up,
                 tracemalloc, callgrind), running one workload on one
                 allocator and checking it, progress, the two modes (the
                 comparison and --check)
  report.py      from the runs to the figures (medians, ratios, geometric
                 means), the tables (markdown) and the CSVs
  chart.py       the gnuplot chart of the ratios
  callgrind.py   the one callgrind driver: instructions in one function,
                 and the slope between two counts
  supervise.py   running one program: a clean environment, spawn through
                 setsid, wait4 for the peak RSS, timeouts, why a run failed
  workloads.py   what the workloads are: their programs, arguments and
                 inputs (the sqlite script), reading and checking their
                 output
  discovery.py   what is on this machine: the allocators and their library
                 files, their versions, the machine itself

What imports what (nothing imports upwards, and only supervise starts the
programs that are measured):

  bench/run.py -> suite -> report -> workloads
                        -> chart
                        -> callgrind -> supervise
                        -> supervise, workloads, discovery
  bench/callgrind.py -> callgrind -> supervise
  bench/python_suite.py -> discovery, supervise
  (run.py also asks discovery and workloads for the names it accepts, and
  both fronts ask supervise to become the subreaper)

Shared by all, here: ROOT, DEPS_HINT and SetupError.

Standard library only (Debian's /usr/bin/python3).
"""

import os

# The source tree: bench/kbench/ is two folders below it.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Ends every note on something missing.
DEPS_HINT = "`make bench-deps` installs the peer allocators and tools"


class SetupError(Exception):
    """Something the suite needs is missing or was given wrong (kmem not
    built, a bad --also); the front prints it and stops."""
