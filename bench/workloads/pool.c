/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool.c — workload: a pool of threads that hand blocks over to each other
 * and free what they are handed in bulk; the pattern of the rptest
 * benchmark.
 *
 * -t T threads (default 2) in a ring: thread i hands blocks over to thread
 * (i + 1) % T through that thread's inbox, a list of batch records under a
 * mutex. Each thread keeps a working set of SLOTS slots, and each round it
 *   1. takes everything in its inbox, checks every block of every batch,
 *      frees them all and frees the batch records;
 *   2. allocates ALLOC blocks of random sizes (16 B – 8 KiB, log-uniform:
 *      every doubling equally likely, so mostly small), fills them, and
 *      puts each in a random slot, first checking and freeing the older
 *      block that was there;
 *   3. frees a random portion of its older blocks: 0 to 2 * FREE_AVG
 *      random slots are emptied (each block checked first);
 *   4. hands a batch over: the blocks of HAND random slots go into a batch
 *      record (allocated too) pushed onto the next thread's inbox. If that
 *      inbox already holds MAX_QUEUED batches (the next thread has fallen
 *      behind), it first waits, emptying its own inbox meanwhile, so that
 *      no backlog grows without bound; it prints how often it waited
 *      (inbox_full_waits).
 * So about half of the working set's slots are full, some blocks die on
 * the thread that allocated them and the others on the next one. N blocks
 * (-n) are allocated in all, shared evenly between the threads. When a
 * thread has done its rounds it empties its working set, tells the next
 * thread that nothing more will come, and goes on emptying its own inbox
 * until the thread before it has said the same.
 *
 * Verified: every block word by word (workload.h) when it is freed, and
 * the sum of everything read back must equal the sum of everything written.
 * That sum is the checksum: each thread's sizes, keys and choices come
 * from its own fixed-seed random numbers, so it is the same under any
 * allocator and any interleaving of the threads.
 */
#include "workload.h"

#include <pthread.h>
#include <sched.h>

#define FULL_BLOCKS  2500000ull
#define QUICK_BLOCKS 250000ull
#define SLOTS        8192u /* per thread; about half full: ~6 MB requested */
#define ALLOC        64u   /* blocks allocated per round */
#define FREE_AVG     16u   /* slots emptied per round, on average */
#define HAND         32u   /* slots handed over per round */
#define MAX_QUEUED   32u   /* batches in an inbox before its sender waits */
#define MIN_SIZE     16u
#define MAX_SIZE     8192u

struct blk {
    void *p;
    uint32_t n;
    uint64_t key;
};

struct batch {
    struct batch *next;
    unsigned count;
    struct blk b[HAND];
};

struct inbox {
    pthread_mutex_t lock;
    pthread_cond_t arrived;
    struct batch *head; /* under lock */
    int closed;         /* under lock: the sender has sent its last batch */
    _Atomic unsigned queued; /* batches at head; changed under lock */
};

struct worker {
    _Alignas(64) pthread_t tid;
    unsigned index;
    uint64_t blocks; /* to allocate */
    struct worker *next;
    struct blk *slot; /* SLOTS; not counted: bookkeeping */
    uint64_t written, read;
    uint64_t waits; /* rounds that found the next inbox full */
    _Alignas(64) struct inbox in;
};

static uint64_t destroy(struct blk *b)
{
    uint64_t sum = wl_check(b->p, b->n, b->key);
    wl_free(b->p, b->n);
    b->p = NULL;
    return sum;
}

/* Checks and frees every block of a list of batches, and the batches. */
static uint64_t free_batches(struct batch *list)
{
    uint64_t sum = 0;
    while (list != NULL) {
        struct batch *next = list->next;
        for (unsigned i = 0; i < list->count; i++)
            sum += destroy(&list->b[i]);
        wl_free(list, sizeof *list);
        list = next;
    }
    return sum;
}

static void send(struct inbox *in, struct batch *b)
{
    pthread_mutex_lock(&in->lock);
    b->next = in->head;
    in->head = b;
    atomic_store_explicit(&in->queued,
                          atomic_load_explicit(&in->queued, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    pthread_cond_signal(&in->arrived);
    pthread_mutex_unlock(&in->lock);
}

static void close_inbox(struct inbox *in)
{
    pthread_mutex_lock(&in->lock);
    in->closed = 1;
    pthread_cond_signal(&in->arrived);
    pthread_mutex_unlock(&in->lock);
}

/* Everything in the inbox (NULL if empty); with wait, waits for a batch
 * or for the inbox to be closed; *closed: whether it was. */
static struct batch *take_all(struct inbox *in, int wait, int *closed)
{
    pthread_mutex_lock(&in->lock);
    while (wait && in->head == NULL && !in->closed)
        pthread_cond_wait(&in->arrived, &in->lock);
    struct batch *list = in->head;
    in->head = NULL;
    atomic_store_explicit(&in->queued, 0, memory_order_relaxed);
    *closed = in->closed;
    pthread_mutex_unlock(&in->lock);
    return list;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    wl_rng rng = wl_rng_seed(300 + w->index);
    uint64_t key = (uint64_t)(w->index + 1) << 48;
    uint64_t made = 0;
    int closed;

    while (made < w->blocks) {
        w->read += free_batches(take_all(&w->in, 0, &closed));

        for (unsigned i = 0; i < ALLOC && made < w->blocks; i++, made++) {
            struct blk *s = &w->slot[wl_next(&rng) % SLOTS];
            if (s->p != NULL)
                w->read += destroy(s);
            s->n = (uint32_t)wl_logsize(&rng, MIN_SIZE, MAX_SIZE);
            s->key = key++;
            s->p = wl_malloc(s->n);
            w->written += wl_fill(s->p, s->n, s->key);
        }

        unsigned nfree = (unsigned)wl_uniform(&rng, 0, 2 * FREE_AVG);
        for (unsigned i = 0; i < nfree; i++) {
            struct blk *s = &w->slot[wl_next(&rng) % SLOTS];
            if (s->p != NULL)
                w->read += destroy(s);
        }

        struct batch *b = wl_malloc(sizeof *b);
        b->count = 0;
        for (unsigned i = 0; i < HAND; i++) {
            struct blk *s = &w->slot[wl_next(&rng) % SLOTS];
            if (s->p != NULL) {
                b->b[b->count++] = *s;
                s->p = NULL;
            }
        }
        if (b->count == 0) {
            wl_free(b, sizeof *b);
            continue;
        }
        /* Flow control: a thread that falls behind (descheduled, or slower
         * under some allocator) must not collect an unbounded backlog. The
         * sender empties its own inbox while it waits, so a ring of
         * waiting threads still moves on. */
        if (atomic_load_explicit(&w->next->in.queued, memory_order_relaxed) >= MAX_QUEUED) {
            w->waits++;
            do {
                w->read += free_batches(take_all(&w->in, 0, &closed));
                sched_yield();
            } while (atomic_load_explicit(&w->next->in.queued, memory_order_relaxed) >=
                     MAX_QUEUED);
        }
        send(&w->next->in, b);
    }

    for (unsigned i = 0; i < SLOTS; i++)
        if (w->slot[i].p != NULL)
            w->read += destroy(&w->slot[i]);
    close_inbox(&w->next->in);
    do
        w->read += free_batches(take_all(&w->in, 1, &closed));
    while (!closed);
    wl_track_flush();
    return NULL;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "pool", FULL_BLOCKS, QUICK_BLOCKS, 2);
    struct worker *w = aligned_alloc(64, a.threads * sizeof *w); /* not counted: bookkeeping */
    if (w == NULL)
        wl_fail("out of memory for the thread table");
    memset(w, 0, a.threads * sizeof *w);
    for (unsigned t = 0; t < a.threads; t++) {
        w[t].index = t;
        w[t].blocks = a.n / a.threads + (t < a.n % a.threads);
        w[t].next = &w[(t + 1) % a.threads];
        w[t].slot = calloc(SLOTS, sizeof *w[t].slot);
        if (w[t].slot == NULL)
            wl_fail("out of memory for the working sets");
        pthread_mutex_init(&w[t].in.lock, NULL);
        pthread_cond_init(&w[t].in.arrived, NULL);
    }

    wl_threads_begin();
    for (unsigned t = 0; t < a.threads; t++)
        if (pthread_create(&w[t].tid, NULL, work, &w[t]) != 0)
            wl_fail("pthread_create failed");
    uint64_t written = 0, read = 0, waits = 0;
    for (unsigned t = 0; t < a.threads; t++) {
        pthread_join(w[t].tid, NULL);
        written += w[t].written;
        read += w[t].read;
        waits += w[t].waits;
    }
    wl_threads_end();

    for (unsigned t = 0; t < a.threads; t++) {
        pthread_mutex_destroy(&w[t].in.lock);
        pthread_cond_destroy(&w[t].in.arrived);
        free(w[t].slot);
    }
    free(w);
    if (read != written)
        wl_fail("read back %016" PRIx64 ", written %016" PRIx64, read, written);
    printf("inbox_full_waits %" PRIu64 "\n", waits);
    wl_report(written);
    return 0;
}
