#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""forge_record.py PATH PID START_TIME — write a well-formed statistics
record (include/kmem_export.h, version 1) for PID with the given start
time and no types: what a process that died long ago would have left,
for tests/export/run.sh to check that kmemstat tells it from the live
process that has that pid now."""
import struct
import sys

path, pid, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
HEADER = 328
BUCKET = 64
arena = [0] * 17
arena[1] = 4096  # page size
head = struct.pack("<QIIQQqQQQ8I", 0x746174736d656d6b, 1, HEADER, 2, HEADER + BUCKET,
                   pid, start, 1, 1, 100, 4, 1, 0, HEADER, BUCKET, HEADER + BUCKET, 192)
command = b"forged".ljust(96, b"\0")
head += command + struct.pack("<17Q", *arena)
assert len(head) == HEADER, len(head)
bucket = struct.pack("<8Q", 16, 0, 0, 0, 0, 0, 0, 1)
with open(path, "wb") as f:
    f.write(head + bucket)
