/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness.h — the little that kmem's test programs share: checks that print
 * the values that differed, a seed that is printed and can be overridden,
 * lengths of runs from the environment, a fast deterministic random
 * generator, and a pattern fill/verify. (Threaded tests: threads.h.)
 *
 * Each test is its own program: exit status 0 when every check held. A
 * failed check prints file:line, the expression and the values, and the
 * test goes on (so one run shows every failure) unless it used REQUIRE.
 */
#ifndef KMEM_TEST_HARNESS_H
#define KMEM_TEST_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int test_failures;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            test_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__,    \
                    #cond);                                                     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

#define REQUIRE(cond, ...)                                                      \
    do {                                                                        \
        int failures_ = test_failures;                                          \
        CHECK(cond, __VA_ARGS__);                                               \
        if (test_failures != failures_)                                         \
            exit(1);                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                          \
    do {                                                                        \
        uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);                      \
        CHECK(va_ == vb_, "%s = %" PRIu64 ", %s = %" PRIu64, #a, va_, #b, vb_); \
    } while (0)

static inline int test_finish(const char *name)
{
    if (test_failures != 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

/* The seed: KMEM_TEST_SEED if set, else the given default. Printed so that
 * a failing run can be repeated. */
static inline uint64_t test_seed(uint64_t fallback)
{
    const char *env = getenv("KMEM_TEST_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : fallback;
    printf("seed %" PRIu64 " (set KMEM_TEST_SEED to repeat or change it)\n", seed);
    return seed;
}

/* A positive whole number from the environment variable `name` (the length
 * of a run, e.g. KMEM_TEST_OPS), else the given default. */
static inline long test_env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    if (v != NULL && atol(v) > 0)
        return atol(v);
    return fallback;
}

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

/* Resident memory of this process in KiB, from /proc/self/statm (Linux);
 * 0 if it cannot be read. */
__attribute__((unused)) static long test_resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif /* KMEM_TEST_HARNESS_H */
