/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alloc_test.c — workload: a steady stream of small allocations and frees
 * at random places of a working set, on one thread; the pattern of the
 * "alloc-test" benchmark.
 *
 * A working set of SLOTS (10,000) blocks, filled first; then each of N
 * steps (-n) picks a random slot, checks and frees the block there, and
 * allocates and fills a new one. Sizes are mostly small: 70% are 8–64
 * bytes, 25% 64–512 bytes and 5% 512–4096 bytes, uniform within each
 * range. So blocks die in random order, at any age, unlike churn.c's
 * oldest-first window. At the end the working set is emptied, every block
 * checked.
 *
 * Each block is filled from its key (the step that allocated it), one
 * word per cache line (workload.h); a changed word fails the run. The
 * checksum is the sum of every word read back, the same under any
 * allocator.
 */
#include "workload.h"

#define FULL_STEPS  15000000ull
#define QUICK_STEPS 1500000ull
#define SLOTS       10000u

static void *block[SLOTS];
static uint32_t block_size[SLOTS];
static uint64_t block_key[SLOTS];

static inline uint32_t pick_size(wl_rng *rng)
{
    uint64_t r = wl_next(rng);
    unsigned bucket = (unsigned)(r % 100);
    uint64_t x = r >> 32;
    if (bucket < 70)
        return (uint32_t)(8 + x % (64 - 8 + 1));
    if (bucket < 95)
        return (uint32_t)(64 + x % (512 - 64 + 1));
    return (uint32_t)(512 + x % (4096 - 512 + 1));
}

static void put_new(unsigned slot, uint64_t key, wl_rng *rng)
{
    uint32_t n = pick_size(rng);
    block[slot] = wl_malloc(n);
    block_size[slot] = n;
    block_key[slot] = key;
    wl_fill(block[slot], n, key);
}

static uint64_t take_old(unsigned slot)
{
    uint64_t sum = wl_check(block[slot], block_size[slot], block_key[slot]);
    wl_free(block[slot], block_size[slot]);
    return sum;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "alloc_test", FULL_STEPS, QUICK_STEPS, 1);
    wl_rng rng = wl_rng_seed(5);
    uint64_t sum = 0;

    for (unsigned slot = 0; slot < SLOTS; slot++)
        put_new(slot, slot, &rng);
    for (uint64_t step = 0; step < a.n; step++) {
        unsigned slot = (unsigned)(wl_next(&rng) % SLOTS);
        sum += take_old(slot);
        put_new(slot, SLOTS + step, &rng);
    }
    for (unsigned slot = 0; slot < SLOTS; slot++)
        sum += take_old(slot);
    wl_report(sum);
    return 0;
}
