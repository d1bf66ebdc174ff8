# SPDX-License-Identifier: BSD-2-Clause
"""callgrind.py — the one callgrind driver: the instructions a program
executes inside one function and what it calls,

    valgrind --tool=callgrind --toggle-collect=FUNCTION --callgrind-out-file=... PROGRAM ...

and instructions per pair as the slope between two such counts at two
numbers of pairs, (Ir(N2) - Ir(N1)) / (N2 - N1), so that the fixed costs
(start-up, entering the loop, the first pass through a slow path) cancel.
The callers say which program, arguments and function: suite.py the
fastpath workload on each allocator (workloads.callgrind_command),
bench/callgrind.py the three ways of bench/api_pairs.c. Runs valgrind
through supervise.spawn."""

import os
import shutil

from . import supervise


def valgrind():
    """valgrind's path, or None when it is not installed."""
    return shutil.which("valgrind")


def count(argv, env, toggle, tmp, timeout=600):
    """(instructions counted in function `toggle` while argv ran, "ok"), or
    (None, why not)."""
    vg = valgrind()
    if vg is None:
        return None, "valgrind is missing"
    out = os.path.join(tmp, "cg.out")
    r = supervise.spawn([vg, "--tool=callgrind", "--toggle-collect=" + toggle,
                         "--callgrind-out-file=" + out] + list(argv), env, None, tmp, timeout)
    if r.status != "ok":
        return None, "valgrind: " + r.status
    # The totals of the events, Ir first ("totals:" in current valgrind,
    # "summary:" in older ones; both are the collected events only).
    total = summary = None
    with open(out) as f:
        for line in f:
            if line.startswith("totals:"):
                total = int(line.split()[1])
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
    n = total if total is not None else summary
    if not n:
        return None, "callgrind counted nothing in %s" % toggle
    return n, "ok"


def per_pair(count1, count2, n1, n2):
    """Instructions per pair: the slope between count1 at n1 pairs and
    count2 at n2."""
    return (count2 - count1) / float(n2 - n1)
