/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api_pairs.c — the typed-API microbenchmark (make bench runs it first): a
 * constant-size allocate/free pair, measured three ways in the same run:
 *
 *   macro  KMEM_MALLOC(p, unsigned char *, S, M_BENCH, KM_NOWAIT) /
 *          KMEM_FREE(p, M_BENCH)
 *          (the thread-cache pop and push inlined, the bucket index a constant)
 *   func   kmem_malloc(S, M_BENCH, KM_NOWAIT) / kmem_free(p, M_BENCH)
 *   glibc  malloc(S) / free(p)  (kmem is linked statically, so these are the
 *          C library's)
 *
 * for S = 16, 64, 256 or 1024 (one loop function per size and per way, so
 * that S is a compile-time constant in each). It is linked against the
 * library; the fastpath workload (bench/workloads/fastpath.c) times plain
 * malloc/free instead, under any allocator put in with LD_PRELOAD.
 *
 * Every pair stores a byte into the block and reads it back through a
 * volatile pointer into a checksum, so the compiler can remove neither the
 * pair nor the access. The byte is the first one: both kmem's free and
 * glibc's read the block's second word (the free key, bytes 8..15) to catch
 * double frees, and a one-byte store there followed by that eight-byte load
 * cannot be forwarded (a stall of about 2 ns a pair that would measure the
 * benchmark, not the allocator; it showed at 16 bytes when the last byte
 * was used). The loop functions are noinline and noclone, so their names
 * (bench_<way>_<size>) stay whole in the symbol table for callgrind
 * --toggle-collect (bench/callgrind.py).
 *
 * Method: warm up every way, then R repetitions; in each one every way runs
 * N pairs, the ways interleaved (macro, func, glibc, macro, ...) so that
 * noise from a shared machine falls on all of them alike. Reported per
 * way: the median ns/pair over the repetitions, the min–max spread, and the
 * ratio of the medians to glibc's in the same run. Nothing here asserts on
 * a time.
 *
 * Usage:
 *   api_pairs [--pairs N] [--reps R] [--size 16|64|256|1024|all] [--quick]
 *   api_pairs --only macro|func|glibc [--pairs N] [--size S]
 *
 * --quick: 2,000,000 pairs and 5 repetitions (well under a second).
 * --only:  a short warm-up (through a different function), then the way's
 *          loop bench_<way>_<S> once for N pairs: for instruction counting.
 *
 * Besides the table, one machine-readable line per way and size:
 *   csv,api_pairs,<way>,<size>,<median_ns>,<min_ns>,<max_ns>,<median/glibc median>
 * and with --only:
 *   only,api_pairs,<way>,<size>,<pairs>,<ns_per_pair>
 * Exit status 0; 1 if an allocation failed; 2 for a usage error.
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

KMEM_TYPE_DEFINE(M_BENCH, "bench", "fast-path benchmark");

#define DEFAULT_PAIRS 20000000ull
#define DEFAULT_REPS  7u
#define QUICK_PAIRS   2000000ull
#define QUICK_REPS    5u
#define WARM_PAIRS    200000ull /* per way, before measuring */
#define MAX_REPS      1001u

/* The checksum of every loop ends up here; it is also printed. */
static volatile uint64_t checksum_sink;

static __attribute__((noreturn, noinline, cold)) void out_of_memory(const char *where)
{
    fprintf(stderr, "api_pairs: %s: allocation returned NULL\n", where);
    exit(1);
}

/* ---- the loops ------------------------------------------------------------ */

#define ALLOC_macro(p, S) KMEM_MALLOC(p, unsigned char *, S, M_BENCH, KM_NOWAIT)
#define FREE_macro(p)     KMEM_FREE(p, M_BENCH)
#define ALLOC_func(p, S)  ((p) = kmem_malloc(S, M_BENCH, KM_NOWAIT))
#define FREE_func(p)      kmem_free(p, M_BENCH)
#define ALLOC_glibc(p, S) ((p) = malloc(S))
#define FREE_glibc(p)     free(p)

/* Kept whole: not inlined, and (GCC) not cloned under another name. */
#if defined(__clang__)
#define LOOP_ATTR __attribute__((noinline))
#else
#define LOOP_ATTR __attribute__((noinline, noclone))
#endif

/* One loop: n pairs of way W at the constant size S. */
#define DEFINE_LOOP(NAME, W, S)                                               \
    static LOOP_ATTR uint64_t NAME(uint64_t n)                                \
    {                                                                         \
        uint64_t sum = 0;                                                     \
        for (uint64_t i = 0; i < n; i++) {                                    \
            unsigned char *p;                                                 \
            ALLOC_##W(p, S);                                                  \
            if (__builtin_expect(p == NULL, 0))                               \
                out_of_memory(#NAME);                                         \
            volatile unsigned char *v = p;                                    \
            v[0] = (unsigned char)i;                                          \
            sum += v[0];                                                      \
            FREE_##W(p);                                                      \
        }                                                                     \
        return sum;                                                           \
    }

/* The measured loop, and a twin for warming up (so that a callgrind run
 * toggled on bench_<way>_<S> counts nothing of the warm-up). */
#define DEFINE_WAY_SIZE(W, S)                                                 \
    DEFINE_LOOP(bench_##W##_##S, W, S)                                        \
    DEFINE_LOOP(warm_##W##_##S, W, S)

#define DEFINE_SIZE(S)                                                        \
    DEFINE_WAY_SIZE(macro, S)                                                 \
    DEFINE_WAY_SIZE(func, S)                                                  \
    DEFINE_WAY_SIZE(glibc, S)

DEFINE_SIZE(16)
DEFINE_SIZE(64)
DEFINE_SIZE(256)
DEFINE_SIZE(1024)

typedef uint64_t loop_fn(uint64_t n);

#define NSIZES 4
#define NWAYS  3
static const unsigned sizes[NSIZES] = { 16, 64, 256, 1024 };

struct way {
    const char *name;  /* --only, csv */
    const char *label; /* the table */
    loop_fn *bench[NSIZES];
    loop_fn *warm[NSIZES];
};

#define WAY_FNS(W)                                                            \
    { bench_##W##_16, bench_##W##_64, bench_##W##_256, bench_##W##_1024 },    \
    { warm_##W##_16, warm_##W##_64, warm_##W##_256, warm_##W##_1024 }

static const struct way ways[NWAYS] = {
    { "macro", "KMEM_MALLOC/KMEM_FREE", WAY_FNS(macro) },
    { "func", "kmem_malloc/kmem_free", WAY_FNS(func) },
    { "glibc", "glibc malloc/free", WAY_FNS(glibc) },
};
#define GLIBC 2 /* index in ways[] */

/* ---- measuring ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double run_timed(loop_fn *fn, uint64_t pairs)
{
    uint64_t t0 = now_ns();
    uint64_t sum = fn(pairs);
    uint64_t t1 = now_ns();
    checksum_sink += sum;
    return (double)(t1 - t0) / (double)pairs;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct summary {
    double median, min, max;
};

static struct summary summarize(const double *v, unsigned n)
{
    double s[MAX_REPS];
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    struct summary r;
    r.min = s[0];
    r.max = s[n - 1];
    r.median = (n % 2) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    return r;
}

static void bench_size(unsigned si, uint64_t pairs, unsigned reps)
{
    static double ns[NWAYS][MAX_REPS];
    uint64_t warm = pairs < WARM_PAIRS ? pairs : WARM_PAIRS;
    for (unsigned w = 0; w < NWAYS; w++)
        checksum_sink += ways[w].warm[si](warm);
    for (unsigned r = 0; r < reps; r++)
        for (unsigned w = 0; w < NWAYS; w++)
            ns[w][r] = run_timed(ways[w].bench[si], pairs);

    struct summary s[NWAYS];
    for (unsigned w = 0; w < NWAYS; w++)
        s[w] = summarize(ns[w], reps);
    printf("fast path: %u-byte allocate/free pairs, %u repetitions \u00d7 %" PRIu64
           " pairs, median (min\u2013max) ns/pair\n",
           sizes[si], reps, pairs);
    for (unsigned w = 0; w < NWAYS; w++) {
        char spread[64];
        int len = snprintf(spread, sizeof spread, "(%.2f\u2013%.2f)", s[w].min, s[w].max);
        /* Pad by columns: the en dash takes three bytes and one column. */
        int pad = 16 - (len - 2);
        printf("  %-22s %7.2f %s", ways[w].label, s[w].median, spread);
        if (w != GLIBC)
            printf("%*s %5.2f\u00d7 glibc", pad > 0 ? pad : 0, "",
                   s[w].median / s[GLIBC].median);
        printf("\n");
    }
    for (unsigned w = 0; w < NWAYS; w++)
        printf("csv,api_pairs,%s,%u,%.3f,%.3f,%.3f,%.4f\n", ways[w].name, sizes[si],
               s[w].median, s[w].min, s[w].max, s[w].median / s[GLIBC].median);
}

static void run_only(unsigned w, unsigned si, uint64_t pairs)
{
    /* Warm through the twin: kmem's type registered, the thread cache
     * active and its bin filled; glibc's tcache primed. */
    checksum_sink += ways[w].warm[si](1000);
    double ns = run_timed(ways[w].bench[si], pairs);
    printf("only,api_pairs,%s,%u,%" PRIu64 ",%.3f\n", ways[w].name, sizes[si], pairs, ns);
}

/* ---- arguments -------------------------------------------------------------- */

static __attribute__((noreturn)) void usage_to(FILE *out, int status, const char *why)
{
    if (why != NULL)
        fprintf(stderr, "api_pairs: %s\n", why);
    fprintf(out,
            "usage: api_pairs [--pairs N] [--reps R] [--size 16|64|256|1024|all] [--quick]\n"
            "       api_pairs --only macro|func|glibc [--pairs N] [--size S]\n");
    exit(status);
}

static __attribute__((noreturn)) void usage(const char *why)
{
    usage_to(stderr, 2, why);
}

static uint64_t parse_count(const char *opt, const char *text, uint64_t max)
{
    char *end;
    errno = 0;
    if (text == NULL || *text < '0' || *text > '9') {
        fprintf(stderr, "api_pairs: %s needs a positive number\n", opt);
        usage(NULL);
    }
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max) {
        fprintf(stderr, "api_pairs: %s: '%s' is not a number in 1..%" PRIu64 "\n", opt,
                text, max);
        usage(NULL);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    uint64_t pairs = DEFAULT_PAIRS;
    unsigned reps = DEFAULT_REPS;
    int size_index = 1; /* 64; -1: all */
    int only = -1;
    int have_pairs = 0, have_reps = 0, quick = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--pairs") == 0) {
            pairs = parse_count(a, val, UINT64_C(1) << 40);
            have_pairs = 1;
            i++;
        } else if (strcmp(a, "--reps") == 0) {
            reps = (unsigned)parse_count(a, val, MAX_REPS);
            have_reps = 1;
            i++;
        } else if (strcmp(a, "--size") == 0) {
            if (val == NULL)
                usage("--size needs a value");
            size_index = -2;
            if (strcmp(val, "all") == 0)
                size_index = -1;
            for (int s = 0; s < NSIZES; s++) {
                char name[16];
                snprintf(name, sizeof name, "%u", sizes[s]);
                if (strcmp(val, name) == 0)
                    size_index = s;
            }
            if (size_index == -2)
                usage("--size must be 16, 64, 256, 1024 or all");
            i++;
        } else if (strcmp(a, "--only") == 0) {
            if (val == NULL)
                usage("--only needs a way");
            for (int w = 0; w < NWAYS; w++)
                if (strcmp(val, ways[w].name) == 0)
                    only = w;
            if (only < 0)
                usage("--only takes macro, func or glibc");
            i++;
        } else if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage_to(stdout, 0, NULL);
        } else {
            fprintf(stderr, "api_pairs: unknown argument '%s'\n", a);
            usage(NULL);
        }
    }
    if (quick) {
        if (!have_pairs)
            pairs = QUICK_PAIRS;
        if (!have_reps)
            reps = QUICK_REPS;
    }

    if (only >= 0) {
        if (size_index < 0)
            usage("--only takes a single --size");
        run_only((unsigned)only, (unsigned)size_index, pairs);
    } else {
        for (int s = 0; s < NSIZES; s++) {
            if (size_index >= 0 && s != size_index)
                continue;
            bench_size((unsigned)s, pairs, reps);
        }
    }
    printf("checksum %016" PRIx64 "\n", (uint64_t)checksum_sink);
    return 0;
}
