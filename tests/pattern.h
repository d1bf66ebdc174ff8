/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pattern.h — what tests share that needs no C library, so that the
 * freestanding suite can use it on bare metal too (baremetal/): a fast
 * deterministic random generator and a pattern fill/verify that catches a
 * block overwritten by another (or by the allocator). harness.h includes
 * it for the hosted tests.
 */
#ifndef KMEM_TEST_PATTERN_H
#define KMEM_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* xorshift64*: fast, deterministic for a seed. */
struct rng {
    uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline struct rng rng_make(uint64_t seed)
{
    struct rng r = { seed * 0x9E3779B97F4A7C15ULL + 1 };
    rng_next(&r);
    return r;
}

/* Uniform in [0, n). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n == 0 ? 0 : rng_next(r) % n;
}

/* Fill and check a block with bytes derived from a tag, so that a block
 * overwritten by another (or by the allocator) is caught. Blocks over 8 KiB
 * are written at both ends (4 KiB each) and at every 4093rd byte between,
 * to keep tests fast; pattern_check_prefix checks the bytes below `limit`
 * that a fill of n bytes wrote (what survives a shrinking realloc). */
static inline unsigned char pattern_byte(uint64_t tag, size_t i)
{
    return (unsigned char)((tag * 131u + i * 7u) ^ (tag >> 7));
}

#define PATTERN_EDGE 4096u
#define PATTERN_STEP 4093u

/* noinline: at a call site with a small known size, GCC would warn about
 * the branch for large blocks. */
__attribute__((noinline, unused)) static void pattern_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    if (n <= 2 * PATTERN_EDGE) {
        for (size_t i = 0; i < n; i++)
            b[i] = pattern_byte(tag, i);
        return;
    }
    for (size_t i = 0; i < PATTERN_EDGE; i++) {
        b[i] = pattern_byte(tag, i);
        b[n - 1 - i] = pattern_byte(tag, n - 1 - i);
    }
    for (size_t i = PATTERN_EDGE; i < n - PATTERN_EDGE; i += PATTERN_STEP)
        b[i] = pattern_byte(tag, i);
}

/* Index of the first wrong byte below limit, or (size_t)-1. */
static inline size_t pattern_check_prefix(const void *p, size_t limit, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    if (limit > n)
        limit = n;
    if (n <= 2 * PATTERN_EDGE) {
        for (size_t i = 0; i < limit; i++)
            if (b[i] != pattern_byte(tag, i))
                return i;
        return (size_t)-1;
    }
    for (size_t i = 0; i < PATTERN_EDGE && i < limit; i++)
        if (b[i] != pattern_byte(tag, i))
            return i;
    for (size_t i = PATTERN_EDGE; i < n - PATTERN_EDGE && i < limit; i += PATTERN_STEP)
        if (b[i] != pattern_byte(tag, i))
            return i;
    for (size_t i = n - PATTERN_EDGE; i < limit; i++)
        if (b[i] != pattern_byte(tag, i))
            return i;
    return (size_t)-1;
}

static inline size_t pattern_check(const void *p, size_t n, uint64_t tag)
{
    return pattern_check_prefix(p, n, n, tag);
}

#endif /* KMEM_TEST_PATTERN_H */
