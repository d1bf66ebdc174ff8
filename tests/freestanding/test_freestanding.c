/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_freestanding.c — kmem built freestanding (no OS, no thread caches)
 * over a static region with this program's hooks: start, a random
 * sequence checked against a shadow record, two threads contending for
 * the locks (the wait hook is absent, so they spin), exhausting the region,
 * and the statistics.
 */
#define _GNU_SOURCE
#include <kmem_freestanding.h>

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_FS, "fs", "freestanding test");

enum { REGION = 64 << 20 };
static char region[REGION] __attribute__((aligned(4096)));

static void hook_write(const char *text, size_t len)
{
    ssize_t n = write(2, text, len);
    (void)n;
}

static void hook_abort(void)
{
    abort();
}

static uint64_t hook_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t decommitted;

static void hook_decommit(void *addr, size_t len)
{
    decommitted += len;
    madvise(addr, len, MADV_DONTNEED);
}

static const struct kmem_hooks hooks = {
    .write_error = hook_write,
    .abort = hook_abort,
    .now_ns = hook_now,
    .decommit = hook_decommit,
    .decommit_zeroes = 1,
    .region_zeroed = 1,
    .seed = 12345,
};

enum { SLOTS = 512 };
struct slot {
    char *p;
    size_t size;
    uint64_t tag;
};

static void *worker(void *arg)
{
    struct rng r = rng_make((uint64_t)(uintptr_t)arg);
    static __thread struct slot live[64];
    for (int op = 0; op < 100000; op++) {
        struct slot *s = &live[rng_below(&r, 64)];
        if (s->p == NULL) {
            s->size = rng_below(&r, 3000);
            s->p = kmem_malloc(s->size, M_FS, KM_WAITOK);
            s->tag = rng_next(&r);
            pattern_fill(s->p, s->size, s->tag);
        } else {
            CHECK(pattern_check(s->p, s->size, s->tag) == (size_t)-1, "thread block corrupt");
            kmem_free(s->p, M_FS);
            s->p = NULL;
        }
    }
    for (int i = 0; i < 64; i++)
        if (live[i].p != NULL)
            kmem_free(live[i].p, M_FS);
    return NULL;
}

int main(void)
{
    uint64_t seed = test_seed(1988);
    REQUIRE(kmem_freestanding_init(region, REGION, &hooks) == KMEM_OK, "init");
    CHECK_EQ(kmem_freestanding_init(region, REGION, &hooks), KMEM_ERR_BUSY);

    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    CHECK(as.reserved > REGION * 98ull / 100 && as.reserved <= REGION,
          "arena of %" PRIu64 " bytes over a %d-byte region", as.reserved, REGION);

    /* A random sequence, single thread. */
    static struct slot slots[SLOTS];
    struct rng r = rng_make(seed);
    for (int op = 0; op < 200000; op++) {
        struct slot *s = &slots[rng_below(&r, SLOTS)];
        if (s->p == NULL) {
            s->size = rng_below(&r, 4) == 0 ? rng_below(&r, 200000) : rng_below(&r, 2000);
            s->p = kmem_malloc(s->size, M_FS, KM_NOWAIT);
            REQUIRE(s->p != NULL, "op %d: %zu bytes", op, s->size);
            s->tag = rng_next(&r);
            pattern_fill(s->p, s->size, s->tag);
        } else {
            size_t bad = pattern_check(s->p, s->size, s->tag);
            CHECK(bad == (size_t)-1, "op %d: block corrupt at %zu", op, bad);
            kmem_free(s->p, M_FS);
            s->p = NULL;
        }
    }
    CHECK_EQ(kmem_check(), 0);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL) {
            kmem_free(slots[i].p, M_FS);
            slots[i].p = NULL;
        }

    /* Two threads contend for the locks. */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, worker, (void *)1);
    pthread_create(&t2, NULL, worker, (void *)2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    struct kmem_type_stats ts;
    kmem_type_stats(M_FS, &ts);
    CHECK_EQ(ts.inuse, 0);
    CHECK_EQ(ts.memuse, 0);
    CHECK_EQ(kmem_check(), 0);

    /* The region runs out: KM_NOWAIT gets NULL, and what was taken comes
     * back whole. */
    static void *chunks[4096];
    int n = 0;
    while (n < 4096 && (chunks[n] = kmem_malloc(1 << 20, M_FS, KM_NOWAIT)) != NULL)
        n++;
    CHECK(n > 50 && n < 64, "took %d MiB from a 64 MiB region", n);
    CHECK(kmem_malloc(1 << 20, M_FS, KM_NOWAIT) == NULL, "allocation past the end");
    for (int i = 0; i < n; i++)
        kmem_free(chunks[i], M_FS);
    void *again = kmem_malloc(40 << 20, M_FS, KM_NOWAIT);
    CHECK(again != NULL, "40 MiB after freeing everything");
    kmem_free(again, M_FS);
    CHECK_EQ(kmem_check(), 0);

    /* Without a background thread the host gives idle pages back: by
     * kmem_maintain() now and then (free pages unused for the decay time
     * go through the decommit hook), or all at once by kmem_trim(). */
    kmem_set_decay_ms(1);
    usleep(5000);
    size_t before = decommitted;
    kmem_maintain();
    CHECK(decommitted > before, "kmem_maintain gave nothing back through the hook");
    size_t given = kmem_trim();
    struct kmem_arena_stats after;
    kmem_arena_stats(&after);
    CHECK(after.dirty_free == 0, "%" PRIu64 " bytes of free pages still resident after trim",
          after.dirty_free);
    CHECK(given <= decommitted, "trim reports %zu bytes, the hook saw %zu", given, decommitted);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("freestanding");
}
