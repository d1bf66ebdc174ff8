/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_prodcons.c — memory freed by a thread other than the one that
 * allocated it is reused without growth. A producer allocates objects
 * (16 B .. 1 KiB) and passes them through a bounded ring to a consumer,
 * which checks and frees them; the consumer's cache hands the pieces back
 * to the buckets, where the producer finds them again.
 *
 * The bound, stated: after warm-up, resident memory may not grow by more
 * than the two threads' caches (2 x 320 KiB) plus the ring's objects
 * (4096 x 1 KiB) plus slack for partly used slabs — 16 MiB, checked with a
 * generous margin from /proc/self/statm (a bound, not a timing). The run:
 * KMEM_TEST_OPS objects (default 20 million).
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <pthread.h>
#include <unistd.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_MSG, "msg", "producer/consumer test");

enum { RING = 4096 };
static void *ring[RING];
static size_t ring_size[RING];
static uint64_t head, tail; /* head: next to write; tail: next to read */
static long total;

static void *producer(void *arg)
{
    struct rng r = rng_make((uint64_t)(uintptr_t)arg);
    for (long i = 0; i < total; i++) {
        size_t size = 16 + rng_below(&r, 1009);
        unsigned char *p = kmem_malloc(size, M_MSG, KM_WAITOK);
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)(i >> 8);
        while (head - __atomic_load_n(&tail, __ATOMIC_ACQUIRE) == RING)
            ;
        ring[head % RING] = p;
        ring_size[head % RING] = size;
        __atomic_store_n(&head, head + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

int main(void)
{
    uint64_t seed = test_seed(5);
    const char *env = getenv("KMEM_TEST_OPS");
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    total = env != NULL ? atol(env) : 2000000; /* sanitizers are slow */
#else
    total = env != NULL ? atol(env) : 20000000;
#endif
    pthread_t t;
    pthread_create(&t, NULL, producer, (void *)(uintptr_t)seed);
    long warm = -1, peak = 0;
    for (long i = 0; i < total; i++) {
        while (__atomic_load_n(&head, __ATOMIC_ACQUIRE) == tail)
            ;
        unsigned char *p = ring[tail % RING];
        size_t size = ring_size[tail % RING];
        CHECK(p[0] == (unsigned char)i && p[size - 1] == (unsigned char)(i >> 8),
              "object %ld corrupt", i);
        kmem_free(p, M_MSG);
        __atomic_store_n(&tail, tail + 1, __ATOMIC_RELEASE);
        if (i == total / 10)
            warm = test_resident_kib();
        if (i > total / 10 && i % 65536 == 0) {
            long now = test_resident_kib();
            if (now > peak)
                peak = now;
        }
    }
    pthread_join(t, NULL);
    long end = test_resident_kib();
    if (end > peak)
        peak = end;
    printf("%ld objects: resident %ld KiB after warm-up, at most %ld KiB after (+%ld KiB)\n",
           total, warm, peak, peak - warm);
    CHECK(peak - warm < 16 * 1024, "resident memory grew by %ld KiB after warm-up", peak - warm);
    struct kmem_type_stats ts;
    kmem_type_stats(M_MSG, &ts);
    CHECK_EQ(ts.inuse, 0);
    CHECK_EQ(ts.calls, total);
    CHECK_EQ(kmem_check(), 0);
    return test_finish("prodcons");
}
