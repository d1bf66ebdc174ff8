/* test_limits.c — per-type limits: KM_NOWAIT refusals and limblocks, small
 * and large sizes, KM_WAITOK callers asleep at the limit and what wakes
 * them (a free, a raised limit, a removed limit), a limit set on a type
 * already in use, a limit lowered below use, and four threads contending
 * for one limited type.
 *
 * Every wait on another thread is bounded (10 s), so a lost wake-up makes
 * the test fail instead of hang. Nothing here asserts timing: a "has not
 * returned yet" check follows a 200 ms grace period and only ever looks for
 * a thread that returned when it must not have. */
#define _GNU_SOURCE
#include <kmem.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "harness.h"

#define SMALL_REQ   1000u  /* -> the 1024-byte bucket */
#define SMALL_SIZE  1024u
#define LARGE_REQ   20000u /* -> 5 pages */
#define LARGE_SIZE  (5u * 4096u)
#define WAIT_LIMIT_S 10

KMEM_TYPE_DEFINE(M_LIMS, "lim_small", "limits: small blocks");
KMEM_TYPE_DEFINE(M_LIML, "lim_large", "limits: large blocks");
KMEM_TYPE_DEFINE(M_LIMW, "lim_wait", "limits: KM_WAITOK waiters");
KMEM_TYPE_DEFINE(M_LIMU, "lim_used", "limits: limit set on a type in use");
KMEM_TYPE_DEFINE(M_LIMC, "lim_contend", "limits: four threads contending");
KMEM_TYPE_DEFINE(M_LIMX, "lim_over", "limits: requests above the limit");

static struct kmem_type_stats stats_of(const struct kmem_type *t)
{
    struct kmem_type_stats s;
    int rc = kmem_type_stats(t, &s);
    REQUIRE(rc == KMEM_OK, "kmem_type_stats returned %d", rc);
    return s;
}

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

/* ---- KM_NOWAIT: refusals, limblocks, room after a free ------------------- */

static void test_nowait_small(void)
{
    struct kmem_type *t = M_LIMS;
    enum { N = 10 };
    void *p[N];
    CHECK_EQ(kmem_type_setlimit(t, N * SMALL_SIZE), KMEM_OK);
    struct kmem_type_stats s = stats_of(t);
    CHECK_EQ(s.limit, N * SMALL_SIZE);
    uint64_t lb = s.limblocks;
    for (int i = 0; i < N; i++) {
        p[i] = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
        REQUIRE(p[i] != NULL, "NOWAIT allocation %d of %d under the limit", i + 1, N);
        pattern_fill(p[i], SMALL_REQ, (uint64_t)i);
        s = stats_of(t);
        CHECK_EQ(s.memuse, (uint64_t)(i + 1) * SMALL_SIZE);
        CHECK(s.memuse <= s.limit, "memuse %" PRIu64 " > limit %" PRIu64, s.memuse, s.limit);
        CHECK_EQ(s.limblocks, lb);
    }
    /* Full: every further request is refused and counted, whatever its
     * size, its flags, or the interface that makes it. */
    for (int k = 0; k < 3; k++) {
        void *q = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
        CHECK(q == NULL, "allocation past the limit returned %p", q);
        CHECK_EQ(stats_of(t).limblocks, lb + (uint64_t)k + 1);
    }
    lb = stats_of(t).limblocks;
    void *q = kmem_malloc(1, t, KM_NOWAIT);
    CHECK(q == NULL, "16-byte allocation past the limit returned %p", q);
    q = kmem_malloc(0, t, KM_NOWAIT | KM_ZERO);
    CHECK(q == NULL, "0-byte KM_ZERO allocation past the limit returned %p", q);
    KMEM_MALLOC(q, void *, 64, t, KM_NOWAIT);
    CHECK(q == NULL, "KMEM_MALLOC past the limit returned %p", q);
    q = kmem_realloc(NULL, SMALL_REQ, t, KM_NOWAIT);
    CHECK(q == NULL, "kmem_realloc(NULL) past the limit returned %p", q);
    /* Growing a piece into a larger bucket needs the larger piece first. */
    q = kmem_realloc(p[0], 2000, t, KM_NOWAIT);
    CHECK(q == NULL, "kmem_realloc growth past the limit returned %p", q);
    CHECK_EQ(pattern_check(p[0], SMALL_REQ, 0), (size_t)-1);
    s = stats_of(t);
    CHECK_EQ(s.limblocks, lb + 5);
    CHECK_EQ(s.memuse, N * SMALL_SIZE);
    CHECK_EQ(s.inuse, N);
    /* Staying within the bucket needs nothing more. */
    q = kmem_realloc(p[0], SMALL_SIZE, t, KM_NOWAIT);
    CHECK(q == p[0], "realloc within the bucket moved or failed: %p, %p", q, p[0]);

    /* A free makes room for one more piece of the size freed. */
    kmem_free(p[3], t);
    CHECK_EQ(stats_of(t).memuse, (N - 1) * SMALL_SIZE);
    void *smallp = kmem_malloc(100, t, KM_NOWAIT); /* 128 bytes fit */
    CHECK(smallp != NULL, "128-byte allocation with 1024 bytes of room failed");
    lb = stats_of(t).limblocks;
    q = kmem_malloc(SMALL_REQ, t, KM_NOWAIT); /* 1024 no longer fits */
    CHECK(q == NULL, "1024 bytes with 896 bytes of room returned %p", q);
    CHECK_EQ(stats_of(t).limblocks, lb + 1);
    kmem_free(smallp, t);
    p[3] = kmem_malloc(SMALL_REQ, t, KM_NOWAIT | KM_ZERO);
    REQUIRE(p[3] != NULL, "NOWAIT allocation after a free failed");
    for (unsigned i = 0; i < SMALL_REQ; i++)
        if (((unsigned char *)p[3])[i] != 0) {
            CHECK(0, "KM_ZERO piece has byte %u = %u", i, ((unsigned char *)p[3])[i]);
            break;
        }
    pattern_fill(p[3], SMALL_REQ, 3);
    s = stats_of(t);
    CHECK_EQ(s.memuse, N * SMALL_SIZE);
    CHECK_EQ(s.limblocks, lb + 1);

    /* Lowering the limit below current use: refused until use falls under
     * the new limit by a whole piece. */
    CHECK_EQ(kmem_type_setlimit(t, 5 * SMALL_SIZE), KMEM_OK);
    q = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
    CHECK(q == NULL, "allocation above a lowered limit returned %p", q);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(pattern_check(p[i], SMALL_REQ, (uint64_t)i), (size_t)-1);
        kmem_free(p[i], t);
        p[i] = NULL;
    }
    q = kmem_malloc(SMALL_REQ, t, KM_NOWAIT); /* 5 used of 5 */
    CHECK(q == NULL, "allocation at a lowered limit returned %p", q);
    kmem_free(p[5], t);
    p[5] = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
    CHECK(p[5] != NULL, "allocation under a lowered limit failed");
    pattern_fill(p[5], SMALL_REQ, 5);
    CHECK_EQ(stats_of(t).memuse, 5 * SMALL_SIZE);

    for (int i = 5; i < N; i++) {
        if (p[i] != NULL)
            CHECK_EQ(pattern_check(p[i], SMALL_REQ, (uint64_t)i), (size_t)-1);
        kmem_free(p[i], t);
    }
    s = stats_of(t);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK(s.maxused <= N * SMALL_SIZE, "maxused %" PRIu64 " above the limit", s.maxused);
    CHECK_EQ(s.maxused, N * SMALL_SIZE);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
    CHECK_EQ(stats_of(t).limit, 0);
}

static void test_nowait_large(void)
{
    struct kmem_type *t = M_LIML;
    enum { N = 4 };
    const uint64_t limit = N * LARGE_SIZE + SMALL_SIZE;
    void *p[N];
    CHECK_EQ(kmem_type_setlimit(t, limit), KMEM_OK);
    uint64_t lb = stats_of(t).limblocks;
    for (int i = 0; i < N; i++) {
        p[i] = kmem_malloc(LARGE_REQ, t, KM_NOWAIT);
        REQUIRE(p[i] != NULL, "large NOWAIT allocation %d of %d under the limit", i + 1, N);
        CHECK_EQ(kmem_usable_size(p[i]), LARGE_SIZE);
        pattern_fill(p[i], LARGE_REQ, 100 + (uint64_t)i);
        CHECK_EQ(stats_of(t).memuse, (uint64_t)(i + 1) * LARGE_SIZE);
    }
    /* 1024 bytes of room left: a large request is refused, a 1024-byte
     * piece fits exactly, then nothing more. */
    void *q = kmem_malloc(LARGE_REQ, t, KM_NOWAIT);
    CHECK(q == NULL, "large allocation past the limit returned %p", q);
    q = kmem_malloc(8193, t, KM_NOWAIT); /* 3 pages */
    CHECK(q == NULL, "3-page allocation past the limit returned %p", q);
    CHECK_EQ(stats_of(t).limblocks, lb + 2);
    void *exact = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
    CHECK(exact != NULL, "1024 bytes with exactly 1024 bytes of room failed");
    CHECK_EQ(stats_of(t).memuse, limit);
    q = kmem_malloc(1, t, KM_NOWAIT);
    CHECK(q == NULL, "16 bytes at the limit returned %p", q);
    CHECK_EQ(stats_of(t).limblocks, lb + 3);

    /* Growing a large block past the limit fails and leaves it intact;
     * shrinking one always succeeds and gives room back. */
    q = kmem_realloc(p[0], 2 * LARGE_REQ, t, KM_NOWAIT);
    CHECK(q == NULL, "large realloc growth past the limit returned %p", q);
    CHECK_EQ(pattern_check(p[0], LARGE_REQ, 100), (size_t)-1);
    CHECK_EQ(kmem_usable_size(p[0]), LARGE_SIZE);
    CHECK_EQ(stats_of(t).limblocks, lb + 4); /* one refused request */
    lb = stats_of(t).limblocks - 4; /* a miscount above is reported once */
    q = kmem_realloc(p[0], 3 * 4096, t, KM_NOWAIT);
    CHECK(q == p[0], "shrinking a large block in place gave %p for %p", q, p[0]);
    CHECK_EQ(pattern_check_prefix(p[0], 3 * 4096, LARGE_REQ, 100), (size_t)-1);
    CHECK_EQ(stats_of(t).memuse, limit - 2 * 4096);

    /* After a free, a large request succeeds again. */
    kmem_free(p[1], t);
    CHECK_EQ(stats_of(t).memuse, limit - 2 * 4096 - LARGE_SIZE);
    p[1] = kmem_malloc(LARGE_REQ, t, KM_NOWAIT);
    CHECK(p[1] != NULL, "large NOWAIT allocation after a free failed");
    if (p[1] != NULL)
        pattern_fill(p[1], LARGE_REQ, 101);
    q = kmem_malloc(LARGE_REQ, t, KM_NOWAIT);
    CHECK(q == NULL, "large allocation past the limit returned %p", q);
    struct kmem_type_stats s = stats_of(t);
    CHECK(s.memuse <= limit, "memuse %" PRIu64 " > limit %" PRIu64, s.memuse, limit);
    CHECK_EQ(s.limblocks, lb + 5);

    kmem_free(exact, t);
    for (int i = 0; i < N; i++) {
        if (p[i] != NULL && i > 0)
            CHECK_EQ(pattern_check(p[i], LARGE_REQ, 100 + (uint64_t)i), (size_t)-1);
        kmem_free(p[i], t);
    }
    s = stats_of(t);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK(s.maxused <= limit, "maxused %" PRIu64 " above the limit", s.maxused);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
}

/* A limit set on a type that has been counted in thread caches so far:
 * what the caches counted must count against it. */
static void test_limit_on_used_type(void)
{
    struct kmem_type *t = M_LIMU;
    void *p[12];
    for (int i = 0; i < 5; i++) {
        p[i] = kmem_malloc(SMALL_REQ, t, KM_WAITOK);
        REQUIRE(p[i] != NULL, "unlimited allocation");
    }
    CHECK_EQ(stats_of(t).memuse, 5 * SMALL_SIZE);
    CHECK_EQ(kmem_type_setlimit(t, 8 * SMALL_SIZE), KMEM_OK);
    int n = 5;
    for (; n < 12; n++) {
        p[n] = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
        if (p[n] == NULL)
            break;
    }
    CHECK_EQ(n, 8);
    CHECK_EQ(stats_of(t).memuse, 8 * SMALL_SIZE);
    /* Frees of blocks allocated before the limit make room too. */
    kmem_free(p[0], t);
    p[0] = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
    CHECK(p[0] != NULL, "allocation after freeing a block from before the limit");
    for (int i = 0; i < n; i++)
        kmem_free(p[i], t);
    struct kmem_type_stats s = stats_of(t);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
    /* Unlimited again: the fast path may serve it, and counts stay right. */
    for (int i = 0; i < 12; i++) {
        KMEM_MALLOC(p[i], void *, 1000, t, KM_WAITOK);
        REQUIRE(p[i] != NULL, "KMEM_MALLOC after the limit was removed");
    }
    CHECK_EQ(stats_of(t).memuse, 12 * SMALL_SIZE);
    for (int i = 0; i < 12; i++)
        KMEM_FREE(p[i], t);
    CHECK_EQ(stats_of(t).memuse, 0);
    CHECK_EQ(stats_of(t).inuse, 0);
}

/* ---- requests that can never fit ----------------------------------------- */

static void test_over_limit(void)
{
    struct kmem_type *t = M_LIMX;
    CHECK_EQ(kmem_type_setlimit(t, 1000), KMEM_OK);
    uint64_t lb = stats_of(t).limblocks;
    /* Empty type, but 1024 > 1000 and 5 pages > 1000. */
    void *q = kmem_malloc(SMALL_REQ, t, KM_NOWAIT);
    CHECK(q == NULL, "NOWAIT request above the limit returned %p", q);
    q = kmem_malloc(LARGE_REQ, t, KM_NOWAIT | KM_ZERO);
    CHECK(q == NULL, "large NOWAIT request above the limit returned %p", q);
    struct kmem_type_stats s = stats_of(t);
    CHECK_EQ(s.limblocks, lb + 2);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(s.inuse, 0);
    /* A request that fills the limit exactly is allowed, even KM_WAITOK. */
    CHECK_EQ(kmem_type_setlimit(t, SMALL_SIZE), KMEM_OK);
    q = kmem_malloc(SMALL_REQ, t, KM_WAITOK);
    CHECK(q != NULL, "KM_WAITOK request equal to the limit failed");
    void *r = kmem_malloc(1, t, KM_NOWAIT);
    CHECK(r == NULL, "request beyond a full limit returned %p", r);
    kmem_free(q, t);
    CHECK_EQ(kmem_type_setlimit(t, 4 * 4096), KMEM_OK);
    q = kmem_malloc(3 * 4096 + 1, t, KM_WAITOK);
    CHECK(q != NULL, "4-page KM_WAITOK request equal to the limit failed");
    kmem_free(q, t);
    s = stats_of(t);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
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
    int rc = pthread_create(&w->thread, NULL, waiter_main, w);
    REQUIRE(rc == 0, "pthread_create: %d", rc);
}

static int waiter_done(const struct waiter *w)
{
    return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/* Join with a bound; a waiter that never returns fails the test (and is
 * left behind: exit() does not wait for it). */
static void waiter_join(struct waiter *w, const char *what)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_LIMIT_S;
    int rc = pthread_timedjoin_np(w->thread, NULL, &deadline);
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
    CHECK_EQ(kmem_type_setlimit(t, limit + 5 * 4096), KMEM_OK); /* 5 pages of room */
    void *big = kmem_malloc(LARGE_REQ, t, KM_NOWAIT);
    REQUIRE(big != NULL, "5 pages with 5 pages of room");
    CHECK_EQ(stats_of(t).memuse, limit + 5 * 4096);
    lb = stats_of(t).limblocks;
    waiter_start(&w, t, 5 * 4096, NULL);
    await_limblocks(t, lb + 1, "large");
    kmem_free(p[0], t); /* 1024 of room: not enough */
    p[0] = NULL;
    sleep_ms(200);
    CHECK(!waiter_done(&w), "5 pages admitted with 1024 bytes of room: %p", w.result);
    kmem_free(big, t); /* 1024 + 5 pages of room: enough */
    waiter_join(&w, "large waiter");
    CHECK_EQ(kmem_usable_size(w.result), 5 * 4096);
    CHECK_EQ(stats_of(t).memuse, limit - SMALL_SIZE + 5 * 4096);
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
    CHECK(s.maxused <= limit + 5 * 4096, "maxused %" PRIu64, s.maxused);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
}

/* ---- four threads contending for one limited type ------------------------- */

#define CT_THREADS 4
#define CT_LIMIT   (96u * 1024u)
#define CT_KEEP    6

struct contender {
    int id;
    int failures;
    uint64_t seed;
    long ops;
    pthread_t thread;
    uint64_t allocs, frees, refused, waited;
};

/* A check in a contender counts into it (main adds it up after joining),
 * not into the harness's unsynchronized counter. */
#define TCHECK(c, cond, ...)                                                     \
    do {                                                                         \
        if (!(cond)) {                                                           \
            (c)->failures++;                                                     \
            if ((c)->failures <= 5) {                                            \
                char msg_[256];                                                  \
                snprintf(msg_, sizeof msg_, __VA_ARGS__);                        \
                fprintf(stderr, "%s:%d: thread %d: CHECK(%s) failed: %s\n",      \
                        __FILE__, __LINE__, (c)->id, #cond, msg_);               \
            }                                                                    \
        }                                                                        \
    } while (0)

static size_t ct_size(struct rng *r)
{
    switch (rng_below(r, 8)) {
    case 0: return LARGE_REQ;                    /* 5 pages */
    case 1: return 8193 + rng_below(r, 8192);    /* 3..4 pages */
    case 2: return 4097 + rng_below(r, 4096);    /* the 8192 bucket */
    case 3: return SMALL_REQ;
    default: return 1 + rng_below(r, 2048);      /* 16..2048 */
    }
}

static size_t rounded(size_t size)
{
    if (size <= KMEM_MAXALLOCSAVE)
        return kmem_bucket_size(kmem_bucket_index(size));
    return (size + 4095) & ~(size_t)4095;
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
            held -= rounded(size[slot]);
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
        size_t rs = rounded(sz);
        int wait = rng_below(&r, 4) == 0;
        if (wait) {
            /* Sleep only while holding at most a quarter of the limit
             * together with the request: then the threads can never all be
             * asleep with no room (no deadlock by construction). */
            for (int i = 0; i < CT_KEEP && held + rs > CT_LIMIT / CT_THREADS; i++) {
                if (live[i] == NULL)
                    continue;
                TCHECK(c, pattern_check(live[i], size[i], tag[i]) == (size_t)-1, "block %p changed", live[i]);
                held -= rounded(size[i]);
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

static long scaled(const char *env, long dflt)
{
    const char *v = getenv(env);
    if (v != NULL && atol(v) > 0)
        return atol(v);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    return dflt / 4;
#else
    return dflt;
#endif
}

static void test_contention(uint64_t seed)
{
    struct kmem_type *t = M_LIMC;
    CHECK_EQ(kmem_type_setlimit(t, CT_LIMIT), KMEM_OK);
    struct kmem_type_stats before = stats_of(t);
    long ops = scaled("KMEM_TEST_LIMIT_OPS", 40000);
    struct contender c[CT_THREADS];
    for (int i = 0; i < CT_THREADS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].id = i;
        c[i].seed = seed + 1000 + (uint64_t)i;
        c[i].ops = ops;
        int rc = pthread_create(&c[i].thread, NULL, contender_main, &c[i]);
        REQUIRE(rc == 0, "pthread_create: %d", rc);
    }
    uint64_t allocs = 0, frees = 0, refused = 0, waited = 0;
    for (int i = 0; i < CT_THREADS; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 120;
        int rc = pthread_timedjoin_np(c[i].thread, NULL, &deadline);
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
    test_nowait_small();
    test_nowait_large();
    test_limit_on_used_type();
    test_over_limit();
    test_waitok();
    test_contention(seed);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("limits");
}
