/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suite.h — the checks of the freestanding core that need no operating
 * system, so that the same ones run on the host (test_freestanding.c) and
 * on an emulated RISC-V machine with no OS at all (baremetal/demo.c):
 * start-up, a random sequence checked against a shadow record, exhausting
 * the region, and giving idle pages back through the decommit hook. It
 * uses nothing from a C library: text goes out through the host's write
 * function, and time passes through its sleep function.
 *
 * The caller has started kmem (kmem_freestanding_init) over fs->region
 * with hooks whose decommit adds the bytes to *fs->decommitted, and with
 * every page of the region free.
 */
#ifndef KMEM_TEST_FS_SUITE_H
#define KMEM_TEST_FS_SUITE_H

#include <kmem_freestanding.h>

#include "pattern.h"

struct fs_host {
    void *region;                               /* what kmem was started over */
    size_t size;
    const struct kmem_hooks *hooks;             /* the hooks it was started with */
    void (*write)(const char *text, size_t len); /* the report */
    void (*sleep_ms)(unsigned ms);               /* at least this long */
    volatile size_t *decommitted;                /* bytes the decommit hook saw */
    uint64_t seed;
    long ops;                                   /* length of the random sequence */
};

KMEM_TYPE_DEFINE(M_FS, "fs", "freestanding test");

static const struct fs_host *fs_host_;
static int fs_failures_;

static size_t fs_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static void fs_puts(const char *s)
{
    fs_host_->write(s, fs_strlen(s));
}

static void fs_putu(uint64_t v)
{
    char buf[24];
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    fs_host_->write(buf + i, sizeof buf - (size_t)i);
}

/* A failed check: "suite.h:LINE: CHECK(what) failed (a, b)"; the suite
 * goes on unless the caller stops. */
static void fs_fail(int line, const char *what, uint64_t a, uint64_t b)
{
    fs_failures_++;
    fs_puts("suite.h:");
    fs_putu((uint64_t)line);
    fs_puts(": CHECK(");
    fs_puts(what);
    fs_puts(") failed (");
    fs_putu(a);
    fs_puts(", ");
    fs_putu(b);
    fs_puts(")\n");
}

#define FS_CHECK(cond, a, b)                                                  \
    do {                                                                      \
        if (!(cond))                                                          \
            fs_fail(__LINE__, #cond, (uint64_t)(a), (uint64_t)(b));           \
    } while (0)

enum { FS_SLOTS = 512 };
struct fs_slot {
    char *p;
    size_t size;
    uint64_t tag;
};

/* One thread, a random mix of small and large blocks, each filled with a
 * pattern that is checked before it is freed. */
static void fs_random_sequence(void)
{
    static struct fs_slot slots[FS_SLOTS];
    struct rng r = rng_make(fs_host_->seed);
    for (long op = 0; op < fs_host_->ops; op++) {
        struct fs_slot *s = &slots[rng_below(&r, FS_SLOTS)];
        if (s->p == NULL) {
            s->size = rng_below(&r, 4) == 0 ? rng_below(&r, 200000) : rng_below(&r, 2000);
            s->p = kmem_malloc(s->size, M_FS, KM_NOWAIT);
            FS_CHECK(s->p != NULL, op, s->size);
            if (s->p == NULL)
                return;
            s->tag = rng_next(&r);
            pattern_fill(s->p, s->size, s->tag);
        } else {
            size_t bad = pattern_check(s->p, s->size, s->tag);
            FS_CHECK(bad == (size_t)-1, op, bad);
            kmem_free(s->p, M_FS);
            s->p = NULL;
        }
    }
    FS_CHECK(kmem_check() == 0, 0, 0);
    for (int i = 0; i < FS_SLOTS; i++)
        if (slots[i].p != NULL) {
            kmem_free(slots[i].p, M_FS);
            slots[i].p = NULL;
        }
    struct kmem_type_stats ts;
    kmem_type_stats(M_FS, &ts);
    FS_CHECK(ts.inuse == 0, ts.inuse, 0);
    FS_CHECK(ts.memuse == 0, ts.memuse, 0);
}

/* The region runs out: KM_NOWAIT gets NULL, and what was taken comes back
 * whole. */
static void fs_exhaust(void)
{
    enum { MAX_CHUNKS = 4096 };
    static void *chunks[MAX_CHUNKS];
    uint64_t mib = fs_host_->size >> 20;
    uint64_t n = 0;
    /* Start from one free run: what the random sequence freed lies in
     * dirty and clean runs, which do not join, and how many there are
     * depends on how much time passed (the decay ages them), so on a busy
     * host the 1 MiB requests would leave a short piece in each. */
    (void)kmem_trim();
    while (n < MAX_CHUNKS && (chunks[n] = kmem_malloc(1 << 20, M_FS, KM_NOWAIT)) != NULL)
        n++;
    /* The tables take about 1%; runs of 1 MiB leave at most one short. */
    FS_CHECK(n * 100 > mib * 95 && n < mib, n, mib);
    FS_CHECK(kmem_malloc(1 << 20, M_FS, KM_NOWAIT) == NULL, n, 0);
    for (uint64_t i = 0; i < n; i++)
        kmem_free(chunks[i], M_FS);
    void *again = kmem_malloc((size_t)(mib * 5 / 8) << 20, M_FS, KM_NOWAIT);
    FS_CHECK(again != NULL, mib * 5 / 8, 0);
    kmem_free(again, M_FS);
    FS_CHECK(kmem_check() == 0, 0, 0);
}

/* Without a background thread the host gives idle pages back: by
 * kmem_maintain() now and then (free pages unused for the decay time go
 * through the decommit hook), or all at once by kmem_trim(). */
static void fs_give_back(void)
{
    kmem_set_decay_ms(1);
    fs_host_->sleep_ms(5);
    size_t before = *fs_host_->decommitted;
    kmem_maintain();
    FS_CHECK(*fs_host_->decommitted > before, *fs_host_->decommitted, before);
    size_t given = kmem_trim();
    struct kmem_arena_stats after;
    kmem_arena_stats(&after);
    FS_CHECK(after.dirty_free == 0, after.dirty_free, 0);
    FS_CHECK(given <= *fs_host_->decommitted, given, *fs_host_->decommitted);
    FS_CHECK(kmem_check() == 0, 0, 0);
    kmem_set_decay_ms(1000); /* the default again, for what the host runs next */
}

/* Run every check; returns the number that failed (0: all held). */
static int fs_suite_run(const struct fs_host *host)
{
    fs_host_ = host;
    fs_failures_ = 0;
    FS_CHECK(kmem_freestanding_init(host->region, host->size, host->hooks) == KMEM_ERR_BUSY,
             0, 0);
    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    FS_CHECK(as.reserved > host->size / 100 * 98 && as.reserved <= host->size, as.reserved,
             host->size);
    fs_random_sequence();
    fs_puts("  suite: random sequence of ");
    fs_putu((uint64_t)host->ops);
    fs_puts(" operations checked\n");
    fs_exhaust();
    fs_puts("  suite: region exhausted and refilled\n");
    fs_give_back();
    fs_puts("  suite: idle pages given back through the decommit hook\n");
    return fs_failures_;
}

#endif /* KMEM_TEST_FS_SUITE_H */
