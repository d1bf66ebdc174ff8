/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_steady_syscalls.c — a steady workload makes no system call per
 * operation: after a warm-up, loops of small malloc/free pairs, of 64 KiB
 * and 1 MiB pairs, and of a mixed window of live blocks run for a while,
 * and kmem's own count of the calls it made to give memory back or commit
 * more (kmem_arena_stats: decommit_calls, commit_calls) may grow by a
 * handful at most. (kmem makes these calls only through its platform
 * layer, which the arena counts.)
 */
#include <kmem.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_STEADY, "steady", "steady-loop test");

static uint64_t calls(void)
{
    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    return as.decommit_calls + as.commit_calls;
}

static void pairs(size_t size, long n)
{
    for (long i = 0; i < n; i++) {
        char *p = kmem_malloc(size, M_STEADY, KM_NOWAIT);
        REQUIRE(p != NULL, "malloc %zu", size);
        p[0] = (char)i;
        p[size - 1] = (char)i;
        kmem_free(p, M_STEADY);
    }
}

static void window(struct rng *r, long n)
{
    enum { LIVE = 512 };
    static char *live[LIVE];
    static size_t sizes[LIVE];
    for (long i = 0; i < n; i++) {
        int k = (int)rng_below(r, LIVE);
        if (live[k] != NULL) {
            kmem_free(live[k], M_STEADY);
            live[k] = NULL;
        }
        sizes[k] = rng_below(r, 8) == 0 ? rng_below(r, 256 << 10) + 1 : rng_below(r, 2048) + 1;
        live[k] = kmem_malloc(sizes[k], M_STEADY, KM_NOWAIT);
        REQUIRE(live[k] != NULL, "window malloc");
        live[k][sizes[k] - 1] = 1;
    }
}

int main(void)
{
    struct rng r = rng_make(test_seed(7));
    struct { const char *what; size_t size; long n; } loops[] = {
        { "64-byte pairs", 64, 2000000 },
        { "64 KiB pairs", 64 << 10, 200000 },
        { "1 MiB pairs", 1 << 20, 50000 },
    };
    for (unsigned i = 0; i < sizeof loops / sizeof loops[0]; i++) {
        pairs(loops[i].size, 1000); /* warm up */
        uint64_t before = calls();
        pairs(loops[i].size, loops[i].n);
        uint64_t made = calls() - before;
        printf("%-14s %8ld pairs: %" PRIu64 " system calls\n", loops[i].what, loops[i].n, made);
        CHECK(made <= 4, "%s: %" PRIu64 " system calls in %ld pairs", loops[i].what, made,
              loops[i].n);
    }
    window(&r, 200000); /* warm up: the window reaches its steady size */
    uint64_t before = calls();
    window(&r, 1000000);
    uint64_t made = calls() - before;
    printf("mixed window   1000000 ops: %" PRIu64 " system calls\n", made);
    CHECK(made <= 16, "mixed window: %" PRIu64 " system calls in 1M operations", made);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("steady_syscalls");
}
