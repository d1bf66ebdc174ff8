# SPDX-License-Identifier: BSD-2-Clause
"""supervise.py — running one program and measuring it: the clean
environment every run starts from, spawning through util-linux's
`setsid -f` so that the kernel's peak RSS is the program's own, waiting for
it with wait4 as this process's child subreaper, the timeout (killing what
is left), and the wall time, CPU time, peak RSS and why it failed. It knows
nothing of workloads or allocators."""

import os
import shutil
import signal
import threading
import time

from . import SetupError

SETSID = shutil.which("setsid") or "/usr/bin/setsid"  # util-linux

# Environment variables that would change an allocator's or a program's
# behaviour: removed for every run, so that all run alike.
SCRUB_PREFIXES = ("LD_PRELOAD", "KMEM_", "MALLOC_", "GLIBC_TUNABLES", "JE_MALLOC",
                  "TCMALLOC_", "HEAPPROFILE", "HEAPCHECK", "CPUPROFILE", "MIMALLOC_",
                  "PYTHON")


def clean_env():
    """This process's environment without SCRUB_PREFIXES, in the C locale."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB_PREFIXES)}
    base["LC_ALL"] = "C"
    return base


class Result:
    def __init__(self):
        self.seconds = None
        self.cpu_seconds = None  # user + system, from the same rusage
        self.rss_kib = None
        self.status = None   # "ok" or why it failed
        self.values = {}     # what the caller read from the output (workloads.read_values)
        self.stdout = ""
        self.stderr = ""


def become_subreaper():
    """Makes this process the reaper of its orphaned descendants (Linux
    prctl PR_SET_CHILD_SUBREAPER), so that spawn() can wait for a program
    whose own parent has gone. Call it once, before the first spawn()."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise SetupError("prctl(PR_SET_CHILD_SUBREAPER) failed (errno %d): "
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
    Its standard output and error go to files in tmp, and are in the
    Result.

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
