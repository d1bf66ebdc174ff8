/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_random.c — a long random sequence of kmem_malloc, kmem_free and
 * kmem_realloc (and the macros), sizes up to 1 MiB, checked against a
 * shadow record of every live block:
 *   - contents survive until freed, realloc keeps the old bytes;
 *   - KM_ZERO memory reads zero;
 *   - the usable size is the bucket size or the whole pages;
 *   - no two live blocks overlap;
 *   - every few thousand operations the statistics add up: per type,
 *     in-use count and bytes equal the shadow's; over all types, they equal
 *     the buckets' pieces in use plus the large blocks;
 *   - now and then the whole heap passes kmem_check().
 * KMEM_TEST_SEED picks the sequence; KMEM_TEST_OPS its length (default
 * 1,000,000).
 */
#include <kmem.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_RED, "red", "random test, first type");
KMEM_TYPE_DEFINE(M_GREEN, "green", "random test, second type");
KMEM_TYPE_DEFINE(M_BLUE, "blue", "random test, third type");

static struct kmem_type *const types[3] = { M_RED, M_GREEN, M_BLUE };

enum { SLOTS = 4096 };

struct slot {
    char *p;
    size_t size;   /* bytes the test may use (requested) */
    size_t usable; /* what kmem_usable_size said */
    uint64_t tag;  /* pattern */
    int type;
};

static struct slot slots[SLOTS];
static uint64_t next_tag = 1;

static size_t rounded_size(size_t n)
{
    if (n <= KMEM_MAXALLOCSAVE)
        return kmem_bucket_size(kmem_bucket_index(n));
    return (n + KMEM_PAGE_SIZE - 1) / KMEM_PAGE_SIZE * KMEM_PAGE_SIZE;
}

static size_t random_size(struct rng *r)
{
    uint64_t pick = rng_below(r, 100);
    if (pick < 60)
        return rng_below(r, 257);
    if (pick < 85)
        return 257 + rng_below(r, KMEM_MAXALLOCSAVE - 256);
    if (pick < 97)
        return KMEM_MAXALLOCSAVE + 1 + rng_below(r, 128 << 10);
    return rng_below(r, (1 << 20) + 1);
}

static int random_wait_flag(struct rng *r)
{
    return rng_below(r, 2) ? KM_WAITOK : KM_NOWAIT;
}

/* Bytes [from, to) of p read zero (sampled beyond the first 4 KiB). */
static int zeroed(const char *p, size_t from, size_t to)
{
    size_t step = 1;
    for (size_t i = from; i < to; i += step) {
        if (p[i] != 0)
            return 0;
        if (i - from >= 4096)
            step = 509;
    }
    return to == from || p[to - 1] == 0;
}

static void check_contents(const struct slot *s, long op)
{
    size_t bad = pattern_check(s->p, s->size, s->tag);
    CHECK(bad == (size_t)-1, "op %ld: block %p of %zu bytes corrupt at byte %zu", op,
          (void *)s->p, s->size, bad);
}

static void do_alloc(struct rng *r, struct slot *s, long op)
{
    size_t size = random_size(r);
    int flags = random_wait_flag(r);
    int zero = rng_below(r, 8) == 0;
    int type = (int)rng_below(r, 3);
    char *p;
    size_t align = 0;
    uint64_t how = rng_below(r, 16);
    if (how < 4 && !zero) {
        KMEM_MALLOC(p, char *, size, types[type], flags);
    } else if (how == 4) {
        align = (size_t)16 << rng_below(r, 14); /* 16 B .. 128 KiB */
        p = kmem_malloc_aligned(size, align, types[type], flags | (zero ? KM_ZERO : 0));
    } else {
        p = kmem_malloc(size, types[type], flags | (zero ? KM_ZERO : 0));
    }
    REQUIRE(p != NULL, "op %ld: allocation of %zu bytes failed", op, size);
    size_t usable = kmem_usable_size(p);
    if (align != 0) {
        CHECK((uintptr_t)p % align == 0, "op %ld: %zu bytes at %p not aligned to %zu", op,
              size, (void *)p, align);
        CHECK(usable >= size, "op %ld: aligned block of %zu has usable %zu", op, size, usable);
    } else {
        CHECK(usable == rounded_size(size), "op %ld: %zu bytes gave usable %zu, want %zu", op,
              size, usable, rounded_size(size));
    }
    if (zero)
        CHECK(zeroed(p, 0, usable), "op %ld: KM_ZERO block of %zu not zero", op, size);
    *s = (struct slot){ p, size, usable, next_tag++, type };
    pattern_fill(p, size, s->tag);
}

static void do_free(struct rng *r, struct slot *s, long op)
{
    check_contents(s, op);
    if (rng_below(r, 4) == 0)
        KMEM_FREE(s->p, types[s->type]);
    else
        kmem_free(s->p, types[s->type]);
    s->p = NULL;
}

static void do_realloc(struct rng *r, struct slot *s, long op)
{
    check_contents(s, op);
    size_t size = random_size(r);
    int zero = rng_below(r, 8) == 0;
    char *p = kmem_realloc(s->p, size, types[s->type],
                           random_wait_flag(r) | (zero ? KM_ZERO : 0));
    REQUIRE(p != NULL, "op %ld: realloc to %zu bytes failed", op, size);
    size_t keep = s->size < size ? s->size : size;
    size_t bad = pattern_check_prefix(p, keep, s->size, s->tag);
    CHECK(bad == (size_t)-1, "op %ld: realloc %zu -> %zu lost byte %zu", op, s->size, size,
          bad);
    size_t usable = kmem_usable_size(p);
    CHECK(usable == rounded_size(size) || (p == s->p && usable == s->usable),
          "op %ld: realloc to %zu gave usable %zu", op, size, usable);
    if (zero && usable > s->usable)
        CHECK(zeroed(p, s->usable, usable), "op %ld: KM_ZERO realloc grew without zeroes", op);
    s->p = p;
    s->size = size;
    s->usable = usable;
    s->tag = next_tag++;
    pattern_fill(p, size, s->tag);
}

static int by_address(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
    return x->p < y->p ? -1 : x->p > y->p;
}

static void check_shadow(long op)
{
    static struct slot *live[SLOTS];
    uint64_t count[3] = { 0, 0, 0 }, bytes[3] = { 0, 0, 0 };
    int n = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL) {
            live[n++] = &slots[i];
            count[slots[i].type]++;
            bytes[slots[i].type] += slots[i].usable;
        }
    qsort(live, (size_t)n, sizeof live[0], by_address);
    for (int i = 1; i < n; i++)
        CHECK(live[i - 1]->p + live[i - 1]->usable <= live[i]->p,
              "op %ld: blocks %p (+%zu) and %p overlap", op, (void *)live[i - 1]->p,
              live[i - 1]->usable, (void *)live[i]->p);
    uint64_t total = 0;
    for (int t = 0; t < 3; t++) {
        struct kmem_type_stats ts;
        kmem_type_stats(types[t], &ts);
        CHECK(ts.inuse == count[t], "op %ld: type %d in use %" PRIu64 ", shadow %" PRIu64, op,
              t, ts.inuse, count[t]);
        CHECK(ts.memuse == bytes[t], "op %ld: type %d memuse %" PRIu64 ", shadow %" PRIu64,
              op, t, ts.memuse, bytes[t]);
        CHECK(ts.maxused >= ts.memuse, "op %ld: type %d high-water below use", op, t);
        CHECK(ts.calls - ts.frees == ts.inuse, "op %ld: calls - frees != inuse", op);
    }
    /* Over every type in use — the test's and kmem's own. */
    for (struct kmem_type *t = kmem_type_next(NULL); t != NULL; t = kmem_type_next(t)) {
        struct kmem_type_stats ts;
        kmem_type_stats(t, &ts);
        total += ts.memuse;
    }
    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    /* kmem's own pages (thread caches) are the type "kmem". */
    CHECK(as.small_inuse + as.large_inuse + as.internal == total,
          "op %ld: buckets %" PRIu64 " + large %" PRIu64 " + kmem's own %" PRIu64
          " != types %" PRIu64, op, as.small_inuse, as.large_inuse, as.internal, total);
    uint64_t pieces = 0;
    for (unsigned b = 1; b <= kmem_nbuckets(); b++) {
        struct kmem_bucket_stats bs;
        kmem_bucket_stats(b, &bs);
        pieces += bs.inuse * bs.size;
    }
    CHECK(pieces == as.small_inuse, "op %ld: bucket rows add to %" PRIu64 ", arena says %" PRIu64,
          op, pieces, as.small_inuse);
}

int main(void)
{
    /* The checks add figures read one after another, which is exact only
     * while no other thread allocates. Publishing statistics (on by
     * default, from a second into the run) makes the export thread take
     * kmem's own pages for its copy at a moment of its choosing: once,
     * under ASan, between this thread's reading of the types and of the
     * arena (kmem's own 16 KiB apart). This test is not about publishing. */
    setenv("KMEM_EXPORT", "0", 1);
    uint64_t seed = test_seed(19880601);
    const char *env = getenv("KMEM_TEST_OPS");
    long ops = env != NULL ? atol(env) : 1000000;
    struct rng r = rng_make(seed);
    printf("%ld operations\n", ops);

    for (long op = 0; op < ops && test_failures < 20; op++) {
        struct slot *s = &slots[rng_below(&r, SLOTS)];
        if (s->p == NULL)
            do_alloc(&r, s, op);
        else if (rng_below(&r, 2) == 0)
            do_free(&r, s, op);
        else
            do_realloc(&r, s, op);
        if (op % 4096 == 4095)
            check_shadow(op);
        if (op % 200000 == 199999)
            CHECK(kmem_check() == 0, "op %ld: kmem_check failed", op);
    }
    check_shadow(ops);
    CHECK_EQ(kmem_check(), 0);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL)
            do_free(&r, &slots[i], ops);
    check_shadow(ops);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("random");
}
