/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * batch.c — workload: batches of same-size blocks allocated, then freed in
 * the order allocated (first in, first out), on one thread; the pattern of
 * glibc's "malloc-simple" benchmark.
 *
 * For each size S of 16, 32, 64, 128, 256, 512 and 1024 bytes and each
 * batch count B of 25, 100, 400 and 1600 blocks (28 combinations), R
 * rounds of: allocate B blocks of S bytes into an array, storing a word in
 * the first eight bytes of each; then, in the same order, read each word
 * back and free the block. N pairs (-n) in all, shared evenly between the
 * combinations: R = (N / 28) / B, at least 1. Each combination first runs
 * one untimed round (so that the heap has grown to the batch's size), then
 * its R rounds, timed; it prints ns_per_pair_<S>_<B>, the wall time of
 * those rounds over R * B.
 *
 * Verified: every word read back must be the one stored in that block, and
 * each combination's sum of words read back must equal the sum of words
 * written. The checksum combines those sums, the same under any allocator.
 */
#include "workload.h"

#define FULL_PAIRS  16000000ull
#define QUICK_PAIRS 1600000ull
#define MAX_BATCH   1600u

static const unsigned sizes[] = { 16, 32, 64, 128, 256, 512, 1024 };
static const unsigned counts[] = { 25, 100, 400, MAX_BATCH };
#define NSIZES  (sizeof sizes / sizeof sizes[0])
#define NCOUNTS (sizeof counts / sizeof counts[0])

static unsigned char *blocks[MAX_BATCH];

/* The word stored in block number k. */
static inline uint64_t word_of(uint64_t k)
{
    return k * 0x9e3779b97f4a7c15ull + 0x5851f42d4c957f2dull;
}

/* R rounds of B blocks of S bytes, numbered from *k on; returns the sum of
 * the words read back, and adds the sum of those written to *written. */
static __attribute__((noinline)) uint64_t rounds(size_t s, unsigned b, uint64_t r,
                                                 uint64_t *k, uint64_t *written)
{
    uint64_t read = 0, wrote = 0, key = *k;
    for (uint64_t round = 0; round < r; round++) {
        for (unsigned i = 0; i < b; i++) {
            unsigned char *p = wl_malloc(s);
            uint64_t w = word_of(key + i);
            wl_put(p, w);
            wrote += w;
            blocks[i] = p;
        }
        for (unsigned i = 0; i < b; i++) {
            uint64_t w = wl_get(blocks[i]);
            if (__builtin_expect(w != word_of(key + i), 0))
                wl_fail("%zu-byte block %p (batch of %u, number %u): the word read back "
                        "is %016" PRIx64 ", not %016" PRIx64,
                        s, (void *)blocks[i], b, i, w, word_of(key + i));
            read += w;
            wl_free(blocks[i], s);
        }
        key += b;
    }
    *k = key;
    *written += wrote;
    return read;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "batch", FULL_PAIRS, QUICK_PAIRS, 1);
    uint64_t per_combination = a.n / (NSIZES * NCOUNTS);
    uint64_t checksum = 0, key = 0, pairs = 0;
    double total = 0;

    for (unsigned si = 0; si < NSIZES; si++) {
        for (unsigned ci = 0; ci < NCOUNTS; ci++) {
            size_t s = sizes[si];
            unsigned b = counts[ci];
            uint64_t r = per_combination / b;
            if (r == 0)
                r = 1;
            uint64_t written = 0, read = 0;
            read += rounds(s, b, 1, &key, &written); /* untimed */
            double t0 = wl_now();
            read += rounds(s, b, r, &key, &written);
            double t1 = wl_now();
            if (read != written)
                wl_fail("%zu-byte blocks in batches of %u: read back %016" PRIx64
                        ", written %016" PRIx64, s, b, read, written);
            checksum = checksum * 31 + read;
            pairs += r * b;
            total += t1 - t0;
            printf("ns_per_pair_%zu_%u %.3f\n", s, b, (t1 - t0) * 1e9 / (double)(r * b));
        }
    }
    printf("pairs %" PRIu64 "\n", pairs);
    printf("ns_per_pair_all %.3f\n", total * 1e9 / (double)pairs);
    wl_report(checksum);
    return 0;
}
