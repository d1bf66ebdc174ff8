/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * larson.c — workload: a server simulation in the manner of the Larson
 * benchmark (Larson and Krishnan, "Memory allocation for long-running
 * server applications", ISMM 1998), with a fixed amount of work instead of
 * a fixed time, so that runs compare.
 *
 * A shared array of SLOTS objects of random sizes (16–1024 bytes, uniform
 * as in Larson's), filled by the main thread; then -t T threads (default
 * 2) each make N/T replacements (-n N in all): pick a random slot,
 * allocate and fill a new object, swap it into the slot (an atomic
 * exchange), check the old object and free it. So objects are freed by
 * whichever thread happens to replace them, mostly not the one that
 * allocated them, and every thread's heap both grows and shrinks. At the
 * end the main thread checks and frees what is left.
 *
 * Every object starts with its key, from which its size follows; the rest
 * is filled from the key (workload.h). Verified: each object word by word
 * when it is freed, and the sum of everything read back must equal the sum
 * of everything written (the same under any allocator and any
 * interleaving of the threads: it is the checksum).
 *
 * --latency: the worker threads' mallocs and frees are timed, every one
 * (not the main thread's filling and emptying of the array); the same
 * work, the same checksum (workload.h).
 */
#define WL_LATENCY /* --latency: each worker thread's malloc and free */
#include "workload.h"

#include <pthread.h>

#define FULL_OPS   5000000ull
#define QUICK_OPS  500000ull
#define SLOTS      16384u
#define MIN_SIZE   16u
#define MAX_SIZE   1024u

static _Atomic(unsigned char *) slots[SLOTS];

static inline size_t size_of(uint64_t key)
{
    return MIN_SIZE + wl_mix(key ^ 0x5157) % (MAX_SIZE - MIN_SIZE + 1);
}

/* A new object with this key; *written gets what it holds. timed (a
 * constant): time the malloc (--latency; workload.h). */
static inline __attribute__((always_inline)) unsigned char *
make_(uint64_t key, uint64_t *written, const int timed)
{
    size_t n = size_of(key);
    unsigned char *p = wl_malloc_lat(n, timed);
    wl_put(p, key);
    *written += key + wl_fill(p + 8, n - 8, key);
    return p;
}

/* Checks an object and frees it; returns what it held. timed: time the free. */
static inline __attribute__((always_inline)) uint64_t destroy_(unsigned char *p, const int timed)
{
    uint64_t key = wl_get(p);
    size_t n = size_of(key);
    uint64_t sum = key + wl_check(p + 8, n - 8, key);
    wl_free_lat(p, n, timed);
    return sum;
}

/* noinline: calls, as the compiler made them before the timed copies
 * existed (with two callers each, it would now inline destroy), so that
 * without --latency the workers run the code they ran before. */
static __attribute__((noinline)) unsigned char *make(uint64_t key, uint64_t *written)
{
    return make_(key, written, 0);
}

static __attribute__((noinline)) uint64_t destroy(unsigned char *p)
{
    return destroy_(p, 0);
}

static __attribute__((noinline)) unsigned char *make_timed(uint64_t key, uint64_t *written)
{
    return make_(key, written, 1);
}

static __attribute__((noinline)) uint64_t destroy_timed(unsigned char *p)
{
    return destroy_(p, 1);
}

struct worker {
    pthread_t tid;
    unsigned index;
    uint64_t ops;
    uint64_t written, read;
};

/* A worker thread; timed (a constant): time its mallocs and frees. */
static inline __attribute__((always_inline)) void *work_(void *arg, const int timed)
{
    struct worker *w = arg;
    wl_rng rng = wl_rng_seed(200 + w->index);
    uint64_t key = (uint64_t)(w->index + 1) << 48;
    for (uint64_t i = 0; i < w->ops; i++) {
        unsigned slot = (unsigned)(wl_next(&rng) % SLOTS);
        unsigned char *p = timed ? make_timed(key++, &w->written) : make(key++, &w->written);
        unsigned char *old = atomic_exchange_explicit(&slots[slot], p, memory_order_acq_rel);
        w->read += timed ? destroy_timed(old) : destroy(old);
    }
    wl_track_flush();
    return NULL;
}

static void *work(void *arg)
{
    return work_(arg, 0);
}

static void *work_timed(void *arg)
{
    return work_(arg, 1);
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "larson", FULL_OPS, QUICK_OPS, 2);
    uint64_t written = 0, read = 0;

    for (unsigned s = 0; s < SLOTS; s++)
        atomic_store_explicit(&slots[s], make(s, &written), memory_order_relaxed);

    struct worker *w = calloc(a.threads, sizeof *w); /* not counted: bookkeeping */
    if (w == NULL)
        wl_fail("out of memory for the thread table");
    wl_threads_begin();
    for (unsigned t = 0; t < a.threads; t++) {
        w[t].index = t;
        w[t].ops = a.n / a.threads + (t < a.n % a.threads);
        if (pthread_create(&w[t].tid, NULL, wl_lat_on ? work_timed : work, &w[t]) != 0)
            wl_fail("pthread_create failed");
    }
    for (unsigned t = 0; t < a.threads; t++) {
        pthread_join(w[t].tid, NULL);
        written += w[t].written;
        read += w[t].read;
    }
    wl_threads_end();
    free(w);

    for (unsigned s = 0; s < SLOTS; s++)
        read += destroy(atomic_load_explicit(&slots[s], memory_order_relaxed));
    if (read != written)
        wl_fail("read back %016" PRIx64 ", written %016" PRIx64, read, written);
    wl_report(written);
    return 0;
}
