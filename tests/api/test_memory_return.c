/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_memory_return.c — memory goes back to the system after a peak.
 * Allocate 1 GiB in small pieces of mixed sizes (16 B .. 8 KiB), free all
 * of it, and read resident memory from /proc/self/statm:
 *   - after kmem_trim(), it must fall below 5% of the peak;
 *   - with no call at all, below 25% of the peak within two seconds (the
 *     background reclaimer's work).
 * Each case runs in its own child process, so each starts from nothing.
 * Resident memory is meaningless under sanitizers (shadow memory): there
 * the test only runs the bursts and checks the heap.
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_BURST, "burst", "memory-return test");

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEASURE_RSS 0
#else
#define MEASURE_RSS 1
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Allocate `total` bytes in pieces, touching each; free them all; return
 * the peak resident KiB. */
static long burst(uint64_t seed, size_t total)
{
    size_t cap = 1 << 22, n = 0, bytes = 0;
    void **ptrs = kmem_malloc(cap * sizeof *ptrs, M_BURST, KM_WAITOK);
    struct rng r = rng_make(seed);
    while (bytes < total && n < cap) {
        size_t size = 16 + rng_below(&r, rng_below(&r, 4) == 0 ? 8192 - 16 : 1024);
        char *p = kmem_malloc(size, M_BURST, KM_WAITOK);
        p[0] = (char)n;
        p[size - 1] = (char)n;
        ptrs[n++] = p;
        bytes += size;
    }
    long peak = test_resident_kib();
    for (size_t i = 0; i < n; i++)
        kmem_free(ptrs[i], M_BURST);
    kmem_free(ptrs, M_BURST);
    return peak;
}

static int run_case(int trim, uint64_t seed)
{
    size_t total = MEASURE_RSS ? (size_t)1 << 30 : (size_t)64 << 20;
    long peak = burst(seed, total);
    long after;
    double waited = 0;
    if (trim) {
        size_t given = kmem_trim();
        after = test_resident_kib();
        printf("after kmem_trim (gave back %zu MiB): resident %ld KiB of a %ld KiB peak (%.1f%%)\n",
               given >> 20, after, peak, 100.0 * after / peak);
        if (MEASURE_RSS)
            CHECK(after * 20 < peak, "resident %ld KiB after trim, peak %ld KiB", after, peak);
    } else {
        double start = now();
        do {
            usleep(50000);
            after = test_resident_kib();
            waited = now() - start;
        } while (after * 4 >= peak && waited < 2.0);
        printf("no calls: resident %ld KiB of a %ld KiB peak (%.1f%%) after %.2f s\n", after, peak,
               100.0 * after / peak, waited);
        if (MEASURE_RSS)
            CHECK(after * 4 < peak, "resident %ld KiB after %.2f s idle, peak %ld KiB", after,
                  waited, peak);
    }
    CHECK_EQ(kmem_check(), 0);
    struct kmem_type_stats ts;
    kmem_type_stats(M_BURST, &ts);
    CHECK_EQ(ts.memuse, 0);
    fflush(stdout);
    return test_failures != 0;
}

int main(void)
{
    uint64_t seed = test_seed(1024);
    int failed = 0;
    for (int trim = 1; trim >= 0; trim--) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_case(trim, seed));
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "case %s failed (status %d)\n", trim ? "trim" : "idle", status);
            failed++;
        }
    }
    test_failures += failed;
    return test_finish("memory_return");
}
