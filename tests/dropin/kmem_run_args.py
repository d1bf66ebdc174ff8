#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""kmem_run_args.py — kmem-run's arguments, generated at random and checked
against a model of what kmem-run(1) documents.

    kmem_run_args.py KMEM_RUN LIBKMEM [CASES]   (default 300 cases)

Each case is a list of options (--stats, --stats-json, --limit, --debug, --lib, in
both spellings, good values and bad, missing values, unknown options, -h),
then maybe `--`, then maybe a command: a probe that prints the variables
kmem-run sets (under a limit below 64 MiB the probe's shell cannot start,
and only that kmem-run ran it is checked). The model says what must happen: the usage text or a
one-line "kmem-run: ..." message and exit status 2, or the probe run with
KMEM_STATS, KMEM_STATS_JSON (made absolute), KMEM_LIMIT, KMEM_DEBUG and LD_PRELOAD as
asked, the last of a repeated option winning. The seed is KMEM_TEST_SEED
(default 1), printed; a failing case is printed whole, to run by hand.
"""
import os
import random
import shlex
import subprocess
import sys
import tempfile

GOOD_CHECKS = ["all", "junk", "redzone,guard", "quarantine", "quarantine=1M", "none", "0", "trace",
               "junk,redzone,guard,quarantine=64k", "on", "1", "off", "all,none"]
BAD_CHECKS = ["", "banana", "junk,", ",junk", "junk,,guard", "quarantine=", "quarantine=x",
              "JUNK", "junk guard", "quarantine=16777216T", "all\nnone"]
GOOD_SIZES = ["64M", "1G", "512MiB", "2GB", "0", "4096", "8kb", "00064M", "1T",
              "18446744073709551615", "18014398509481983k", "17592186044415m",
              "17179869183G", "16777215T", "16777215TiB"]
BAD_SIZES = ["banana", "-1", "64iB", "1.5G", "16777216T", "18446744073709551616",
             "18014398509481984K", "64 M", "", "64MM", "0x10", "G", "64Mi B", "1P",
             "64M\nx", " 64M"]
PROBE = ["sh", "-c", 'printf "S=%s\\nJ=%s\\nL=%s\\nD=%s\\nP=%s\\n" "${KMEM_STATS-}" '
         '"${KMEM_STATS_JSON-}" "${KMEM_LIMIT-}" "${KMEM_DEBUG-}" "${LD_PRELOAD-}"']


def random_size(rng):
    """A size that may be good or bad, made up."""
    digits = str(rng.choice([0, 1, 64, 4096, rng.randrange(10**6), rng.randrange(10**20)]))
    if rng.random() < 0.2:
        digits = "0" * rng.randrange(1, 5) + digits
    unit = rng.choice(["", "k", "K", "m", "M", "g", "G", "t", "T", "x", "Q"])
    mid = rng.choice(["", "", "i", "I"]) if unit else rng.choice(["", "", "i"])
    tail = rng.choice(["", "", "b", "B", "bb"])
    return digits + unit + mid + tail


def model_size(text):
    """What parse.h documents: digits, optionally k/m/g/t (either case)
    and i, optionally b; at most 2^64 - 1 bytes. The bytes, or None."""
    i = 0
    while i < len(text) and text[i].isdigit() and text[i] in "0123456789":
        i += 1
    if i == 0:
        return None
    value, rest, shift = int(text[:i]), text[i:], 0
    if rest[:1].lower() in ("k", "m", "g", "t") and rest[:1] != "":
        shift = {"k": 10, "m": 20, "g": 30, "t": 40}[rest[0].lower()]
        rest = rest[1:]
        if rest[:1] in ("i", "I"):
            rest = rest[1:]
    if rest[:1] in ("b", "B"):
        rest = rest[1:]
    return value << shift if rest == "" and (value << shift) < 2**64 else None


def model_checks_ok(text):
    """KMEM_DEBUG as kmem(7) documents it."""
    if text == "":
        return False
    for word in text.split(","):
        if word in ("junk", "redzone", "guard", "quarantine", "trace", "all", "1", "on", "none",
                    "0", "off"):
            continue
        if not (word.startswith("quarantine=") and len(word) <= 255 and
                model_size(word[len("quarantine="):]) is not None):
            return False
    return True


def make_case(rng, lib, missing_lib, cwd):
    args = []
    for _ in range(rng.randrange(0, 5)):
        kind = rng.choice(["stats", "json", "json=", "limit", "limit=", "lib", "stats",
                           "limit", "limit=", "json", "debug", "debug="] + (["help", "unknown"]
                                                         if rng.random() < 0.3 else []))
        if kind == "stats":
            args.append("--stats")
        elif kind in ("json", "json="):
            value = rng.choice(["out.json", os.path.join(cwd, "abs.json"), "", "sub dir.json"])
            args += ["--stats-json", value] if kind == "json" else ["--stats-json=" + value]
        elif kind in ("limit", "limit="):
            value = rng.choice([rng.choice(GOOD_SIZES), rng.choice(BAD_SIZES),
                                random_size(rng)])
            args += ["--limit", value] if kind == "limit" else ["--limit=" + value]
        elif kind in ("debug", "debug="):
            value = rng.choice([rng.choice(GOOD_CHECKS), rng.choice(BAD_CHECKS),
                                ",".join(rng.choice(GOOD_CHECKS + BAD_CHECKS)
                                         for _ in range(rng.randrange(1, 4)))])
            args += ["--debug", value] if kind == "debug" else ["--debug=" + value]
        elif kind == "lib":
            args += ["--lib", lib if rng.random() < 0.9 else missing_lib]
        elif kind == "help":
            args.append(rng.choice(["-h", "--help"]))
        else:
            args.append(rng.choice(["-z", "--bogus", "--stats=1", "--limits"]))
    if rng.random() < 0.1 and args and args[-1] in ("--limit", "--stats-json"):
        pass  # already ends with an option missing its value
    elif rng.random() < 0.05:
        args.append(rng.choice(["--limit", "--stats-json", "--lib", "--debug"]))  # no value
    else:
        if rng.random() < 0.6:
            args.append("--")
        if rng.random() < 0.93:
            args += PROBE
    return args


def model(args, default_lib, cwd):
    """(status, what): what is "usage", "limit", "lib", or the probe's
    expected output."""
    stats, json, limit, lib, debug = "", "", None, default_lib, None
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--stats":
            stats = "1"
        elif a in ("--stats-json", "--limit", "--lib", "--debug"):
            if i + 1 >= len(args):
                return 2, "usage"
            value = args[i + 1]
            i += 1
            if a == "--stats-json":
                json = value
            elif a == "--limit":
                limit = value
            elif a == "--debug":
                debug = value
            else:
                lib = value
        elif a.startswith("--stats-json="):
            json = a.split("=", 1)[1]
        elif a.startswith("--limit="):
            limit = a.split("=", 1)[1]
        elif a.startswith("--debug="):
            debug = a.split("=", 1)[1]
        elif a == "--":
            i += 1
            break
        elif a in ("-h", "--help"):
            return 2, "usage"
        elif a.startswith("-"):
            return 2, "unknown"
        else:
            break
        i += 1
    if i >= len(args):
        return 2, "usage"
    if limit is not None and model_size(limit) is None:
        return 2, "limit"
    if debug is not None and not model_checks_ok(debug):
        return 2, "debug"
    if not os.access(lib, os.R_OK):
        return 2, "lib"
    if limit and 0 < model_size(limit) < 64 << 20:
        return 0, "tiny"  # too little for the probe's shell to start: only run
    if json and not json.startswith("/"):
        json = os.path.join(cwd, json)
    return 0, "S=%s\nJ=%s\nL=%s\nD=%s\nP=%s\n" % (stats, json, limit or "", debug or "", lib)


def main():
    run, lib = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    cases = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    seed = int(os.environ.get("KMEM_TEST_SEED", "1"))
    print("seed %d (set KMEM_TEST_SEED to repeat or change it)" % seed)
    rng = random.Random(seed)
    default_lib = os.path.dirname(os.path.abspath(run)) + "/../lib/libkmem.so"
    failures = 0
    counts = {}
    usage = "  kmem-run [--stats] [--stats-json FILE] [--limit SIZE] [--debug CHECKS] [--lib PATH]"
    with tempfile.TemporaryDirectory(prefix="kmem-run-args.") as cwd:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMEM_")}
        env.pop("LD_PRELOAD", None)
        for n in range(cases):
            args = make_case(rng, lib, os.path.join(cwd, "missing", "libkmem.so"), cwd)
            status, what = model(args, default_lib, cwd)
            p = subprocess.run([run] + args, cwd=cwd, env=env, capture_output=True,
                               text=True, timeout=60)
            kind = what if status or what == "tiny" else "ran"
            counts[kind] = counts.get(kind, 0) + 1
            err = p.stderr.splitlines()
            if status:
                first = err[0] if err else ""
                good = p.returncode == 2 and p.stdout == "" and {
                    "usage": first.startswith("kmem-run — run a command") and usage in err,
                    "unknown": first.startswith("kmem-run: unknown option ") and
                    len(err) > 1 and err[1].startswith("kmem-run — run a command") and
                    usage in err,
                    "limit": first.startswith("kmem-run: --limit ") and "not a size" in first,
                    "lib": first.startswith("kmem-run: cannot find "),
                    "debug": first.startswith("kmem-run: --debug ") and "not a list" in first,
                }[what]
            else:
                ours = any(line.startswith("kmem-run") for line in err)
                good = not ours and (what == "tiny" or (p.returncode == 0 and p.stdout == what))
            if not good:
                failures += 1
                if failures <= 5:
                    print("FAIL case %d: kmem-run %s" % (n, " ".join(shlex.quote(a) for a in args)))
                    print("  expected status %d, %r" % (status, what))
                    print("  got status %d, stdout %r, stderr %r" % (p.returncode, p.stdout,
                                                                      p.stderr[:300]))
    print("%d cases: %s; %d failed" % (cases, ", ".join("%s %d" % kv for kv in sorted(counts.items())),
                                       failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
