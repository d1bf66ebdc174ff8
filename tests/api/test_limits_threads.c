/* SPDX-License-Identifier: BSD-2-Clause */
/* test_limits_threads.c — per-type limits with threads: KM_WAITOK callers
 * asleep at the limit and what wakes them (a free, a raised limit, a
 * removed limit; one waiter per free; a large waiter; a waiting realloc),
 * and four threads contending for one limited type. (The limits from one
 * thread: test_limits.c.)
 *
 * Every wait on another thread is bounded (10 s), so a lost wake-up makes
 * the test fail instead of hang. Nothing here asserts timing: a "has not
 * returned yet" check follows a 200 ms grace period and only ever looks for
 * a thread that returned when it must not have.
 *
 * Environment: KMEM_TEST_SEED (the seed of the contending threads),
 * KMEM_TEST_LIMIT_OPS (operations per contending thread). */
#define _GNU_SOURCE
#include <kmem.h>

#include <errno.h>

#include "threads.h"
#include "test_limits.h"

#define WAIT_LIMIT_S 10

KMEM_TYPE_DEFINE(M_LIMW, "lim_wait", "limits: KM_WAITOK waiters");
KMEM_TYPE_DEFINE(M_LIMC, "lim_contend", "limits: four threads contending");

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- KM_WAITOK: asleep at the limit, and what wakes it -------------------- */

struct waiter {
    struct kmem_type *type;
    size_t size;
    void *resize; /* non-NULL: kmem_realloc this block instead */
    void *result;
    int done;     /* [A] */
    pthread_t thread;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    void *p = w->resize != NULL ? kmem_realloc(w->resize, w->size, w->type, KM_WAITOK)
                                : kmem_malloc(w->size, w->type, KM_WAITOK);
    w->result = p;
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void waiter_start(struct waiter *w, struct kmem_type *t, size_t size, void *resize)
{
    w->type = t;
    w->size = size;
    w->resize = resize;
    w->result = NULL;
    w->done = 0;
    thread_start(&w->thread, waiter_main, w);
}

static int waiter_done(const struct waiter *w)
{
    return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/* Join with a bound; a waiter that never returns fails the test (and is
 * left behind: exit() does not wait for it). */
static void waiter_join(struct waiter *w, const char *what)
{
    int rc = thread_join_within(w->thread, WAIT_LIMIT_S);
    REQUIRE(rc == 0, "%s: the KM_WAITOK caller did not return within %d s (rc %d)", what,
            WAIT_LIMIT_S, rc);
    CHECK(w->result != NULL, "%s: KM_WAITOK returned NULL", what);
}

/* Wait (bounded) until the type's limblocks reaches `target`: the waiters
 * have found the limit and are going to sleep. */
static void await_limblocks(struct kmem_type *t, uint64_t target, const char *what)
{
    double end = now_s() + WAIT_LIMIT_S;
    while (stats_of(t).limblocks < target) {
        REQUIRE(now_s() < end, "%s: limblocks stayed at %" PRIu64 ", expected %" PRIu64, what,
                stats_of(t).limblocks, target);
        sleep_ms(1);
    }
}

static int count_done(struct waiter *w, int n)
{
    int d = 0;
    for (int i = 0; i < n; i++)
        d += waiter_done(&w[i]);
    return d;
}

static void await_done(struct waiter *w, int n, int target, const char *what)
{
    double end = now_s() + WAIT_LIMIT_S;
    while (count_done(w, n) < target) {
        REQUIRE(now_s() < end, "%s: %d of the waiters returned, expected %d", what,
                count_done(w, n), target);
        sleep_ms(1);
    }
}

static void test_waitok(void)
{
    struct kmem_type *t = M_LIMW;
    enum { N = 10 };
    const uint64_t limit = N * SMALL_SIZE;
    void *p[N];
    struct waiter w;
    CHECK_EQ(kmem_type_setlimit(t, limit), KMEM_OK);
    for (int i = 0; i < N; i++) {
        p[i] = kmem_malloc(SMALL_REQ, t, KM_WAITOK);
        REQUIRE(p[i] != NULL, "KM_WAITOK under the limit");
    }

    /* 1. Woken by another thread's free. */
    uint64_t lb = stats_of(t).limblocks;
    waiter_start(&w, t, SMALL_REQ, NULL);
    await_limblocks(t, lb + 1, "free");
    sleep_ms(200);
    CHECK(!waiter_done(&w), "KM_WAITOK at a full limit returned %p", w.result);
    CHECK_EQ(stats_of(t).memuse, limit);
    kmem_free(p[0], t);
    waiter_join(&w, "woken by a free");
    p[0] = w.result;
    struct kmem_type_stats s = stats_of(t);
    CHECK_EQ(s.memuse, limit);
    CHECK_EQ(s.inuse, N);
    CHECK_EQ(s.limblocks, lb + 1);

    /* 2. Woken by a raised limit. */
    lb = s.limblocks;
    waiter_start(&w, t, SMALL_REQ, NULL);
    await_limblocks(t, lb + 1, "raise");
    sleep_ms(200);
    CHECK(!waiter_done(&w), "KM_WAITOK at a full limit returned %p", w.result);
    CHECK_EQ(kmem_type_setlimit(t, limit + SMALL_SIZE), KMEM_OK);
    waiter_join(&w, "woken by a raised limit");
    CHECK_EQ(stats_of(t).memuse, limit + SMALL_SIZE);
    kmem_free(w.result, t);
    CHECK_EQ(kmem_type_setlimit(t, limit), KMEM_OK);

    /* 3. Woken by removing the limit. */
    lb = stats_of(t).limblocks;
    waiter_start(&w, t, SMALL_REQ, NULL);
    await_limblocks(t, lb + 1, "remove");
    sleep_ms(200);
    CHECK(!waiter_done(&w), "KM_WAITOK at a full limit returned %p", w.result);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
    waiter_join(&w, "woken by removing the limit");
    CHECK_EQ(stats_of(t).memuse, limit + SMALL_SIZE);
    kmem_free(w.result, t);
    CHECK_EQ(kmem_type_setlimit(t, limit), KMEM_OK);

    /* 4. Three waiters; each free admits exactly one of them. */
    struct waiter ws[3];
    lb = stats_of(t).limblocks;
    for (int i = 0; i < 3; i++)
        waiter_start(&ws[i], t, SMALL_REQ, NULL);
    await_limblocks(t, lb + 3, "three waiters");
    sleep_ms(200);
    CHECK_EQ(count_done(ws, 3), 0);
    for (int k = 1; k <= 3; k++) {
        kmem_free(p[k], t);
        p[k] = NULL;
        await_done(ws, 3, k, "three waiters");
        sleep_ms(200);
        CHECK_EQ(count_done(ws, 3), k);
        s = stats_of(t);
        CHECK(s.memuse <= limit, "memuse %" PRIu64 " > limit %" PRIu64, s.memuse, limit);
    }
    for (int i = 0; i < 3; i++) {
        waiter_join(&ws[i], "three waiters");
        p[1 + i] = ws[i].result;
    }
    CHECK_EQ(stats_of(t).memuse, limit);

    /* 5. A large waiter: freeing a small piece is not enough room (it must
     * go back to sleep), freeing enough is. */
    CHECK_EQ(kmem_type_setlimit(t, limit + LARGE_SIZE), KMEM_OK); /* 7 pages of room */
    void *big = kmem_malloc(LARGE_REQ, t, KM_NOWAIT);
    REQUIRE(big != NULL, "7 pages with 7 pages of room");
    CHECK_EQ(stats_of(t).memuse, limit + LARGE_SIZE);
    lb = stats_of(t).limblocks;
    waiter_start(&w, t, LARGE_SIZE, NULL);
    await_limblocks(t, lb + 1, "large");
    kmem_free(p[0], t); /* 1024 of room: not enough */
    p[0] = NULL;
    sleep_ms(200);
    CHECK(!waiter_done(&w), "7 pages admitted with 1024 bytes of room: %p", w.result);
    kmem_free(big, t); /* 1024 + 7 pages of room: enough */
    waiter_join(&w, "large waiter");
    CHECK_EQ(kmem_usable_size(w.result), LARGE_SIZE);
    CHECK_EQ(stats_of(t).memuse, limit - SMALL_SIZE + LARGE_SIZE);
    kmem_free(w.result, t);

    /* 6. kmem_realloc with KM_WAITOK waits as kmem_malloc does. Fill to
     * the limit with pieces, then grow one 1024-byte piece to 2048: room
     * for the new piece appears when two others are freed. */
    CHECK_EQ(kmem_type_setlimit(t, limit), KMEM_OK);
    p[0] = kmem_malloc(SMALL_REQ, t, KM_WAITOK);
    REQUIRE(p[0] != NULL, "refill");
    CHECK_EQ(stats_of(t).memuse, limit);
    pattern_fill(p[9], SMALL_REQ, 9);
    lb = stats_of(t).limblocks;
    waiter_start(&w, t, 2000, p[9]);
    await_limblocks(t, lb + 1, "realloc");
    sleep_ms(200);
    CHECK(!waiter_done(&w), "KM_WAITOK realloc at a full limit returned %p", w.result);
    kmem_free(p[7], t);
    kmem_free(p[8], t);
    p[7] = p[8] = NULL;
    waiter_join(&w, "realloc waiter");
    CHECK_EQ(pattern_check(w.result, SMALL_REQ, 9), (size_t)-1);
    CHECK_EQ(kmem_usable_size(w.result), 2048);
    p[9] = w.result;
    s = stats_of(t); /* two 1024-byte pieces freed, one grown to 2048 */
    CHECK_EQ(s.memuse, limit - SMALL_SIZE);
    CHECK_EQ(s.inuse, N - 2);

    for (int i = 0; i < N; i++)
        kmem_free(p[i], t);
    s = stats_of(t);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK(s.maxused <= limit + LARGE_SIZE, "maxused %" PRIu64, s.maxused);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
}

/* ---- four threads contending for one limited type ------------------------- */

#define CT_THREADS 4
#define CT_LIMIT   (96u * 1024u)
#define CT_KEEP    6

struct contender {
    int id;       /* for TCHECK (threads.h) */
    int failures; /* TCHECKs failed in this thread; main adds them up */
    uint64_t seed;
    long ops;
    pthread_t thread;
    uint64_t allocs, frees, refused, waited;
};

static size_t ct_size(struct rng *r)
{
    switch (rng_below(r, 8)) {
    case 0: return LARGE_REQ;                    /* 7 pages */
    case 1: return 8193 + rng_below(r, 8192);    /* 3..4 pages, or the top buckets */
    case 2: return 4097 + rng_below(r, 4096);    /* 4 to 8 KiB: buckets 4608 to 8192 */
    case 3: return SMALL_REQ;
    default: return 1 + rng_below(r, 2048);      /* 16..2048 */
    }
}

static void *contender_main(void *arg)
{
    struct contender *c = arg;
    struct kmem_type *t = M_LIMC;
    struct rng r = rng_make(c->seed);
    void *live[CT_KEEP] = { 0 };
    size_t size[CT_KEEP] = { 0 };
    uint64_t tag[CT_KEEP] = { 0 };
    size_t held = 0; /* rounded bytes this thread holds */
    for (long op = 0; op < c->ops; op++) {
        int slot = (int)rng_below(&r, CT_KEEP);
        if (live[slot] != NULL && rng_below(&r, 3) != 0) {
            TCHECK(c, pattern_check(live[slot], size[slot], tag[slot]) == (size_t)-1, "block %p changed", live[slot]);
            held -= test_request_size(size[slot]);
            if (rng_below(&r, 2))
                kmem_free(live[slot], t);
            else
                KMEM_FREE(live[slot], t);
            live[slot] = NULL;
            c->frees++;
            continue;
        }
        if (live[slot] != NULL)
            continue;
        size_t sz = ct_size(&r);
        size_t rs = test_request_size(sz);
        int wait = rng_below(&r, 4) == 0;
        if (wait) {
            /* Sleep only while holding at most a quarter of the limit
             * together with the request: then the threads can never all be
             * asleep with no room (no deadlock by construction). */
            for (int i = 0; i < CT_KEEP && held + rs > CT_LIMIT / CT_THREADS; i++) {
                if (live[i] == NULL)
                    continue;
                TCHECK(c, pattern_check(live[i], size[i], tag[i]) == (size_t)-1, "block %p changed", live[i]);
                held -= test_request_size(size[i]);
                kmem_free(live[i], t);
                live[i] = NULL;
                c->frees++;
            }
        }
        int flags = (wait ? KM_WAITOK : KM_NOWAIT) | (rng_below(&r, 4) == 0 ? KM_ZERO : 0);
        void *p = kmem_malloc(sz, t, flags);
        if (p == NULL) {
            TCHECK(c, !wait, "KM_WAITOK returned NULL");
            c->refused++;
            continue;
        }
        c->allocs++;
        c->waited += wait;
        struct kmem_type_stats s;
        kmem_type_stats(t, &s);
        TCHECK(c, s.memuse <= CT_LIMIT,
               "memuse %" PRIu64 " > limit %u (%" PRIu64 " calls, %" PRIu64 " frees, inuse %" PRIu64
               ")", s.memuse, CT_LIMIT, s.calls, s.frees, s.inuse);
        if (flags & KM_ZERO) {
            const unsigned char *b = p;
            for (size_t i = 0; i < sz; i += (sz > 4096 ? 61 : 1))
                if (b[i] != 0) {
                    TCHECK(c, 0, "KM_ZERO block %p byte %zu is %u", p, i, b[i]);
                    break;
                }
        }
        live[slot] = p;
        size[slot] = sz;
        tag[slot] = ((uint64_t)c->id << 40) | (uint64_t)op;
        pattern_fill(p, sz, tag[slot]);
        held += rs;
    }
    for (int i = 0; i < CT_KEEP; i++)
        if (live[i] != NULL) {
            TCHECK(c, pattern_check(live[i], size[i], tag[i]) == (size_t)-1, "block %p changed", live[i]);
            kmem_free(live[i], t);
            c->frees++;
        }
    return NULL;
}

/* Operations per contender (KMEM_TEST_LIMIT_OPS): a quarter as many under
 * a sanitizer. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define CT_OPS (40000L / 4)
#else
#define CT_OPS 40000L
#endif

static void test_contention(uint64_t seed)
{
    struct kmem_type *t = M_LIMC;
    CHECK_EQ(kmem_type_setlimit(t, CT_LIMIT), KMEM_OK);
    struct kmem_type_stats before = stats_of(t);
    long ops = test_env_long("KMEM_TEST_LIMIT_OPS", CT_OPS);
    struct contender c[CT_THREADS];
    for (int i = 0; i < CT_THREADS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].id = i;
        c[i].seed = seed + 1000 + (uint64_t)i;
        c[i].ops = ops;
        thread_start(&c[i].thread, contender_main, &c[i]);
    }
    uint64_t allocs = 0, frees = 0, refused = 0, waited = 0;
    for (int i = 0; i < CT_THREADS; i++) {
        int rc = thread_join_within(c[i].thread, 120);
        REQUIRE(rc == 0, "contender %d did not finish (deadlock at the limit?) rc %d", i, rc);
        allocs += c[i].allocs;
        frees += c[i].frees;
        refused += c[i].refused;
        waited += c[i].waited;
        test_failures += c[i].failures;
    }
    printf("contention: %ld ops x %d threads: %" PRIu64 " allocations (%" PRIu64
           " KM_WAITOK), %" PRIu64 " refused\n", ops, CT_THREADS, allocs, waited, refused);
    struct kmem_type_stats s = stats_of(t);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(s.calls - before.calls, allocs);
    CHECK_EQ(s.frees - before.frees, frees);
    CHECK(s.limblocks - before.limblocks >= refused,
          "limblocks grew by %" PRIu64 ", fewer than the %" PRIu64 " refusals",
          s.limblocks - before.limblocks, refused);
    CHECK(s.maxused <= CT_LIMIT, "maxused %" PRIu64 " > limit %u", s.maxused, CT_LIMIT);
    CHECK(refused > 0, "the limit never refused anything: the test did not contend");
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* the log in order with stderr */
    uint64_t seed = test_seed(20240611);
    test_waitok();
    test_contention(seed);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("limits_threads");
}
