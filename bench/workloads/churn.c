/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * churn.c — workload: small-object churn on one thread.
 *
 * A sliding window of WINDOW live blocks of random sizes from 16 bytes to
 * 1 KiB (log-uniform: every doubling equally likely, so small blocks are
 * the common case): the window is filled first, then each of N steps (-n)
 * frees the oldest block, after checking its contents, and allocates a
 * new one of a new random size, which it fills. At the end the window is
 * emptied, every block checked.
 *
 * Each block is filled from its key (the step that allocated it), one
 * word per cache line (workload.h); a changed word fails the run. The
 * checksum is the sum of every word read back, the same under any
 * allocator.
 */
#include "workload.h"

#define FULL_STEPS  6000000ull
#define QUICK_STEPS 600000ull
#define WINDOW      32768u /* live blocks: ~8 MB requested */
#define MIN_SIZE    16u
#define MAX_SIZE    1024u

static void *block[WINDOW];
static uint32_t block_size[WINDOW];
static uint64_t block_key[WINDOW];

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "churn", FULL_STEPS, QUICK_STEPS, 1);
    wl_rng rng = wl_rng_seed(1);
    uint64_t sum = 0;

    for (uint64_t step = 0; step < a.n + WINDOW; step++) {
        unsigned slot = (unsigned)(step % WINDOW);
        if (step >= WINDOW) {
            sum += wl_check(block[slot], block_size[slot], block_key[slot]);
            wl_free(block[slot], block_size[slot]);
        }
        uint32_t n = (uint32_t)wl_logsize(&rng, MIN_SIZE, MAX_SIZE);
        block[slot] = wl_malloc(n);
        block_size[slot] = n;
        block_key[slot] = step;
        wl_fill(block[slot], n, step);
    }
    for (unsigned slot = 0; slot < WINDOW; slot++) {
        sum += wl_check(block[slot], block_size[slot], block_key[slot]);
        wl_free(block[slot], block_size[slot]);
    }
    wl_report(sum);
    return 0;
}
