# SPDX-License-Identifier: BSD-2-Clause
"""python_alloc.py — workload: an allocation-heavy Python program, run by
bench/run.py with Debian's interpreter binary (/usr/bin/python3.11) and
PYTHONMALLOC=malloc, so that every object goes through the C library's
malloc, and so through whichever allocator LD_PRELOAD puts under it.

    python3.11 python_alloc.py ROUNDS

Each round, from a fixed seed:
  words    a text of random words is built, split and counted into a dict
           (str objects, a dict growing and resizing, list appends);
  objects  a tree of small class instances (each with its own __dict__) is
           built and walked;
  records  a list of tuples and formatted strings is sorted and grouped
           into a dict of lists, half of it deleted, the rest joined;
and a third of each round's results is kept for the next round, so
objects of different ages share the heap.

Verified: every count and sum is checked against what it must be
(computed another way); a mismatch exits with status 1. The checksum
(CRC-32 of the results) is the same under any allocator (bench/run.py
sets PYTHONHASHSEED=0 and nothing here depends on set order).

Under -X tracemalloc it also prints requested_peak_bytes: the peak of
the memory Python asked for (bench/run.py runs it so once, untimed, for
utilization: tracing every allocation would distort the timed runs).
"""
import random
import sys
import tracemalloc
import zlib

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def fail(msg):
    sys.stdout.flush()
    print("python_alloc: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


class Node:
    def __init__(self, key, depth):
        self.key = key
        self.depth = depth
        self.children = []
        self.label = "n%d" % key


def build_tree(rng, count):
    root = Node(0, 0)
    nodes = [root]
    for key in range(1, count):
        parent = nodes[rng.randrange(len(nodes))]
        child = Node(key, parent.depth + 1)
        parent.children.append(child)
        nodes.append(child)
    return root


def walk(root):
    count = total = 0
    stack = [root]
    while stack:
        node = stack.pop()
        count += 1
        total += node.key + len(node.label)
        stack.extend(node.children)
    return count, total


def one_round(rng, r, kept):
    # words: a text split and counted
    words = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 9)))
             for _ in range(1000)]
    text = " ".join(rng.choice(words) for _ in range(7500))
    counts = {}
    for w in text.split():
        counts[w] = counts.get(w, 0) + 1
    if sum(counts.values()) != 7500:
        fail("round %d: the word counts add up to %d, not 7500" % (r, sum(counts.values())))

    # objects: a tree of instances
    n = 5000
    root = build_tree(rng, n)
    count, total = walk(root)
    expected = n * (n - 1) // 2 + sum(len("n%d" % k) for k in range(n))
    if count != n or total != expected:
        fail("round %d: the tree walk found %d nodes summing to %d, not %d and %d"
             % (r, count, total, n, expected))

    # records: tuples and strings sorted and grouped
    records = [(rng.randrange(1000), "item-%06d-%s" % (i, rng.choice(words)), i)
               for i in range(5000)]
    records.sort()
    for a, b in zip(records, records[1:]):
        if a > b:
            fail("round %d: the records are not sorted" % r)
    groups = {}
    for key, name, i in records:
        groups.setdefault(key, []).append(name)
    for key in list(groups):
        if key % 2:
            del groups[key]
    joined = ";".join(",".join(v) for _, v in sorted(groups.items()))
    evens = sum(1 for rec in records if rec[0] % 2 == 0)
    if joined.count(",") + joined.count(";") + 1 != evens:
        fail("round %d: the joined groups hold the wrong number of names" % r)

    # keep a third for the next round
    kept.append((counts, root, records[: len(records) // 3]))
    if len(kept) > 2:
        kept.pop(0)
    return zlib.crc32(("%d %d %d %s" % (len(counts), total, evens,
                                        joined[-200:])).encode())


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        print("usage: python_alloc.py ROUNDS", file=sys.stderr)
        sys.exit(1)
    rounds = int(sys.argv[1])
    rng = random.Random(20240601)
    kept = []
    checksum = 0
    for r in range(rounds):
        checksum = zlib.crc32(b"%d" % one_round(rng, r, kept), checksum)
    print("workload python_alloc")
    print("checksum %08x" % checksum)
    if tracemalloc.is_tracing():
        print("requested_peak_bytes %d" % tracemalloc.get_traced_memory()[1])


if __name__ == "__main__":
    main()
