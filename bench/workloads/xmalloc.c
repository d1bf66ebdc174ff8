/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xmalloc.c — workload: one thread allocates, several free; the pattern
 * of the xmalloc-test benchmark.
 *
 * -t T threads (at least 2, default 4): one producer and T - 1 consumers,
 * sharing one bounded queue (QUEUE_BATCHES batches, a mutex and two
 * condition variables). The producer allocates blocks of random sizes
 * (16–256 bytes, uniform), fills them, and publishes them BATCH at a time
 * in a batch record that it also allocates; whichever consumer comes next
 * takes the batch, checks every block, frees it, and frees the batch
 * record. So every block is freed on another thread than the one that
 * allocated it, and by any of several. N blocks (-n) in all. At the end
 * the producer queues one empty record (NULL) per consumer.
 *
 * Verified: each block word by word (workload.h), and the sum of what the
 * consumers read back must equal the sum of what the producer wrote. The
 * checksum is that total, the same under any allocator and any sharing of
 * the batches between the consumers.
 *
 * --latency: every malloc of the producer (blocks and batch records) and
 * every free of the consumers is timed (workload.h); the same work, the
 * same checksum.
 */
#define WL_LATENCY /* --latency: the producer's mallocs, the consumers' frees */
#include "workload.h"

#include <pthread.h>

#define FULL_BLOCKS   5000000ull
#define QUICK_BLOCKS  500000ull
#define BATCH         64u
#define QUEUE_BATCHES 256u /* at most ~2.5 MB requested in the queue */
#define MIN_SIZE      16u
#define MAX_SIZE      256u

struct batch {
    unsigned count;
    void *p[BATCH];
    uint32_t n[BATCH];
    uint64_t key[BATCH];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    struct batch *q[QUEUE_BATCHES];
    unsigned head, tail; /* head - tail batches queued */
} queue = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .not_full = PTHREAD_COND_INITIALIZER,
    .not_empty = PTHREAD_COND_INITIALIZER,
};

struct consumer {
    _Alignas(64) pthread_t tid;
    uint64_t read;
};

static uint64_t produce_blocks;
static uint64_t produced_sum;
static unsigned nconsumers;

static void put(struct batch *b)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.head - queue.tail == QUEUE_BATCHES)
        pthread_cond_wait(&queue.not_full, &queue.lock);
    queue.q[queue.head++ % QUEUE_BATCHES] = b;
    pthread_cond_signal(&queue.not_empty);
    pthread_mutex_unlock(&queue.lock);
}

/* always_inline: inlined, as the compiler did while consumer was its one
 * caller (before the timed copy existed), so that without --latency the
 * consumers run the code they ran before. */
static inline __attribute__((always_inline)) struct batch *get(void)
{
    pthread_mutex_lock(&queue.lock);
    while (queue.head == queue.tail)
        pthread_cond_wait(&queue.not_empty, &queue.lock);
    struct batch *b = queue.q[queue.tail++ % QUEUE_BATCHES];
    pthread_cond_signal(&queue.not_full);
    pthread_mutex_unlock(&queue.lock);
    return b;
}

/* timed (a constant): time the mallocs (--latency). */
static inline __attribute__((always_inline)) void *producer_(void *arg, const int timed)
{
    (void)arg;
    wl_rng rng = wl_rng_seed(400);
    uint64_t sum = 0, made = 0;
    while (made < produce_blocks) {
        struct batch *b = wl_malloc_lat(sizeof *b, timed);
        b->count = 0;
        while (b->count < BATCH && made < produce_blocks) {
            uint32_t n = (uint32_t)wl_uniform(&rng, MIN_SIZE, MAX_SIZE);
            uint64_t key = made++;
            void *p = wl_malloc_lat(n, timed);
            sum += wl_fill(p, n, key);
            b->p[b->count] = p;
            b->n[b->count] = n;
            b->key[b->count] = key;
            b->count++;
        }
        put(b);
    }
    for (unsigned i = 0; i < nconsumers; i++)
        put(NULL); /* the end, one for each consumer */
    produced_sum = sum;
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
    struct consumer *c = arg;
    uint64_t sum = 0;
    struct batch *b;
    while ((b = get()) != NULL) {
        for (unsigned i = 0; i < b->count; i++) {
            sum += wl_check(b->p[i], b->n[i], b->key[i]);
            wl_free_lat(b->p[i], b->n[i], timed);
        }
        wl_free_lat(b, sizeof *b, timed);
    }
    c->read = sum;
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
    struct wl_args a = wl_parse(argc, argv, "xmalloc", FULL_BLOCKS, QUICK_BLOCKS, 4);
    if (a.threads < 2)
        wl_usage("-t must be at least 2: a producer and at least one consumer");
    nconsumers = a.threads - 1;
    produce_blocks = a.n;
    /* not counted: bookkeeping */
    struct consumer *c = aligned_alloc(64, nconsumers * sizeof *c);
    if (c == NULL)
        wl_fail("out of memory for the thread table");
    memset(c, 0, nconsumers * sizeof *c);

    pthread_t prod;
    wl_threads_begin();
    for (unsigned i = 0; i < nconsumers; i++)
        if (pthread_create(&c[i].tid, NULL, wl_lat_on ? consumer_timed : consumer, &c[i]) != 0)
            wl_fail("pthread_create failed");
    if (pthread_create(&prod, NULL, wl_lat_on ? producer_timed : producer, NULL) != 0)
        wl_fail("pthread_create failed");
    pthread_join(prod, NULL);
    uint64_t read = 0;
    for (unsigned i = 0; i < nconsumers; i++) {
        pthread_join(c[i].tid, NULL);
        read += c[i].read;
    }
    wl_threads_end();
    free(c);

    if (read != produced_sum)
        wl_fail("the consumers read back %016" PRIx64 ", the producer wrote %016" PRIx64,
                read, produced_sum);
    wl_report(produced_sum);
    return 0;
}
