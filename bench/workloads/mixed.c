/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mixed.c — workload: large buffers among small objects, one thread.
 *
 * Two sets of live blocks: SMALL_WINDOW small ones (16–512 bytes) replaced
 * oldest first, and LARGE_SLOTS large buffers (16 KiB–4 MiB) replaced at
 * random slots. Sizes are log-uniform (every doubling equally likely). Of
 * N steps (-n), one in LARGE_EVERY replaces a large buffer, the others a
 * small block. A buffer is written whole (a word per cache line, so every
 * page is touched) and read back before it is freed; so the cost of
 * getting large memory from the system and giving it back (page faults,
 * mmap/munmap, madvise) is part of what is measured, and so is how much
 * of it stays resident.
 *
 * Verified word by word (workload.h); the checksum is the sum of every
 * word read back, the same under any allocator.
 */
#include "workload.h"

#define FULL_STEPS   2000000ull
#define QUICK_STEPS  200000ull
#define SMALL_WINDOW 8192u
#define LARGE_SLOTS  8u
#define LARGE_EVERY  200u
#define SMALL_MIN    16u
#define SMALL_MAX    512u
#define LARGE_MIN    (16u << 10)
#define LARGE_MAX    (4u << 20)

struct blk {
    void *p;
    size_t n;
    uint64_t key;
};

static struct blk small[SMALL_WINDOW];
static struct blk large[LARGE_SLOTS];

static uint64_t replace(struct blk *b, size_t n, uint64_t key)
{
    uint64_t sum = 0;
    if (b->p != NULL) {
        sum = wl_check(b->p, b->n, b->key);
        wl_free(b->p, b->n);
    }
    b->p = wl_malloc(n);
    b->n = n;
    b->key = key;
    wl_fill(b->p, n, key);
    return sum;
}

static uint64_t release(struct blk *b)
{
    uint64_t sum = 0;
    if (b->p != NULL) {
        sum = wl_check(b->p, b->n, b->key);
        wl_free(b->p, b->n);
        b->p = NULL;
    }
    return sum;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "mixed", FULL_STEPS, QUICK_STEPS, 1);
    wl_rng rng = wl_rng_seed(2);
    uint64_t sum = 0, next_small = 0;

    for (uint64_t step = 0; step < a.n; step++) {
        if (wl_next(&rng) % LARGE_EVERY == 0) {
            unsigned slot = (unsigned)(wl_next(&rng) % LARGE_SLOTS);
            sum += replace(&large[slot], wl_logsize(&rng, LARGE_MIN, LARGE_MAX), step);
        } else {
            unsigned slot = (unsigned)(next_small++ % SMALL_WINDOW);
            sum += replace(&small[slot], wl_logsize(&rng, SMALL_MIN, SMALL_MAX), step);
        }
    }
    for (unsigned i = 0; i < SMALL_WINDOW; i++)
        sum += release(&small[i]);
    for (unsigned i = 0; i < LARGE_SLOTS; i++)
        sum += release(&large[i]);
    wl_report(sum);
    return 0;
}
