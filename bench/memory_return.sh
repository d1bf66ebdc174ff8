#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# bench/memory_return.sh BUILD — resident memory left after a 1 GiB burst of
# small pieces is freed, on kmem and on each peer allocator installed:
# right after the frees, after malloc_trim(0), and after 2 s idle with no
# call (bench/workloads/burst_return.c). Reports; asserts nothing.
set -u
build=${1:-build/release}
prog=$build/bench/workloads/burst_return
[ -x "$prog" ] || { echo "build it first: make -f mk/build.mk O=$build benches" >&2; exit 2; }
libdir=/usr/lib/x86_64-linux-gnu
printf '%-9s %s\n' allocator "1 GiB burst of 16 B .. 8 KiB pieces, freed"
for spec in "kmem=$build/lib/libkmem.so" glibc= "jemalloc=$libdir/libjemalloc.so.2" \
            "tcmalloc=$libdir/libtcmalloc.so.4" "mimalloc=$libdir/libmimalloc.so.2"; do
    name=${spec%%=*}
    lib=${spec#*=}
    if [ -n "$lib" ] && [ ! -f "$lib" ]; then
        printf '%-9s not installed (make bench-deps)\n' "$name"
        continue
    fi
    trim=$(env ${lib:+LD_PRELOAD=$lib} "$prog")
    idle=$(env ${lib:+LD_PRELOAD=$lib} "$prog" --idle)
    printf '%-9s %s\n%-9s %s\n' "$name" "$trim" "" "${idle#*; after free * ; }"
done
