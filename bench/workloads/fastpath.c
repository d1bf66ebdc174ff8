/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fastpath.c — workload: constant-size malloc/free pairs, the allocator's
 * fast path, through the C library interface (so under any allocator put
 * in with LD_PRELOAD; bench/api_pairs.c measures kmem's own API instead).
 *
 * For each size S of 16, 64, 256 and 1024 bytes, N pairs (-n, default
 * FULL_PAIRS; --quick QUICK_PAIRS): p = malloc(S), a word stored into the
 * block and read back through a volatile pointer into the checksum,
 * free(p). The word is the first one (see bench/api_pairs.c for why not the
 * last). One loop function per size, pairs_<S>, kept whole (noinline,
 * noclone) so that callgrind can count it alone with --toggle-collect;
 * a twin, warm_<S>, warms up first.
 *
 *   fastpath [-n N] [--quick]     every size; prints ns_per_pair_<S> lines
 *   fastpath --only S -n N        warm_S(1000), then pairs_S(N) only: for
 *                                 instruction counts (bench/run.py runs it
 *                                 twice under callgrind and takes the slope)
 *
 * Verified: each word read back must be the one stored, and the checksum
 * must equal the sum computed without allocating.
 */
#include "workload.h"

#define FULL_PAIRS  20000000ull
#define QUICK_PAIRS 2000000ull

#if defined(__clang__)
#define LOOP_ATTR __attribute__((noinline))
#else
#define LOOP_ATTR __attribute__((noinline, noclone))
#endif

/* The value stored by pair i. */
static inline uint64_t pair_word(uint64_t i)
{
    return i * 0x9e3779b97f4a7c15ull;
}

#define DEFINE_LOOP(NAME, S)                                                  \
    static LOOP_ATTR uint64_t NAME(uint64_t n)                                \
    {                                                                         \
        uint64_t sum = 0;                                                     \
        for (uint64_t i = 0; i < n; i++) {                                    \
            uint64_t *p = malloc(S);                                          \
            if (__builtin_expect(p == NULL, 0))                               \
                wl_fail("malloc(%d) returned NULL", S);                       \
            volatile uint64_t *v = p;                                         \
            *v = pair_word(i);                                                \
            uint64_t w = *v;                                                  \
            if (__builtin_expect(w != pair_word(i), 0))                       \
                wl_fail("%d-byte block %p: the word read back changed", S,    \
                        (void *)p);                                           \
            sum += w;                                                         \
            free(p);                                                          \
        }                                                                     \
        return sum;                                                           \
    }

#define DEFINE_SIZE(S) DEFINE_LOOP(pairs_##S, S) DEFINE_LOOP(warm_##S, S)
DEFINE_SIZE(16)
DEFINE_SIZE(64)
DEFINE_SIZE(256)
DEFINE_SIZE(1024)

typedef uint64_t loop_fn(uint64_t n);

static const struct {
    unsigned size;
    loop_fn *pairs, *warm;
} sizes[] = {
    { 16, pairs_16, warm_16 },
    { 64, pairs_64, warm_64 },
    { 256, pairs_256, warm_256 },
    { 1024, pairs_1024, warm_1024 },
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* What the loop's checksum must be: the sum of pair_word(i), i < n. */
static uint64_t expected_sum(uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += pair_word(i);
    return s;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "fastpath", FULL_PAIRS, QUICK_PAIRS, 1);
    uint64_t checksum = 0;
    int found = 0;

    for (unsigned s = 0; s < NSIZES; s++) {
        if (a.only != 0 && a.only != sizes[s].size)
            continue;
        found = 1;
        uint64_t warm = a.only != 0 ? 1000 : (a.n < 100000 ? a.n : 100000);
        if (sizes[s].warm(warm) != expected_sum(warm))
            wl_fail("warm-up checksum of the %u-byte pairs is wrong", sizes[s].size);
        /* One block of S bytes is live at a time. */
        wl_track((int64_t)sizes[s].size);
        double t0 = wl_now();
        uint64_t sum = sizes[s].pairs(a.n);
        double t1 = wl_now();
        wl_track(-(int64_t)sizes[s].size);
        if (sum != expected_sum(a.n))
            wl_fail("checksum of the %u-byte pairs is %016" PRIx64 ", not %016" PRIx64,
                    sizes[s].size, sum, expected_sum(a.n));
        checksum = checksum * 31 + sum;
        printf("ns_per_pair_%u %.3f\n", sizes[s].size, (t1 - t0) * 1e9 / (double)a.n);
    }
    if (!found)
        wl_usage("--only takes 16, 64, 256 or 1024");
    wl_report(checksum);
    return 0;
}
