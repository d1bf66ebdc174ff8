/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness.h — the little that kmem's test programs share: checks that print
 * the values that differed, a seed that is printed and can be overridden,
 * lengths of runs from the environment, and (from pattern.h) a fast
 * deterministic random generator and a pattern fill/verify. (Threaded
 * tests: threads.h.)
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

#include "pattern.h"

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
