#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""update_readme.py — copies the latest benchmark results (results.md, as
written by bench/run.py, with its date and machine) into README.md,
between the lines

    <!-- bench:begin -->
    <!-- bench:end -->

replacing whatever was there; the rest of README.md is left as it was.

    bench/update_readme.py [--results build/bench/results.md] [--readme README.md]

Exit status: 0; 1 if a marker is missing (or out of order) or the results
are missing, with a message saying which.
"""
import argparse
import os
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def main():
    p = argparse.ArgumentParser(description="Put the latest benchmark results into README.md.")
    p.add_argument("--results", default="build/bench/results.md",
                   help="the results to copy (build/bench/results.md)")
    p.add_argument("--readme", default="README.md", help="the file to update (README.md)")
    args = p.parse_args()

    try:
        with open(args.results, encoding="utf-8") as f:
            results = f.read().strip("\n")
    except OSError as e:
        print("update_readme: cannot read %s (%s): run bench/run.py first"
              % (args.results, e.strerror), file=sys.stderr)
        return 1
    try:
        with open(args.readme, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print("update_readme: cannot read %s (%s)" % (args.readme, e.strerror), file=sys.stderr)
        return 1

    lines = text.split("\n")
    begins = [i for i, l in enumerate(lines) if l.strip() == BEGIN]
    ends = [i for i, l in enumerate(lines) if l.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        print("update_readme: %s needs exactly one line %s and, after it, one line %s "
              "(found %d and %d): nothing changed"
              % (args.readme, BEGIN, END, len(begins), len(ends)), file=sys.stderr)
        return 1
    b, e = begins[0], ends[0]
    new = "\n".join(lines[:b + 1] + [results] + lines[e:])
    if new == text:
        print("update_readme: %s already holds these results" % args.readme)
        return 0
    tmp = args.readme + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, args.readme)
    print("update_readme: %s updated from %s" % (args.readme, args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
