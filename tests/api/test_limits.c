/* SPDX-License-Identifier: BSD-2-Clause */
/* test_limits.c — per-type limits, from one thread: KM_NOWAIT refusals and
 * limblocks, small and large sizes, growing and shrinking at the limit, a
 * limit set on a type already in use, a limit lowered below use, and
 * requests that can never fit. (Callers asleep at a limit and threads
 * contending for one: test_limits_threads.c.) */
#include <kmem.h>

#include "harness.h"
#include "test_limits.h"

KMEM_TYPE_DEFINE(M_LIMS, "lim_small", "limits: small blocks");
KMEM_TYPE_DEFINE(M_LIML, "lim_large", "limits: large blocks");
KMEM_TYPE_DEFINE(M_LIMU, "lim_used", "limits: limit set on a type in use");
KMEM_TYPE_DEFINE(M_LIMX, "lim_over", "limits: requests above the limit");

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
    q = kmem_malloc(KMEM_MAXALLOCSAVE + 1, t, KM_NOWAIT); /* the least large block */
    CHECK(q == NULL, "smallest large allocation past the limit returned %p", q);
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
    q = kmem_realloc(p[0], 5 * 4096, t, KM_NOWAIT);
    CHECK(q == p[0], "shrinking a large block in place gave %p for %p", q, p[0]);
    CHECK_EQ(pattern_check_prefix(p[0], 5 * 4096, LARGE_REQ, 100), (size_t)-1);
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
    /* Empty type, but 1024 > 1000 and 7 pages > 1000. */
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
    /* The least large block: one page more than the largest bucket. */
    CHECK_EQ(kmem_type_setlimit(t, KMEM_MAXALLOCSAVE + 4096), KMEM_OK);
    q = kmem_malloc(KMEM_MAXALLOCSAVE + 1, t, KM_WAITOK);
    CHECK(q != NULL, "large KM_WAITOK request equal to the limit failed");
    kmem_free(q, t);
    s = stats_of(t);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(kmem_type_setlimit(t, 0), KMEM_OK);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* the log in order with stderr */
    test_nowait_small();
    test_nowait_large();
    test_limit_on_used_type();
    test_over_limit();
    CHECK_EQ(kmem_check(), 0);
    return test_finish("limits");
}
