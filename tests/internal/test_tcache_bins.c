/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_tcache_bins.c — a thread cache's bins (core/tcache, and the pop and
 * push in include/kmem_fastpath.h).
 *
 * The guard: a pop needs no emptiness test because the top of an empty
 * bin is a piece that never carries a free key. Checked: a thread's bins
 * before its cache is set up refuse pops and pushes; an active bin
 * emptied by pops refuses the next one, leaves its stack pointer and the
 * guard untouched, and never hands out the guard's piece; the slow path
 * then refills it; every bin of an active cache has its guard in place.
 *
 * Growth: a bin's first refill asks for kc_fill_first pieces, each one
 * after it for twice as many up to kc_batch, and its room grows to twice
 * the fill (from kc_room_least, never past kc_highwat). A refill gets what
 * it asks for, or less only when the bucket had no more to give without
 * a new slab: it carves at most one, and none once it has a piece (so
 * that a bin's growth never makes the heap grow by more than a slab). A
 * thread that only frees a
 * size (what another thread allocated) never holds more than the least
 * room of it. And threads' caches, closed when they exit, leave the
 * type's accounts exact.
 */
#include <pthread.h>

#include <kmem.h>

#include "core/tcache/tcache.h"

#include "harness.h"

KMEM_TYPE_DEFINE(M_GUARD, "bins", "thread-cache bin test");

#define SIZE 64

static uint64_t allocations; /* made by this test, of M_GUARD */

/* The calling thread's cache. Through a volatile: GCC 12's null-pointer
 * check (-fsanitize=undefined) on the address of a thread-local variable
 * tested flags that no instruction had set, and reported a null cache in
 * fresh_thread. */
static struct kmem_tcache *this_cache(void)
{
    struct kmem_tcache *volatile tc = kmem_tcache_self();
    return tc;
}

/* Every bin of the calling thread's cache (not set up yet) is an empty
 * stack on a guard, with nowhere to push. */
static void *fresh_thread(void *block)
{
    struct kmem_tcache *tc = this_cache();
    CHECK_EQ(tc->tc_state, KMEM_TC_NEW);
    for (unsigned b = 0; b <= KMEM_NBUCKETS; b++) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        CHECK(bin->tb_sp != NULL && bin->tb_sp == bin->tb_low && bin->tb_limit == bin->tb_sp,
              "bin %u before set-up: sp %p low %p limit %p", b, (void *)bin->tb_sp,
              (void *)bin->tb_low, (void *)bin->tb_limit);
        CHECK(kmem_tbin_take(bin) == NULL, "bin %u before set-up: a pop succeeded", b);
        CHECK(((uintptr_t *)bin->tb_low[-1])[1] == 0, "bin %u: the guard's piece changed", b);
    }
    void *p;
    CHECK(!kmem_cache_pop(kmem_bucket_index(SIZE), SIZE, M_GUARD, &p),
          "a pop before set-up succeeded");
    /* A live block of another thread: a push must refuse it here (it would
     * write into a stack that does not exist). */
    CHECK(!kmem_cache_push(block, M_GUARD), "a push before set-up succeeded");
    CHECK_EQ(tc->tc_state, KMEM_TC_NEW);
    return NULL;
}

/* Pop bucket b's bin empty, then once more. */
static void drain_and_pop_once_more(unsigned b)
{
    struct kmem_tbin *bin = &this_cache()->tc_bins[b];
    void *guard_piece = bin->tb_low[-1];
    uint32_t n = kmem_tbin_count(bin), got = 0;
    void **held = malloc((n + 1) * sizeof *held);
    REQUIRE(held != NULL, "out of memory");
    void *p;
    while (kmem_cache_pop(b, SIZE, M_GUARD, &p)) {
        CHECK(p != guard_piece, "bucket %u: the guard's piece was handed out", b);
        REQUIRE(got < n, "bucket %u: more pops succeeded than the bin held (%u)", b, n);
        held[got++] = p;
    }
    allocations += got;
    CHECK_EQ(got, n);
    CHECK(bin->tb_sp == bin->tb_low, "bucket %u: a failed pop moved the stack pointer", b);
    CHECK(bin->tb_low[-1] == guard_piece, "bucket %u: the guard slot changed", b);
    CHECK(((uintptr_t *)guard_piece)[1] == 0, "bucket %u: the guard's piece changed", b);
    /* The slow path refills the empty bin. */
    p = kmem_malloc(SIZE, M_GUARD, KM_NOWAIT);
    CHECK(p != NULL && p != guard_piece, "bucket %u: no block after the bin ran dry", b);
    CHECK(kmem_tbin_count(bin) > 0, "bucket %u: not refilled", b);
    allocations++;
    held[got++] = p;
    for (uint32_t i = 0; i < got; i++)
        kmem_free(held[i], M_GUARD);
    free(held);
}

static void *exiting_thread(void *arg)
{
    (void)arg;
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = kmem_malloc(SIZE, M_GUARD, KM_WAITOK);
    for (int i = 0; i < 100; i++)
        kmem_free(p[i], M_GUARD);
    __atomic_fetch_add(&allocations, 100, __ATOMIC_RELAXED);
    return NULL;
}

/* In a thread of its own (a fresh cache): allocate one size piece by
 * piece and watch each refill. */
static void *growing_thread(void *arg)
{
    (void)arg;
    unsigned b = kmem_bucket_index(SIZE);
    const struct kmem_class *c = &kmem_classes[b];
    void *first = kmem_malloc(SIZE, M_GUARD, KM_WAITOK);
    struct kmem_tcache *tc = this_cache();
    if (tc->tc_state != KMEM_TC_ACTIVE) {
        kmem_free(first, M_GUARD);
        return NULL;
    }
    struct kmem_tbin *bin = &tc->tc_bins[b];
    uint32_t want_fill = c->kc_fill_first, want_room = c->kc_room_least;
    CHECK(want_room <= c->kc_highwat && want_fill <= c->kc_batch && 2 * want_fill <= want_room,
          "bucket %u: first fill %u, least room %u, highwat %u", b, want_fill, want_room,
          c->kc_highwat);
    /* The first refill took the first fill; one of it is `first`. */
    CHECK_EQ(kmem_tbin_count(bin), want_fill - 1);
    enum { MAX = 4096 };
    static void *held[MAX];
    uint32_t n = 0, refills = 0;
    held[n++] = first;
    want_fill = want_fill * 2 < c->kc_batch ? want_fill * 2 : c->kc_batch;
    if (want_room < 2 * want_fill)
        want_room = 2 * want_fill;
    CHECK_EQ(bin->tb_fill, want_fill);
    CHECK_EQ(kmem_tbin_room(bin, b), want_room);
    const struct kmem_bucket *kb = &kmem_buckets[b];
    uint32_t short_refills = 0;
    while (n < MAX && refills < 8) {
        bool empty = kmem_tbin_count(bin) == 0;
        uint64_t slabs = __atomic_load_n(&kb->kb_slabs, __ATOMIC_RELAXED);
        held[n++] = kmem_malloc(SIZE, M_GUARD, KM_WAITOK);
        allocations++;
        if (!empty)
            continue;
        /* That allocation refilled the bin and took one of it: the fill,
         * or less with the bucket left with nothing but the untouched
         * rest of at most one slab carved for it. */
        refills++;
        uint32_t got = kmem_tbin_count(bin) + 1;
        uint64_t carved = __atomic_load_n(&kb->kb_slabs, __ATOMIC_RELAXED) - slabs;
        CHECK(got <= want_fill && carved <= 1, "refill %u: %u pieces, fill %u, %llu slabs carved",
              refills, got, want_fill, (unsigned long long)carved);
        if (got < want_fill) {
            short_refills++;
            kmem_bucket_lock(b);
            CHECK(kb->kb_xfer == 0 && kb->kb_partial == 0,
                  "refill %u: %u pieces of a fill of %u, with %u in the transfer cache and "
                  "slab %u partial",
                  refills, got, want_fill, kb->kb_xfer, kb->kb_partial);
            kmem_bucket_unlock(b);
        }
        want_fill = want_fill * 2 < c->kc_batch ? want_fill * 2 : c->kc_batch;
        if (want_room < 2 * want_fill)
            want_room = 2 * want_fill;
        CHECK_EQ(bin->tb_fill, want_fill);
        CHECK_EQ(kmem_tbin_room(bin, b), want_room);
        CHECK(kmem_tbin_room(bin, b) <= c->kc_highwat, "room %u past highwat %u",
              kmem_tbin_room(bin, b), c->kc_highwat);
    }
    /* 64-byte pieces, 64 to a slab, a fill of up to 128: the last
     * refills were short. */
    CHECK(short_refills > 0 || c->kc_pieces >= c->kc_batch, "no short refill (%u pieces a slab)",
          c->kc_pieces);
    CHECK(bin->tb_fill == c->kc_batch && kmem_tbin_room(bin, b) == 2 * c->kc_batch,
          "after %u refills: fill %u (batch %u), room %u", refills, bin->tb_fill, c->kc_batch,
          kmem_tbin_room(bin, b));
    /* Freeing them all: the bin never holds more than its room. */
    for (uint32_t i = 0; i < n; i++) {
        kmem_free(held[i], M_GUARD);
        CHECK(kmem_tbin_count(bin) <= kmem_tbin_room(bin, b), "free %u: %u pieces, room %u", i,
              kmem_tbin_count(bin), kmem_tbin_room(bin, b));
    }
    allocations++; /* first */
    return NULL;
}

/* Frees what main allocated, and allocates nothing of the size. */
static void *freeing_thread(void *arg)
{
    void **blocks = arg;
    unsigned b = kmem_bucket_index(SIZE);
    void *warm = kmem_malloc(2 * SIZE, M_GUARD, KM_WAITOK); /* sets the cache up */
    allocations++;
    struct kmem_tcache *tc = this_cache();
    uint32_t most = 0;
    for (uint32_t i = 0; blocks[i] != NULL; i++) {
        kmem_free(blocks[i], M_GUARD);
        uint32_t now = kmem_tbin_count(&tc->tc_bins[b]);
        most = now > most ? now : most;
    }
    if (tc->tc_state == KMEM_TC_ACTIVE)
        CHECK(most <= kmem_classes[b].kc_room_least,
              "a thread that only frees held %u pieces, least room %u", most,
              kmem_classes[b].kc_room_least);
    kmem_free(warm, M_GUARD);
    return NULL;
}

static void test_growth(void)
{
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, growing_thread, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    enum { N = 2000 };
    static void *blocks[N + 1];
    for (int i = 0; i < N; i++)
        blocks[i] = kmem_malloc(SIZE, M_GUARD, KM_WAITOK);
    allocations += N;
    blocks[N] = NULL;
    REQUIRE(pthread_create(&t, NULL, freeing_thread, blocks) == 0, "pthread_create");
    pthread_join(t, NULL);
}

int main(void)
{
    void *block = kmem_malloc(SIZE, M_GUARD, KM_WAITOK); /* sets this thread's cache up */
    allocations++;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fresh_thread, block) == 0, "pthread_create");
    pthread_join(t, NULL);

    struct kmem_tcache *tc = this_cache();
    if (tc->tc_state == KMEM_TC_ACTIVE) {
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
            const uintptr_t *guard_piece = tc->tc_bins[b].tb_low[-1];
            CHECK(guard_piece != NULL && guard_piece[1] == 0, "bucket %u: no guard", b);
        }
        drain_and_pop_once_more(kmem_bucket_index(SIZE));
    } else {
        printf("thread caches are off in this build: only the fresh thread's bins checked\n");
    }
    kmem_free(block, M_GUARD);
    test_growth();

    REQUIRE(pthread_create(&t, NULL, exiting_thread, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    struct kmem_type_stats s;
    REQUIRE(kmem_type_stats(M_GUARD, &s) == KMEM_OK, "kmem_type_stats");
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(s.calls, s.frees);
    CHECK_EQ(s.calls, allocations);
    return test_finish("tcache_bins");
}
