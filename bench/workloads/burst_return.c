/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * burst_return.c — measurement, not a workload of the timed suite: how
 * much resident memory an allocator keeps after a 1 GiB burst of small
 * pieces (16 B .. 8 KiB) is freed. Prints the peak, then what is left
 * right after the frees, after malloc_trim(0), and — in a second process
 * (--idle) — after 2 s with no call at all:
 *
 *   burst_return [--idle] [MiB]        (default 1024)
 *
 * Run under each allocator with LD_PRELOAD (bench/memory_return.sh).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
    int idle = argc > 1 && strcmp(argv[1], "--idle") == 0;
    size_t mib = (size_t)atol(argc > 1 + idle ? argv[1 + idle] : "1024");
    size_t total = mib << 20, bytes = 0, n = 0, cap = total / 16 + 1;
    void **p = malloc(cap * sizeof *p);
    if (p == NULL)
        return 1;
    uint64_t x = 88172645463325252ull;
    while (bytes < total && n < cap) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t size = 16 + (x % 4 == 0 ? x % 8176 : x % 1008);
        char *q = malloc(size);
        if (q == NULL)
            return 1;
        q[0] = 1;
        q[size - 1] = 1;
        p[n++] = q;
        bytes += size;
    }
    long peak = resident_kib();
    for (size_t i = 0; i < n; i++)
        free(p[i]);
    long freed = resident_kib();
    if (idle) {
        sleep(2);
        long later = resident_kib();
        printf("peak %ld KiB; after free %ld KiB (%.1f%%); after 2 s idle %ld KiB (%.1f%%)\n", peak,
               freed, 100.0 * freed / peak, later, 100.0 * later / peak);
    } else {
        malloc_trim(0);
        long trimmed = resident_kib();
        printf("peak %ld KiB; after free %ld KiB (%.1f%%); after malloc_trim(0) %ld KiB (%.1f%%)\n",
               peak, freed, 100.0 * freed / peak, trimmed, 100.0 * trimmed / peak);
    }
    free(p);
    return 0;
}
