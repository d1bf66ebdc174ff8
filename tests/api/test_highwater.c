/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_highwater.c — a type's high-water mark (maxused) never exceeds
 * what the type really held at some moment, even when the statistics are
 * read while other threads allocate and free, and the reading thread is
 * descheduled in the middle of a reading.
 *
 * PAIRS producer/consumer pairs pass blocks of one size through rings; a
 * producer allocates only after raising a count of live blocks below
 * LIVE_MAX and a consumer lowers it only after its free, so at every
 * moment fewer than PAIRS * LIVE_MAX blocks of the type exist: its memuse
 * is at most PAIRS * LIVE_MAX * SIZE bytes. Meanwhile a reader thread
 * reads the type's statistics over and over (there are more threads than
 * CPUs, so it is descheduled, often inside a reading). At the end, with
 * every thread stopped, maxused must be within that bound, and inuse,
 * memuse, calls and frees must add up.
 *
 *   KMEM_TEST_OPS (default 400000 blocks per pair) sets the length.
 */
#include <pthread.h>
#include <sched.h>

#include <kmem.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_HW, "highwater", "high-water mark test");

#define PAIRS    2
#define SIZE     64
#define LIVE_MAX 512u
#define RING     1024u /* > LIVE_MAX: a producer never waits for room */

struct pair {
    void *ring[RING];
    unsigned head, tail; /* [head, tail) filled; atomics */
    unsigned live;       /* blocks allocated and not yet freed (atomic) */
    long blocks;
};

static struct pair pairs[PAIRS];
static int stop_reading;

static void *producer(void *arg)
{
    struct pair *p = arg;
    for (long i = 0; i < p->blocks; i++) {
        while (__atomic_load_n(&p->live, __ATOMIC_ACQUIRE) >= LIVE_MAX)
            sched_yield();
        __atomic_add_fetch(&p->live, 1, __ATOMIC_ACQ_REL); /* before the block exists */
        void *b = kmem_malloc(SIZE, M_HW, KM_WAITOK);
        memset(b, (int)(i & 0xff), SIZE);
        unsigned t = __atomic_load_n(&p->tail, __ATOMIC_RELAXED);
        p->ring[t % RING] = b;
        __atomic_store_n(&p->tail, t + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct pair *p = arg;
    for (long i = 0; i < p->blocks; i++) {
        unsigned h = __atomic_load_n(&p->head, __ATOMIC_RELAXED);
        while (__atomic_load_n(&p->tail, __ATOMIC_ACQUIRE) == h)
            sched_yield();
        unsigned char *b = p->ring[h % RING];
        __atomic_store_n(&p->head, h + 1, __ATOMIC_RELEASE);
        CHECK(b[0] == (unsigned char)(i & 0xff) && b[SIZE - 1] == b[0],
              "block %ld: contents changed", i);
        kmem_free(b, M_HW);
        __atomic_sub_fetch(&p->live, 1, __ATOMIC_ACQ_REL); /* after it is gone */
    }
    return NULL;
}

static void *reader(void *arg)
{
    long *reads = arg;
    struct kmem_type_stats s;
    while (!__atomic_load_n(&stop_reading, __ATOMIC_ACQUIRE)) {
        REQUIRE(kmem_type_stats(M_HW, &s) == KMEM_OK, "kmem_type_stats");
        (*reads)++;
    }
    return NULL;
}

int main(void)
{
    long blocks = test_env_long("KMEM_TEST_OPS", 400000);
    uint64_t bound = (uint64_t)PAIRS * LIVE_MAX * SIZE;
    printf("%d pairs, %ld blocks each, at most %u live per pair: memuse <= %" PRIu64 " bytes\n",
           PAIRS, blocks, LIVE_MAX, bound);
    pthread_t prod[PAIRS], cons[PAIRS], rd;
    long reads = 0;
    REQUIRE(pthread_create(&rd, NULL, reader, &reads) == 0, "pthread_create");
    for (int i = 0; i < PAIRS; i++) {
        pairs[i].blocks = blocks;
        REQUIRE(pthread_create(&prod[i], NULL, producer, &pairs[i]) == 0, "pthread_create");
        REQUIRE(pthread_create(&cons[i], NULL, consumer, &pairs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < PAIRS; i++) {
        pthread_join(prod[i], NULL);
        pthread_join(cons[i], NULL);
    }
    __atomic_store_n(&stop_reading, 1, __ATOMIC_RELEASE);
    pthread_join(rd, NULL);

    struct kmem_type_stats s;
    REQUIRE(kmem_type_stats(M_HW, &s) == KMEM_OK, "kmem_type_stats");
    printf("%ld readings while running; at the end maxused %" PRIu64 ", memuse %" PRIu64
           ", calls %" PRIu64 ", frees %" PRIu64 "\n",
           reads, s.maxused, s.memuse, s.calls, s.frees);
    CHECK(s.maxused <= bound, "maxused %" PRIu64 " above what was ever live (%" PRIu64 ")",
          s.maxused, bound);
    CHECK(s.maxused >= SIZE, "maxused %" PRIu64 ": no block was ever seen", s.maxused);
    CHECK_EQ(s.inuse, 0);
    CHECK_EQ(s.memuse, 0);
    CHECK_EQ(s.calls, (uint64_t)PAIRS * (uint64_t)blocks);
    CHECK_EQ(s.frees, s.calls);
    return test_finish("highwater");
}
