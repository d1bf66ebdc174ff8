/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prodcons.c — workload: producer/consumer; every block is allocated on
 * one thread and freed on another.
 *
 * -t T threads (T even, default 2) form T/2 pairs, each a producer and a
 * consumer joined by a bounded queue (QUEUE_BATCHES batches, a mutex and
 * two condition variables). A producer allocates blocks of random sizes
 * (16–512 bytes, log-uniform), fills them, and passes them on BATCH at a
 * time in a batch record that it also allocates; its consumer checks every
 * block, frees it, and frees the batch record. N blocks (-n) in all,
 * shared evenly between the pairs.
 *
 * Verified: each block word by word (workload.h), and for each pair the
 * sum of what its consumer read back must equal the sum of what its
 * producer wrote. The checksum is the total, the same under any
 * allocator.
 *
 * --latency: every malloc of the producers (blocks and batch records) and
 * every free of the consumers is timed (workload.h); the same work, the
 * same checksum.
 */
#define WL_LATENCY /* --latency: the producers' mallocs, the consumers' frees */
#include "workload.h"

#include <pthread.h>

#define FULL_BLOCKS   6000000ull
#define QUICK_BLOCKS  600000ull
#define BATCH         64u
#define QUEUE_BATCHES 128u
#define MIN_SIZE      16u
#define MAX_SIZE      512u

struct batch {
    unsigned count;
    void *p[BATCH];
    uint32_t n[BATCH];
    uint64_t key[BATCH];
};

struct pair {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    struct batch *q[QUEUE_BATCHES];
    unsigned head, tail; /* head - tail batches queued */
    uint64_t blocks;     /* to produce */
    unsigned index;
    uint64_t produced_sum, consumed_sum;
};

static void put(struct pair *pr, struct batch *b)
{
    pthread_mutex_lock(&pr->lock);
    while (pr->head - pr->tail == QUEUE_BATCHES)
        pthread_cond_wait(&pr->not_full, &pr->lock);
    pr->q[pr->head++ % QUEUE_BATCHES] = b;
    pthread_cond_signal(&pr->not_empty);
    pthread_mutex_unlock(&pr->lock);
}

static struct batch *get(struct pair *pr)
{
    pthread_mutex_lock(&pr->lock);
    while (pr->head == pr->tail)
        pthread_cond_wait(&pr->not_empty, &pr->lock);
    struct batch *b = pr->q[pr->tail++ % QUEUE_BATCHES];
    pthread_cond_signal(&pr->not_full);
    pthread_mutex_unlock(&pr->lock);
    return b;
}

/* timed (a constant): time the mallocs (--latency). */
static inline __attribute__((always_inline)) void *producer_(void *arg, const int timed)
{
    struct pair *pr = arg;
    wl_rng rng = wl_rng_seed(100 + pr->index);
    uint64_t sum = 0, made = 0;
    while (made < pr->blocks) {
        struct batch *b = wl_malloc_lat(sizeof *b, timed);
        b->count = 0;
        while (b->count < BATCH && made < pr->blocks) {
            uint32_t n = (uint32_t)wl_logsize(&rng, MIN_SIZE, MAX_SIZE);
            uint64_t key = ((uint64_t)pr->index << 48) + made++;
            void *p = wl_malloc_lat(n, timed);
            sum += wl_fill(p, n, key);
            b->p[b->count] = p;
            b->n[b->count] = n;
            b->key[b->count] = key;
            b->count++;
        }
        put(pr, b);
    }
    put(pr, NULL); /* the end */
    pr->produced_sum = sum;
    wl_track_flush();
    return NULL;
}

static void *producer(void *arg)
{
    return producer_(arg, 0);
}

static void *producer_timed(void *arg)
{
    return producer_(arg, 1);
}

/* timed (a constant): time the frees (--latency). */
static inline __attribute__((always_inline)) void *consumer_(void *arg, const int timed)
{
    struct pair *pr = arg;
    uint64_t sum = 0;
    struct batch *b;
    while ((b = get(pr)) != NULL) {
        for (unsigned i = 0; i < b->count; i++) {
            sum += wl_check(b->p[i], b->n[i], b->key[i]);
            wl_free_lat(b->p[i], b->n[i], timed);
        }
        wl_free_lat(b, sizeof *b, timed);
    }
    pr->consumed_sum = sum;
    wl_track_flush();
    return NULL;
}

static void *consumer(void *arg)
{
    return consumer_(arg, 0);
}

static void *consumer_timed(void *arg)
{
    return consumer_(arg, 1);
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "prodcons", FULL_BLOCKS, QUICK_BLOCKS, 2);
    if (a.threads < 2 || a.threads % 2 != 0)
        wl_usage("-t must be even: a producer and a consumer per pair");
    unsigned npairs = a.threads / 2;
    struct pair *pairs = calloc(npairs, sizeof *pairs); /* not counted: bookkeeping */
    pthread_t *tid = calloc(a.threads, sizeof *tid);
    if (pairs == NULL || tid == NULL)
        wl_fail("out of memory for the thread table");

    wl_threads_begin();
    for (unsigned i = 0; i < npairs; i++) {
        struct pair *pr = &pairs[i];
        pthread_mutex_init(&pr->lock, NULL);
        pthread_cond_init(&pr->not_full, NULL);
        pthread_cond_init(&pr->not_empty, NULL);
        pr->index = i;
        pr->blocks = a.n / npairs + (i < a.n % npairs);
        if (pthread_create(&tid[2 * i], NULL, wl_lat_on ? consumer_timed : consumer, pr) != 0 ||
            pthread_create(&tid[2 * i + 1], NULL, wl_lat_on ? producer_timed : producer, pr) != 0)
            wl_fail("pthread_create failed");
    }
    for (unsigned t = 0; t < a.threads; t++)
        pthread_join(tid[t], NULL);
    wl_threads_end();

    uint64_t sum = 0;
    for (unsigned i = 0; i < npairs; i++) {
        if (pairs[i].consumed_sum != pairs[i].produced_sum)
            wl_fail("pair %u: the consumer read back %016" PRIx64 ", the producer wrote %016" PRIx64,
                    i, pairs[i].consumed_sum, pairs[i].produced_sum);
        sum += pairs[i].produced_sum;
    }
    free(pairs);
    free(tid);
    wl_report(sum);
    return 0;
}
