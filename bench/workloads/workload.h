/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * workload.h — what every benchmark workload (the .c files in bench/workloads) shares:
 * the command line, the fixed-seed random numbers, filling and checking
 * blocks, the account of requested bytes, and the lines a workload prints
 * for bench/run.py.
 *
 * The workloads use only the C library's allocation interface (malloc,
 * free, realloc), so that bench/run.py can put any allocator under them
 * with LD_PRELOAD. They are compiled with -fno-builtin, so the compiler
 * keeps every malloc and free; small copies here use __builtin_memcpy
 * explicitly so that they stay inline.
 *
 * Command line, the same for every workload:
 *   NAME [-n N] [-t THREADS] [--quick] [--only SIZE]
 *     -n N        the amount of work (each workload says what it counts);
 *                 default: the full size (about a second of work)
 *     --quick     the quick size (about a tenth of a second), unless -n
 *     -t THREADS  for the threaded workloads
 *     --only S    fastpath only: one size, for callgrind (bench/run.py)
 *
 * Output (standard output), read by bench/run.py:
 *   workload NAME
 *   checksum HEX                  the same for every allocator at one size
 *   requested_peak_bytes N        the peak of bytes requested and not freed
 *   malloc_from PATH              the object that malloc was bound to
 *   ...                           anything else, "key value" per line
 * Exit status: 0; 1 when a result is wrong (the message on standard error
 * says what), when an allocation fails, or on a usage error.
 *
 * Requested bytes: every allocation and free goes through wl_malloc,
 * wl_free and wl_realloc, which keep the account. A single thread keeps
 * it exactly. With threads (between wl_threads_begin() and
 * wl_threads_end(), while the main thread allocates nothing), each thread
 * gathers its changes and adds them
 * to the shared total once they pass WL_TRACK_FLUSH bytes either way (an
 * atomic add per ~64 KiB rather than per call, which would make threads
 * contend on one cache line and measure that instead of the allocator),
 * so the peak may be off by less than WL_TRACK_FLUSH per thread. A thread
 * calls wl_track_flush() before it ends.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WL_UNUSED __attribute__((unused))

/* ---- failing ------------------------------------------------------------------ */

static const char *wl_name = "workload";

static WL_UNUSED __attribute__((noreturn, cold, format(printf, 1, 2))) void
wl_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: FAILED: ", wl_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

/* ---- random numbers: splitmix64 (fixed seeds, the same on every run) ------ */

static inline uint64_t wl_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t s;
} wl_rng;

static inline wl_rng wl_rng_seed(uint64_t seed)
{
    wl_rng r = { wl_mix(seed ^ 0x6b6d656d62656e63ull) };
    return r;
}

static inline uint64_t wl_next(wl_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    uint64_t x = r->s;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Uniform in [lo, hi]. */
static inline uint64_t wl_uniform(wl_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + wl_next(r) % (hi - lo + 1);
}

/* Log-uniform in [lo, hi] (every doubling equally likely): small sizes
 * common, large ones rare, as in real programs. lo >= 1. */
static inline uint64_t wl_logsize(wl_rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t x = wl_next(r);
    double u = (double)(x >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    double l = log((double)lo), h = log((double)hi + 1.0);
    uint64_t v = (uint64_t)exp(l + u * (h - l));
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- filling and checking blocks ----------------------------------------------- */

/*
 * A block of n bytes (n >= 8) with key k holds the word wl_mix(k + o) at
 * offsets o = 0, 64, 128, ... up to n - 16, and at n - 8 (the last word,
 * which so never overlaps another): about one word per cache line, so
 * every line (and every page) of the block is written and read back, at a
 * cost that does not swamp the allocator's. Blocks of fewer than 8 bytes
 * hold the low bytes of wl_mix(k).
 */
#define WL_STRIDE 64

static inline void wl_put(unsigned char *p, uint64_t w)
{
    __builtin_memcpy(p, &w, sizeof w);
}

static inline uint64_t wl_get(const unsigned char *p)
{
    uint64_t w;
    __builtin_memcpy(&w, p, sizeof w);
    return w;
}

/* Fills the block; returns the sum wl_check will find in it. */
static inline uint64_t wl_fill(void *block, size_t n, uint64_t key)
{
    unsigned char *p = block;
    uint64_t sum = 0;
    if (n < 8) {
        uint64_t w = wl_mix(key);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)(w >> (8 * i));
            p[i] = c;
            sum += c;
        }
        return sum;
    }
    for (size_t o = 0; o + 16 <= n; o += WL_STRIDE) {
        uint64_t w = wl_mix(key + o);
        wl_put(p + o, w);
        sum += w;
    }
    uint64_t w = wl_mix(key + n - 8);
    wl_put(p + n - 8, w);
    return sum + w;
}

/* The sum of the words wl_fill wrote; fails the workload on a mismatch. */
static inline uint64_t wl_check(const void *block, size_t n, uint64_t key)
{
    const unsigned char *p = block;
    uint64_t sum = 0;
    if (n < 8) {
        uint64_t w = wl_mix(key);
        for (size_t i = 0; i < n; i++) {
            if (p[i] != (unsigned char)(w >> (8 * i)))
                wl_fail("block %p (%zu bytes, key %" PRIx64 "): byte %zu changed",
                        block, n, key, i);
            sum += p[i];
        }
        return sum;
    }
    for (size_t o = 0; o + 16 <= n; o += WL_STRIDE) {
        uint64_t w = wl_get(p + o);
        if (__builtin_expect(w != wl_mix(key + o), 0))
            wl_fail("block %p (%zu bytes, key %" PRIx64 "): word at %zu is %016" PRIx64
                    ", not %016" PRIx64,
                    block, n, key, o, w, wl_mix(key + o));
        sum += w;
    }
    uint64_t w = wl_get(p + n - 8);
    if (__builtin_expect(w != wl_mix(key + n - 8), 0))
        wl_fail("block %p (%zu bytes, key %" PRIx64 "): last word is %016" PRIx64
                ", not %016" PRIx64,
                block, n, key, w, wl_mix(key + n - 8));
    return sum + w;
}

/* ---- the account of requested bytes --------------------------------------------- */

#define WL_TRACK_FLUSH (64 * 1024)

static _Atomic int64_t wl_live_bytes;
static _Atomic int64_t wl_peak_bytes;
static _Thread_local int64_t wl_pending;
/* Set by wl_threads_begin() in the main thread before it starts threads,
 * cleared by wl_threads_end() after it has joined them. */
static int wl_threaded;

static inline void wl_track_flush(void)
{
    int64_t now = atomic_fetch_add_explicit(&wl_live_bytes, wl_pending,
                                            memory_order_relaxed) + wl_pending;
    wl_pending = 0;
    int64_t peak = atomic_load_explicit(&wl_peak_bytes, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&wl_peak_bytes, &peak, now,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static inline void wl_track(int64_t delta)
{
    if (!wl_threaded) {
        /* One thread: exact, and plain loads and stores. */
        int64_t now = atomic_load_explicit(&wl_live_bytes, memory_order_relaxed) + delta;
        atomic_store_explicit(&wl_live_bytes, now, memory_order_relaxed);
        if (now > atomic_load_explicit(&wl_peak_bytes, memory_order_relaxed))
            atomic_store_explicit(&wl_peak_bytes, now, memory_order_relaxed);
        return;
    }
    wl_pending += delta;
    if (wl_pending >= WL_TRACK_FLUSH || wl_pending <= -WL_TRACK_FLUSH)
        wl_track_flush();
}

static WL_UNUSED void wl_threads_begin(void)
{
    wl_threaded = 1;
}

static WL_UNUSED void wl_threads_end(void)
{
    wl_threaded = 0;
}

/* ---- allocation, accounted ---------------------------------------------------------- */

static inline void *wl_malloc(size_t n)
{
    void *p = malloc(n);
    if (__builtin_expect(p == NULL, 0))
        wl_fail("malloc(%zu) returned NULL (errno %d)", n, errno);
    wl_track((int64_t)n);
    return p;
}

static inline void wl_free(void *p, size_t n)
{
    wl_track(-(int64_t)n);
    free(p);
}

static inline void *wl_realloc(void *p, size_t old, size_t n)
{
    void *q = realloc(p, n);
    if (__builtin_expect(q == NULL, 0))
        wl_fail("realloc(%p, %zu) returned NULL (errno %d)", p, n, errno);
    wl_track((int64_t)n - (int64_t)old);
    return q;
}

/* ---- command line ------------------------------------------------------------------------ */

struct wl_args {
    uint64_t n;        /* amount of work */
    unsigned threads;  /* -t */
    unsigned only;     /* --only SIZE, 0 if not given */
    int quick;
};

static WL_UNUSED __attribute__((noreturn)) void wl_usage(const char *why)
{
    if (why != NULL)
        fprintf(stderr, "%s: %s\n", wl_name, why);
    fprintf(stderr, "usage: %s [-n N] [-t THREADS] [--quick] [--only SIZE]\n", wl_name);
    exit(1);
}

static uint64_t wl_parse_count(const char *opt, const char *text)
{
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        wl_usage(opt);
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0)
        wl_usage(opt);
    return (uint64_t)v;
}

/* Parses the command line; full and quick are this workload's sizes,
 * threads its default thread count. */
static WL_UNUSED struct wl_args wl_parse(int argc, char **argv, const char *name,
                                         uint64_t full, uint64_t quick,
                                         unsigned threads)
{
    struct wl_args a = { 0, threads, 0, 0 };
    wl_name = name;
    for (int i = 1; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "-n") == 0) {
            a.n = wl_parse_count("-n needs a positive number", val);
            i++;
        } else if (strcmp(argv[i], "-t") == 0) {
            uint64_t t = wl_parse_count("-t needs a positive number", val);
            if (t > 256)
                wl_usage("-t: at most 256 threads");
            a.threads = (unsigned)t;
            i++;
        } else if (strcmp(argv[i], "--only") == 0) {
            a.only = (unsigned)wl_parse_count("--only needs a size", val);
            i++;
        } else if (strcmp(argv[i], "--quick") == 0) {
            a.quick = 1;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", name, argv[i]);
            wl_usage(NULL);
        }
    }
    if (a.n == 0)
        a.n = a.quick ? quick : full;
    return a;
}

/* ---- output ---------------------------------------------------------------------------- */

static WL_UNUSED double wl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The closing lines; call from the main thread once every other thread has
 * called wl_track_flush() and been joined. */
static WL_UNUSED void wl_report(uint64_t checksum)
{
    Dl_info info;
    void *(*m)(size_t) = malloc; /* bound by the dynamic linker: LD_PRELOAD's */
    void *addr;
    __builtin_memcpy(&addr, &m, sizeof addr);
    const char *from = "unknown";
    if (dladdr(addr, &info) != 0 && info.dli_fname != NULL)
        from = info.dli_fname;
    printf("workload %s\n", wl_name);
    printf("checksum %016" PRIx64 "\n", checksum);
    printf("requested_peak_bytes %" PRId64 "\n",
           atomic_load_explicit(&wl_peak_bytes, memory_order_relaxed));
    printf("malloc_from %s\n", from);
    if (atomic_load_explicit(&wl_live_bytes, memory_order_relaxed) != 0)
        wl_fail("%" PRId64 " requested bytes were never freed (a workload bug)",
                atomic_load_explicit(&wl_live_bytes, memory_order_relaxed));
    fflush(stdout);
}

#endif /* BENCH_WORKLOAD_H */
