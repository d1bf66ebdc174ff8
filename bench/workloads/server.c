/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.c — workload: the server pattern as the Larson benchmark runs it
 * (Larson and Krishnan, ISMM 1998): the thread that frees an object never
 * reads it. larson.c is the same pattern with every object checked word
 * by word when it is freed, so there the freeing thread has the object's
 * lines in its cache before free; here free meets memory that another
 * thread wrote last, as a server's does.
 *
 * A shared array of SLOTS objects of random sizes (16–1024 bytes,
 * uniform), filled by the main thread; then -t T threads (default 2) each
 * make N/T replacements (-n N in all): allocate an object of a random
 * size, write its tag into its first word, swap it into a random slot (an
 * atomic exchange) and free the object that was there, untouched.
 *
 * Verified at the end, by the main thread: every object left carries a
 * well-formed tag (a sequence number and a check mixed from it; a block
 * handed out twice or overwritten by the allocator breaks it), and the
 * number of objects freed equals the number allocated. The checksum is
 * the sum of the sizes asked for, the same under any allocator and any
 * interleaving.
 */
#include "workload.h"

#include <pthread.h>

#define FULL_OPS   20000000ull
#define QUICK_OPS  2000000ull
#define SLOTS      16384u
#define MIN_SIZE   16u
#define MAX_SIZE   1024u

/* Each slot holds an object and its size, packed into one word so that
 * one exchange moves both: the size (below 2^16) in the top 16 bits, the
 * address (below 2^48 on the machines this runs on) under them. */
static _Atomic uint64_t slots[SLOTS];

static inline uint64_t pack(unsigned char *p, size_t n)
{
    return ((uint64_t)n << 48) | (uint64_t)(uintptr_t)p;
}

static inline unsigned char *address_of(uint64_t v)
{
    return (unsigned char *)(uintptr_t)(v & (((uint64_t)1 << 48) - 1));
}

static inline size_t size_in(uint64_t v)
{
    return (size_t)(v >> 48);
}

/* A tag: the sequence number in the low 40 bits, a check above. */
static inline uint64_t tag_of(uint64_t seq)
{
    return (wl_mix(seq) << 40) | seq;
}

static inline int tag_ok(uint64_t tag)
{
    return tag == tag_of(tag & (((uint64_t)1 << 40) - 1));
}

static unsigned char *make(uint64_t seq, size_t n)
{
    unsigned char *p = wl_malloc(n);
    if ((uintptr_t)p >> 48 != 0)
        wl_fail("address %p does not fit in 48 bits", (void *)p);
    wl_put(p, tag_of(seq));
    return p;
}

struct worker {
    pthread_t tid;
    unsigned index;
    uint64_t ops;
    uint64_t bytes; /* sizes asked for */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    wl_rng rng = wl_rng_seed(300 + w->index);
    uint64_t seq = (uint64_t)(w->index + 1) << 32;
    for (uint64_t i = 0; i < w->ops; i++) {
        uint64_t r = wl_next(&rng);
        size_t n = MIN_SIZE + (size_t)(r % (MAX_SIZE - MIN_SIZE + 1));
        unsigned char *p = make(seq++, n);
        w->bytes += n;
        uint64_t old = atomic_exchange_explicit(&slots[(r >> 32) % SLOTS], pack(p, n),
                                                memory_order_acq_rel);
        wl_free(address_of(old), size_in(old)); /* not read: a server does not look */
    }
    wl_track_flush();
    return NULL;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "server", FULL_OPS, QUICK_OPS, 2);
    uint64_t bytes = 0;
    for (unsigned s = 0; s < SLOTS; s++) {
        size_t n = MIN_SIZE + s % (MAX_SIZE - MIN_SIZE + 1);
        atomic_store_explicit(&slots[s], pack(make(s, n), n), memory_order_relaxed);
        bytes += n;
    }

    struct worker *w = calloc(a.threads, sizeof *w); /* not counted: bookkeeping */
    if (w == NULL)
        wl_fail("out of memory for the thread table");
    wl_threads_begin();
    for (unsigned t = 0; t < a.threads; t++) {
        w[t].index = t;
        w[t].ops = a.n / a.threads + (t < a.n % a.threads);
        if (pthread_create(&w[t].tid, NULL, work, &w[t]) != 0)
            wl_fail("pthread_create failed");
    }
    for (unsigned t = 0; t < a.threads; t++) {
        pthread_join(w[t].tid, NULL);
        bytes += w[t].bytes;
    }
    wl_threads_end();
    free(w);

    for (unsigned s = 0; s < SLOTS; s++) {
        uint64_t v = atomic_load_explicit(&slots[s], memory_order_relaxed);
        unsigned char *p = address_of(v);
        if ((uintptr_t)p != (uintptr_t)p << 16 >> 16 || !tag_ok(wl_get(p)))
            wl_fail("slot %u: object %p carries a broken tag %016" PRIx64, s, (void *)p,
                    wl_get(p));
        wl_free(p, size_in(v));
    }
    wl_report(bytes);
    return 0;
}
