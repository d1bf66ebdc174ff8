/* SPDX-License-Identifier: BSD-2-Clause */
/* test_threads.c — concurrency.
 *
 * Part 1: eight threads, each doing a few hundred thousand random
 * operations on three types: sizes from 0 to 64 KiB (mostly small, some on
 * the large path), KM_WAITOK / KM_NOWAIT, KM_ZERO (checked), kmem_malloc,
 * kmem_realloc and the KMEM_MALLOC / KMEM_FREE macros. Every block is
 * filled with a pattern and checked before it is resized or freed. Each
 * thread keeps a window of live blocks and passes some to the others
 * through a locked queue, so that many blocks are freed or resized by a
 * thread other than the one that allocated them. At the end every type is
 * empty, the calls and frees add up to what the threads counted, no bucket
 * has a piece in use, and kmem_check() passes.
 *
 * Part 2: thread churn. 2000 short-lived threads, a few at a time, each
 * allocating a handful of blocks, freeing some and leaving the rest to the
 * main thread. After they exit, their thread caches must have gone back to
 * the buckets: the pieces held by caches are at most what the main
 * thread's own cache may keep.
 *
 * Environment: KMEM_TEST_SEED (the seed), KMEM_TEST_OPS (operations per
 * thread), KMEM_TEST_CHURN (threads in part 2).
 */
#define _GNU_SOURCE
#include <kmem.h>

#include "threads.h"

#define NTHREADS 8
#define NTYPES   3
#define WINDOW   64
#define QCAP     1024
#define MAXSIZE  65536u

#if defined(__SANITIZE_THREAD__)
#define DEFAULT_OPS 40000L
#elif defined(__SANITIZE_ADDRESS__)
#define DEFAULT_OPS 150000L
#else
#define DEFAULT_OPS 300000L
#endif
#define DEFAULT_CHURN 2000L
#define CHURN_AT_ONCE 4
#define CHURN_BLOCKS  8

KMEM_TYPE_DEFINE(M_THA, "thr_a", "threads: type a");
KMEM_TYPE_DEFINE(M_THB, "thr_b", "threads: type b");
KMEM_TYPE_DEFINE(M_THC, "thr_c", "threads: type c");
static struct kmem_type *const types[NTYPES] = { M_THA, M_THB, M_THC };

struct blk {
    void *p;
    size_t size;
    uint64_t tag;
    int ti;    /* index into types[] */
    int owner; /* thread that allocated it */
};

struct counts {
    uint64_t calls[NTYPES], frees[NTYPES];
};

struct worker {
    int id;
    int failures;
    struct rng r;
    long ops;
    uint64_t next_tag;
    pthread_t thread;
    struct counts n;
    uint64_t handed, foreign_frees, foreign_reallocs, reallocs, zeroed, large, macro;
};

/* ---- the exchange queue --------------------------------------------------- */

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk q_ring[QCAP];
static unsigned q_head, q_count;

static int q_push(const struct blk *b)
{
    int ok = 0;
    pthread_mutex_lock(&q_lock);
    if (q_count < QCAP) {
        q_ring[(q_head + q_count) % QCAP] = *b;
        q_count++;
        ok = 1;
    }
    pthread_mutex_unlock(&q_lock);
    return ok;
}

static int q_pop(struct blk *b)
{
    int ok = 0;
    pthread_mutex_lock(&q_lock);
    if (q_count > 0) {
        *b = q_ring[q_head];
        q_head = (q_head + 1) % QCAP;
        q_count--;
        ok = 1;
    }
    pthread_mutex_unlock(&q_lock);
    return ok;
}

/* ---- helpers ---------------------------------------------------------------- */

static size_t rand_size(struct rng *r)
{
    uint64_t x = rng_below(r, 100);
    if (x < 3)
        return 0;
    if (x < 55)
        return 1 + rng_below(r, 128);
    if (x < 78)
        return 129 + rng_below(r, 1024 - 128);
    if (x < 90)
        return 1025 + rng_below(r, KMEM_MAXALLOCSAVE - 1024);
    return KMEM_MAXALLOCSAVE + 1 + rng_below(r, MAXSIZE - KMEM_MAXALLOCSAVE);
}

static int rand_flags(struct rng *r, int *zero)
{
    *zero = rng_below(r, 6) == 0;
    return (rng_below(r, 4) == 0 ? KM_NOWAIT : KM_WAITOK) | (*zero ? KM_ZERO : 0);
}

/* Index of the first non-zero byte in [from, to), or (size_t)-1. */
static size_t nonzero_at(const void *p, size_t from, size_t to)
{
    const unsigned char *b = p;
    for (size_t i = from; i < to; i++)
        if (b[i] != 0)
            return i;
    return (size_t)-1;
}

/* What kmem promises of any live block: alignment and usable size. */
static void check_block(struct worker *w, const void *p, size_t size)
{
    uintptr_t a = (uintptr_t)p;
    size_t usable = kmem_usable_size(p);
    TCHECK(w, usable == test_request_size(size), "%p: %zu bytes usable for a request of %zu", p,
           usable, size);
    /* Buckets of size 2^k are aligned to min(2^k, page), other buckets to
     * 16; large blocks to a page. */
    size_t align = 16;
    if (size > KMEM_MAXALLOCSAVE)
        align = KMEM_PAGE_SIZE;
    else if ((usable & (usable - 1)) == 0)
        align = usable < KMEM_PAGE_SIZE ? usable : KMEM_PAGE_SIZE;
    TCHECK(w, a % 16 == 0 && a % align == 0, "%p (request %zu) is not %zu-aligned", p, size,
           align);
}

static void verify(struct worker *w, const struct blk *b, const char *when)
{
    size_t bad = pattern_check(b->p, b->size, b->tag);
    TCHECK(w, bad == (size_t)-1, "%s: block %p (%zu bytes, from thread %d) differs at %zu", when,
           b->p, b->size, b->owner, bad);
}

static void alloc_block(struct worker *w, struct blk *b)
{
    int ti = (int)rng_below(&w->r, NTYPES), zero;
    struct kmem_type *t = types[ti];
    int flags = rand_flags(&w->r, &zero);
    void *p = NULL;
    size_t size;
    if (rng_below(&w->r, 8) == 0) {
        /* The 1988 macros, with constant sizes so the bucket folds. */
        w->macro++;
        switch (rng_below(&w->r, 4)) {
        case 0:
            size = 24;
            KMEM_MALLOC(p, void *, 24, t, flags);
            break;
        case 1:
            size = 200;
            KMEM_MALLOC(p, void *, 200, t, flags);
            break;
        case 2:
            size = 1024;
            KMEM_MALLOC(p, void *, 1024, t, flags);
            break;
        default:
            size = 8192;
            KMEM_MALLOC(p, void *, 8192, t, flags);
            break;
        }
    } else {
        size = rand_size(&w->r);
        if (rng_below(&w->r, 16) == 0)
            p = kmem_realloc(NULL, size, t, flags);
        else
            p = kmem_malloc(size, t, flags);
    }
    TCHECK(w, p != NULL, "allocation of %zu bytes (flags %#x) returned NULL", size, flags);
    b->p = p;
    if (p == NULL)
        return;
    w->n.calls[ti]++;
    w->large += size > KMEM_MAXALLOCSAVE;
    check_block(w, p, size);
    if (zero) {
        size_t nz = nonzero_at(p, 0, size);
        TCHECK(w, nz == (size_t)-1, "KM_ZERO block %p of %zu bytes has byte %zu set", p, size,
               nz);
        w->zeroed++;
    }
    b->size = size;
    b->ti = ti;
    b->owner = w->id;
    b->tag = ((uint64_t)w->id << 48) | w->next_tag++;
    pattern_fill(p, size, b->tag);
}

static void free_block(struct worker *w, struct blk *b)
{
    verify(w, b, "free");
    if (rng_below(&w->r, 4) == 0)
        KMEM_FREE(b->p, types[b->ti]);
    else
        kmem_free(b->p, types[b->ti]);
    w->n.frees[b->ti]++;
    if (b->owner != w->id)
        w->foreign_frees++;
    b->p = NULL;
}

static void realloc_block(struct worker *w, struct blk *b)
{
    verify(w, b, "realloc");
    int zero;
    int flags = rand_flags(&w->r, &zero);
    size_t size = rand_size(&w->r);
    size_t old_usable = kmem_usable_size(b->p);
    void *q = kmem_realloc(b->p, size, types[b->ti], flags);
    TCHECK(w, q != NULL, "kmem_realloc(%p, %zu, flags %#x) returned NULL", b->p, size, flags);
    if (q == NULL)
        return; /* the old block is intact */
    /* A moved block is a new allocation and a free of the old one. */
    if (q != b->p) {
        w->n.calls[b->ti]++;
        w->n.frees[b->ti]++;
    }
    w->reallocs++;
    if (b->owner != w->id)
        w->foreign_reallocs++;
    size_t keep = size < b->size ? size : b->size;
    size_t bad = pattern_check_prefix(q, keep, b->size, b->tag);
    TCHECK(w, bad == (size_t)-1,
           "realloc %p (%zu bytes, from thread %d) -> %p (%zu): contents differ at %zu", b->p,
           b->size, b->owner, q, size, bad);
    check_block(w, q, size);
    if (zero && size > old_usable) {
        size_t nz = nonzero_at(q, old_usable, size);
        TCHECK(w, nz == (size_t)-1,
               "KM_ZERO realloc %zu -> %zu bytes: byte %zu beyond the old usable size %zu is set",
               b->size, size, nz, old_usable);
    }
    b->p = q;
    b->size = size;
    b->tag = ((uint64_t)w->id << 48) | w->next_tag++;
    b->owner = w->id;
    pattern_fill(q, size, b->tag);
}

/* ---- part 1: workers ------------------------------------------------------ */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct blk win[WINDOW];
    memset(win, 0, sizeof win);
    for (long op = 0; op < w->ops; op++) {
        struct blk *b = &win[rng_below(&w->r, WINDOW)];
        uint64_t x = rng_below(&w->r, 16);
        if (x < 2) {
            /* A block from another thread's window (or our own). */
            struct blk got;
            if (!q_pop(&got))
                continue;
            verify(w, &got, "received");
            if (rng_below(&w->r, 2) == 0) {
                free_block(w, &got);
            } else {
                realloc_block(w, &got);
                if (b->p == NULL)
                    *b = got;
                else
                    free_block(w, &got);
            }
        } else if (b->p == NULL) {
            alloc_block(w, b);
        } else if (x < 10) {
            free_block(w, b);
        } else if (x < 14) {
            verify(w, b, "hand-off");
            if (q_push(b)) {
                w->handed++;
                b->p = NULL;
            } else {
                free_block(w, b);
            }
        } else {
            realloc_block(w, b);
        }
    }
    for (int i = 0; i < WINDOW; i++)
        if (win[i].p != NULL)
            free_block(w, &win[i]);
    return NULL;
}

static void type_snapshot(struct kmem_type_stats s[NTYPES])
{
    for (int i = 0; i < NTYPES; i++)
        REQUIRE(kmem_type_stats(types[i], &s[i]) == KMEM_OK, "kmem_type_stats");
}

/* Every type empty, and its calls and frees since `before` equal `n`. */
static void check_types(const char *part, const struct kmem_type_stats before[NTYPES],
                        const struct counts *n)
{
    struct kmem_type_stats s[NTYPES];
    type_snapshot(s);
    for (int i = 0; i < NTYPES; i++) {
        CHECK(s[i].inuse == 0 && s[i].memuse == 0,
              "%s: type %d holds %" PRIu64 " blocks, %" PRIu64 " bytes", part, i, s[i].inuse,
              s[i].memuse);
        CHECK(s[i].calls - before[i].calls == n->calls[i],
              "%s: type %d: %" PRIu64 " calls counted by kmem, %" PRIu64 " by the threads", part,
              i, s[i].calls - before[i].calls, n->calls[i]);
        CHECK(s[i].frees - before[i].frees == n->frees[i],
              "%s: type %d: %" PRIu64 " frees counted by kmem, %" PRIu64 " by the threads", part,
              i, s[i].frees - before[i].frees, n->frees[i]);
    }
}

static void check_buckets(const char *part, int check_cached)
{
    unsigned nb = kmem_nbuckets();
    for (unsigned b = 1; b <= nb; b++) {
        struct kmem_bucket_stats bs;
        REQUIRE(kmem_bucket_stats(b, &bs) == KMEM_OK, "kmem_bucket_stats(%u)", b);
        CHECK(bs.inuse == 0, "%s: bucket %u (%" PRIu64 " bytes) has %" PRIu64 " pieces in use",
              part, b, bs.size, bs.inuse);
        CHECK(bs.free == bs.slabs * (bs.slab_pages * KMEM_PAGE_SIZE / bs.size),
              "%s: bucket %u: %" PRIu64 " free of %" PRIu64 " slabs", part, b, bs.free,
              bs.slabs);
        if (check_cached)
            CHECK(bs.cached <= bs.highwat,
                  "%s: bucket %u (%" PRIu64 " bytes): thread caches hold %" PRIu64
                  " pieces, more than one cache keeps (%" PRIu64 ")",
                  part, b, bs.size, bs.cached, bs.highwat);
    }
}

static void part_workers(uint64_t seed)
{
    long ops = test_env_long("KMEM_TEST_OPS", DEFAULT_OPS);
    struct kmem_type_stats before[NTYPES];
    type_snapshot(before);
    static struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i + 1;
        w[i].r = rng_make(seed + 17 * (uint64_t)i);
        w[i].ops = ops;
        thread_start(&w[i].thread, worker_main, &w[i]);
    }
    struct counts total;
    memset(&total, 0, sizeof total);
    uint64_t handed = 0, ffrees = 0, freallocs = 0, reallocs = 0, zeroed = 0, large = 0,
             macro = 0;
    for (int i = 0; i < NTHREADS; i++) {
        thread_join(w[i].thread);
        test_failures += w[i].failures;
        for (int t = 0; t < NTYPES; t++) {
            total.calls[t] += w[i].n.calls[t];
            total.frees[t] += w[i].n.frees[t];
        }
        handed += w[i].handed;
        ffrees += w[i].foreign_frees;
        freallocs += w[i].foreign_reallocs;
        reallocs += w[i].reallocs;
        zeroed += w[i].zeroed;
        large += w[i].large;
        macro += w[i].macro;
    }
    /* Blocks still in the queue: main frees them (checked first). */
    struct worker mainw;
    memset(&mainw, 0, sizeof mainw);
    mainw.id = 0;
    mainw.r = rng_make(seed ^ 0x5555);
    struct blk b;
    uint64_t leftover = 0;
    while (q_pop(&b)) {
        free_block(&mainw, &b);
        leftover++;
    }
    test_failures += mainw.failures;
    for (int t = 0; t < NTYPES; t++)
        total.frees[t] += mainw.n.frees[t];
    printf("workers: %d threads x %ld ops; %" PRIu64 " handed over (%" PRIu64
           " freed and %" PRIu64 " resized by another thread, %" PRIu64
           " left to main), %" PRIu64 " reallocs, %" PRIu64 " KM_ZERO, %" PRIu64
           " large, %" PRIu64 " by macro\n",
           NTHREADS, ops, handed, ffrees, freallocs, leftover, reallocs, zeroed, large, macro);
    CHECK(ffrees > 0 && freallocs > 0, "no block changed threads");
    check_types("workers", before, &total);
    CHECK_EQ(kmem_check(), 0);
    check_buckets("workers", 0);
}

/* ---- part 2: thread churn ---------------------------------------------------- */

struct churn {
    struct worker w;
    int nkept;
    struct blk kept[CHURN_BLOCKS];
};

static void *churn_main(void *arg)
{
    struct churn *c = arg;
    struct worker *w = &c->w;
    struct blk b[CHURN_BLOCKS];
    for (int i = 0; i < CHURN_BLOCKS; i++) {
        alloc_block(w, &b[i]);
        if (b[i].p == NULL)
            continue;
        if (rng_below(&w->r, 2) == 0) {
            free_block(w, &b[i]);
        } else {
            c->kept[c->nkept++] = b[i];
        }
    }
    return NULL;
}

static void part_churn(uint64_t seed)
{
    long n = test_env_long("KMEM_TEST_CHURN", DEFAULT_CHURN);
    struct kmem_type_stats before[NTYPES];
    type_snapshot(before);
    struct churn *c = calloc((size_t)n, sizeof *c);
    REQUIRE(c != NULL, "calloc");
    pthread_t th[CHURN_AT_ONCE];
    for (long i = 0; i < n; i += CHURN_AT_ONCE) {
        int k = 0;
        for (; k < CHURN_AT_ONCE && i + k < n; k++) {
            struct churn *ck = &c[i + k];
            ck->w.id = (int)(i + k) + 100;
            ck->w.r = rng_make(seed * 31 + (uint64_t)(i + k));
            thread_start(&th[k], churn_main, ck);
        }
        for (int j = 0; j < k; j++)
            thread_join(th[j]);
    }
    /* Every thread has exited. Main frees what they left. */
    struct worker mainw;
    memset(&mainw, 0, sizeof mainw);
    mainw.r = rng_make(seed ^ 0xaaaa);
    struct counts total;
    memset(&total, 0, sizeof total);
    uint64_t kept = 0;
    for (long i = 0; i < n; i++) {
        test_failures += c[i].w.failures;
        for (int t = 0; t < NTYPES; t++) {
            total.calls[t] += c[i].w.n.calls[t];
            total.frees[t] += c[i].w.n.frees[t];
        }
        for (int j = 0; j < c[i].nkept; j++) {
            free_block(&mainw, &c[i].kept[j]);
            kept++;
        }
    }
    test_failures += mainw.failures;
    for (int t = 0; t < NTYPES; t++)
        total.frees[t] += mainw.n.frees[t];
    printf("churn: %ld threads, %d at a time; %" PRIu64 " blocks left to main\n", n,
           CHURN_AT_ONCE, kept);
    free(c);
    check_types("churn", before, &total);
    CHECK_EQ(kmem_check(), 0);
    check_buckets("churn", 1);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* the log in order with stderr */
    uint64_t seed = test_seed(0x7ead5eed);
    part_workers(seed);
    part_churn(seed);
    return test_finish("threads");
}
