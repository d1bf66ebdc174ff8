/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stress.c — many threads through the C library interface: each allocates
 * blocks of mixed sizes and alignments (malloc, calloc, posix_memalign,
 * aligned_alloc, realloc), fills them with a pattern, and hands them to
 * other threads through shared mailboxes; the receiver checks the pattern,
 * sometimes reallocs (checking the kept bytes), and frees. At the end
 * every block has been checked and freed.
 *
 *   stress [THREADS [OPS_PER_THREAD]]   (default 8 threads, 1.25 M ops each)
 *   KMEM_TEST_SEED picks the sequence.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>

#include "harness.h"

struct block {
    unsigned char *p;
    size_t size;
    size_t align;
    uint64_t tag;
};

/* A mailbox per thread: others post blocks in, the owner takes them out. */
enum { BOX = 256 };
struct mailbox {
    pthread_mutex_t lock;
    struct block slot[BOX];
    int count;
} __attribute__((aligned(64)));

static struct mailbox *boxes;
static int nthreads;
static long ops_per_thread;
static uint64_t seed;
static uint64_t total_checked[64];

static size_t random_size(struct rng *r)
{
    uint64_t k = rng_below(r, 100);
    if (k < 70)
        return rng_below(r, 512);
    if (k < 95)
        return 512 + rng_below(r, 16 << 10);
    return (16 << 10) + rng_below(r, 600 << 10);
}

static struct block make_block(struct rng *r)
{
    struct block b = { NULL, random_size(r), 0, rng_next(r) };
    switch (rng_below(r, 8)) {
    case 0:
        b.p = calloc(1, b.size);
        REQUIRE(b.p != NULL, "calloc %zu", b.size);
        for (size_t i = 0; i < b.size; i += 97)
            REQUIRE(b.p[i] == 0, "calloc block not zero");
        break;
    case 1: {
        b.align = (size_t)16 << rng_below(r, 13); /* 16 B .. 64 KiB */
        void *p = NULL;
        REQUIRE(posix_memalign(&p, b.align, b.size) == 0, "posix_memalign %zu %zu", b.align,
                b.size);
        b.p = p;
        break;
    }
    case 2:
        b.align = (size_t)32 << rng_below(r, 8);
        b.p = aligned_alloc(b.align, b.size);
        REQUIRE(b.p != NULL, "aligned_alloc");
        break;
    default:
        b.p = malloc(b.size);
        REQUIRE(b.p != NULL, "malloc %zu", b.size);
    }
    if (b.align)
        REQUIRE((uintptr_t)b.p % b.align == 0, "%p not aligned to %zu", (void *)b.p, b.align);
    REQUIRE(malloc_usable_size(b.p) >= b.size, "usable size below request");
    pattern_fill(b.p, b.size, b.tag);
    return b;
}

static void check_block(const struct block *b)
{
    size_t bad = pattern_check(b->p, b->size, b->tag);
    REQUIRE(bad == (size_t)-1, "block %p (%zu bytes) corrupt at byte %zu", (void *)b->p,
            b->size, bad);
}

/* Check, maybe realloc, then free a block that another thread made. */
static void consume(struct rng *r, struct block b)
{
    check_block(&b);
    if (rng_below(r, 4) == 0) {
        size_t size = random_size(r) + 1; /* realloc(p, 0) would free p */
        unsigned char *q = realloc(b.p, size);
        REQUIRE(q != NULL, "realloc to %zu", size);
        size_t keep = b.size < size ? b.size : size;
        size_t bad = pattern_check_prefix(q, keep, b.size, b.tag);
        REQUIRE(bad == (size_t)-1, "realloc %zu -> %zu lost byte %zu", b.size, size, bad);
        b.p = q;
        b.size = size;
        b.tag = rng_next(r);
        pattern_fill(b.p, b.size, b.tag);
        check_block(&b);
    }
    free(b.p);
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct rng r = rng_make(seed + (uint64_t)id * 7919);
    enum { LOCAL = 64 };
    struct block local[LOCAL];
    memset(local, 0, sizeof local);
    struct block inbox[BOX];
    uint64_t checked = 0;
    for (long op = 0; op < ops_per_thread; op++) {
        struct block *slot = &local[rng_below(&r, LOCAL)];
        if (slot->p == NULL) {
            *slot = make_block(&r);
            continue;
        }
        check_block(slot);
        int to = (int)rng_below(&r, (uint64_t)nthreads);
        struct mailbox *box = &boxes[to];
        pthread_mutex_lock(&box->lock);
        if (to != id && box->count < BOX) {
            box->slot[box->count++] = *slot;
            slot->p = NULL;
        }
        pthread_mutex_unlock(&box->lock);
        if (slot->p != NULL) { /* mailbox full: free it here */
            consume(&r, *slot);
            slot->p = NULL;
        }
        checked++;
        if (op % 64 == 0) {
            struct mailbox *mine = &boxes[id];
            pthread_mutex_lock(&mine->lock);
            int n = mine->count;
            memcpy(inbox, mine->slot, (size_t)n * sizeof inbox[0]);
            mine->count = 0;
            pthread_mutex_unlock(&mine->lock);
            for (int i = 0; i < n; i++)
                consume(&r, inbox[i]);
            checked += (uint64_t)n;
        }
    }
    for (int i = 0; i < LOCAL; i++)
        if (local[i].p != NULL)
            consume(&r, local[i]);
    total_checked[id] = checked;
    return NULL;
}

int main(int argc, char **argv)
{
    seed = test_seed(4242);
    nthreads = argc > 1 ? atoi(argv[1]) : 8;
    long total = argc > 2 ? atol(argv[2]) : 10000000;
    REQUIRE(nthreads >= 2 && nthreads <= 64, "2..64 threads");
    ops_per_thread = total / nthreads;
    boxes = calloc((size_t)nthreads, sizeof *boxes);
    for (int i = 0; i < nthreads; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    struct rng r = rng_make(seed);
    uint64_t checked = 0;
    for (int i = 0; i < nthreads; i++) {
        for (int k = 0; k < boxes[i].count; k++)
            consume(&r, boxes[i].slot[k]);
        checked += total_checked[i] + (uint64_t)boxes[i].count;
    }
    printf("%d threads, %ld operations, %" PRIu64 " blocks checked\n", nthreads,
           ops_per_thread * nthreads, checked);
    free(boxes);
    return test_finish("stress");
}
