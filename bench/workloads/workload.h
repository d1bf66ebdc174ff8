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
 *   NAME [-n N] [-t THREADS] [--quick] [--only SIZE] [--latency]
 *     -n N        the amount of work (each workload says what it counts);
 *                 default: the full size (about a second of work)
 *     --quick     the quick size (about a tenth of a second), unless -n
 *     -t THREADS  for the threaded workloads
 *     --only S    fastpath only: one size, for callgrind (bench/run.py)
 *     --latency   the workloads that define WL_LATENCY before including
 *                 this file (larson, xmalloc, prodcons) only: time each
 *                 malloc and free they say (see "latency" below)
 *
 * Output (standard output), read by bench/run.py:
 *   workload NAME
 *   checksum HEX                  the same for every allocator at one size
 *   requested_peak_bytes N        the peak of bytes requested and not freed
 *   malloc_from PATH              the object that malloc was bound to
 *   ...                           anything else, "key value" per line
 * and with --latency (nanoseconds; p999 is the 99.9th percentile):
 *   lat_malloc_ns P50,P99,P999,MAX
 *   lat_free_ns P50,P99,P999,MAX
 *   lat_overhead_ns P50,P99       an empty timed interval (the recorder's cost)
 *   lat_samples_malloc N          how many calls were timed
 *   lat_samples_free N
 *   lat_clock tsc|clock_gettime   lat_tsc_mhz MHZ (tsc only)
 *   lat_resolution_ns NS          the clock's usual step (0: not found)
 *   lat_sampling every-call
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
/* wl_fill and wl_check: inline. Where WL_LATENCY is defined (below), a
 * workload has a timed copy of its loops, so twice the callers; forced
 * inline there, as the compiler inlines them for the one caller each had
 * before, so that the untimed copy stays the code it was. */
#ifdef WL_LATENCY
#define WL_FILL_INLINE inline __attribute__((always_inline))
#else
#define WL_FILL_INLINE inline
#endif

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
static WL_FILL_INLINE uint64_t wl_fill(void *block, size_t n, uint64_t key)
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
static WL_FILL_INLINE uint64_t wl_check(const void *block, size_t n, uint64_t key)
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

/* ---- latency (--latency; only where WL_LATENCY is defined) ------------------------- */

/*
 * Per-operation latency: a workload that defines WL_LATENCY before
 * including this file times the calls it chooses with wl_malloc_lat and
 * wl_free_lat. Their last argument, timed, must be a constant at every
 * call site: with 0 they are wl_malloc and wl_free exactly; with 1 each
 * call is timed (every call, no sampling). The workload keeps two copies
 * of its loops, one with timed = 0 and one with timed = 1, and picks one
 * once by wl_lat_on, so that without --latency it runs the code it ran
 * before the recorder existed.
 *
 * The clock: on x86 the TSC (lfence; rdtsc; lfence at the start of an
 * interval and lfence; rdtsc at its end, so that the call neither starts
 * before the first read nor is still running at the second, and what came
 * before it is not in it), converted to nanoseconds by a rate
 * measured once against clock_gettime(CLOCK_MONOTONIC) over 50 ms at the
 * start; elsewhere clock_gettime itself. A read at either end is included
 * in every sample: wl_lat_init also times WL_LAT_EMPTY empty intervals
 * (two reads back to back) and reports their median and p99 as the
 * recorder's overhead (not subtracted from anything).
 *
 * Each thread records into its own histograms (a slot of an array mapped
 * once by wl_lat_init, claimed by the thread's first sample: nothing is
 * allocated while recording, and nothing through malloc at all): log-
 * linear buckets, exact below 16 ns, then 8 per power of two up to 2^40 ns,
 * each with the sum of its values (a percentile is the mean of its
 * bucket's values, so within 1/8 of the true value, and exact when they
 * are all one), and the exact maximum. wl_report merges them (call it
 * once every thread has been joined) and prints the lat_ lines.
 */
#ifdef WL_LATENCY

#include <sys/mman.h>
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
#include <x86intrin.h>
#define WL_LAT_TSC 1
#endif

#define WL_LAT_BUCKETS 304      /* 0..15 exact, then 8 per power of two to 2^40 */
#define WL_LAT_SLOTS   272      /* threads that may record (-t is at most 256) */
#define WL_LAT_EMPTY   200000   /* empty intervals timed for the overhead */
#define WL_LAT_MALLOC  0
#define WL_LAT_FREE    1

struct wl_lat_hist {
    uint64_t n, max;
    uint64_t count[WL_LAT_BUCKETS];
    uint64_t sum[WL_LAT_BUCKETS]; /* of the values in each bucket */
};

struct wl_lat_slot {
    _Alignas(64) struct wl_lat_hist h[2]; /* WL_LAT_MALLOC, WL_LAT_FREE */
};

static int wl_lat_on;                   /* --latency */
static double wl_lat_ns_per_tick = 1.0;
static WL_UNUSED double wl_lat_tsc_mhz;   /* TSC only */
static double wl_lat_resolution_ns;     /* the clock's usual step */
static struct wl_lat_slot *wl_lat_slots; /* WL_LAT_SLOTS of them, mmap'ed */
static _Atomic unsigned wl_lat_nslots;
static _Thread_local struct wl_lat_slot *wl_lat_mine;
static struct wl_lat_hist wl_lat_empty;  /* the overhead */

/* The start of an interval: once what came before has finished, and
 * before what follows begins. */
static inline __attribute__((always_inline)) uint64_t wl_lat_start(void)
{
#ifdef WL_LAT_TSC
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

#ifdef WL_LAT_TSC
#define WL_LAT_RAW() __rdtsc()
#else
#define WL_LAT_RAW() wl_lat_start()
#endif

/* The end of an interval: once what came before has finished. */
static inline __attribute__((always_inline)) uint64_t wl_lat_stop(void)
{
#ifdef WL_LAT_TSC
    _mm_lfence();
    return __rdtsc();
#else
    return wl_lat_start();
#endif
}

static inline unsigned wl_lat_bucket(uint64_t ns)
{
    if (ns < 16)
        return (unsigned)ns;
    if (ns >= (1ull << 40))
        return WL_LAT_BUCKETS - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* 4..39 */
    return 8u * (e - 2u) + (unsigned)((ns >> (e - 3u)) & 7u);
}

/* The value a bucket stands for: the mean of the values in it (within its
 * range; exact when they are all one value, as they often are with a clock
 * that moves in steps). */
static uint64_t wl_lat_bucket_value(const struct wl_lat_hist *h, unsigned b)
{
    return (h->sum[b] + h->count[b] / 2) / h->count[b];
}

static inline void wl_lat_add(struct wl_lat_hist *h, uint64_t ticks)
{
    if ((int64_t)ticks < 0) /* the thread moved to a CPU whose TSC is behind */
        ticks = 0;
    uint64_t ns = (uint64_t)((double)ticks * wl_lat_ns_per_tick + 0.5);
    unsigned b = wl_lat_bucket(ns);
    h->count[b]++;
    h->sum[b] += ns;
    h->n++;
    if (ns > h->max)
        h->max = ns;
}

static __attribute__((noinline, cold)) struct wl_lat_slot *wl_lat_claim(void)
{
    unsigned i = atomic_fetch_add_explicit(&wl_lat_nslots, 1, memory_order_relaxed);
    if (i >= WL_LAT_SLOTS)
        wl_fail("--latency: more than %d threads recorded", WL_LAT_SLOTS);
    wl_lat_mine = &wl_lat_slots[i];
    return wl_lat_mine;
}

static inline __attribute__((always_inline)) void wl_lat_record(int op, uint64_t ticks)
{
    struct wl_lat_slot *s = wl_lat_mine;
    if (__builtin_expect(s == NULL, 0))
        s = wl_lat_claim();
    wl_lat_add(&s->h[op], ticks);
}

static inline __attribute__((always_inline)) void *wl_malloc_lat(size_t n, const int timed)
{
    if (!timed)
        return wl_malloc(n);
    uint64_t t0 = wl_lat_start();
    void *p = malloc(n);
    uint64_t t1 = wl_lat_stop();
    wl_lat_record(WL_LAT_MALLOC, t1 - t0);
    if (__builtin_expect(p == NULL, 0))
        wl_fail("malloc(%zu) returned NULL (errno %d)", n, errno);
    wl_track((int64_t)n);
    return p;
}

static inline __attribute__((always_inline)) void wl_free_lat(void *p, size_t n, const int timed)
{
    if (!timed) {
        wl_free(p, n);
        return;
    }
    wl_track(-(int64_t)n);
    uint64_t t0 = wl_lat_start();
    free(p);
    uint64_t t1 = wl_lat_stop();
    wl_lat_record(WL_LAT_FREE, t1 - t0);
}

/* --latency: the slots, the clock's rate, the overhead. */
static void wl_lat_init(void)
{
    void *m = mmap(NULL, WL_LAT_SLOTS * sizeof(struct wl_lat_slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        wl_fail("--latency: mmap of the histograms failed (errno %d)", errno);
    wl_lat_slots = m;
#ifdef WL_LAT_TSC
    /* The TSC's rate: ticks over 50 ms of CLOCK_MONOTONIC, busy-waiting. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t t0 = wl_lat_start(), t1;
    double ns;
    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
        t1 = wl_lat_start();
        ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    } while (ns < 50e6);
    if (t1 <= t0)
        wl_fail("--latency: the TSC did not advance");
    wl_lat_ns_per_tick = ns / (double)(t1 - t0);
    wl_lat_tsc_mhz = 1e3 / wl_lat_ns_per_tick;
#endif
    /* The clock's resolution: the most common step between two reads that
     * differ (plain reads, no fences: as close together as they come; not
     * the smallest, which a clock that mostly moves in steps may undercut
     * now and then). */
    static unsigned steps[1024];
    unsigned step = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t r0 = WL_LAT_RAW(), r1;
        while ((r1 = WL_LAT_RAW()) == r0)
            ;
        if (r1 > r0 && r1 - r0 < 1024)
            steps[r1 - r0]++;
    }
    for (unsigned d = 1; d < 1024; d++)
        if (steps[d] > steps[step])
            step = d;
    wl_lat_resolution_ns = (double)step * wl_lat_ns_per_tick;
    for (unsigned i = 0; i < WL_LAT_EMPTY; i++) {
        uint64_t e0 = wl_lat_start();
        uint64_t e1 = wl_lat_stop();
        wl_lat_add(&wl_lat_empty, e1 - e0);
    }
    wl_lat_on = 1;
}

/* The value at quantile num/1000 (rank ceil(n * num / 1000)), at most the max. */
static uint64_t wl_lat_quantile(const struct wl_lat_hist *h, unsigned num)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (h->n * num + 999) / 1000, seen = 0;
    if (rank == 0)
        rank = 1;
    for (unsigned b = 0; b < WL_LAT_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= rank) {
            uint64_t v = wl_lat_bucket_value(h, b);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

static void wl_lat_report(void)
{
    static struct wl_lat_hist all[2];
    unsigned used = atomic_load_explicit(&wl_lat_nslots, memory_order_acquire);
    for (unsigned i = 0; i < used && i < WL_LAT_SLOTS; i++)
        for (int op = 0; op < 2; op++) {
            const struct wl_lat_hist *h = &wl_lat_slots[i].h[op];
            all[op].n += h->n;
            if (h->max > all[op].max)
                all[op].max = h->max;
            for (unsigned b = 0; b < WL_LAT_BUCKETS; b++) {
                all[op].count[b] += h->count[b];
                all[op].sum[b] += h->sum[b];
            }
        }
    static const char *const key[2] = { "lat_malloc_ns", "lat_free_ns" };
    for (int op = 0; op < 2; op++)
        printf("%s %" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", key[op],
               wl_lat_quantile(&all[op], 500), wl_lat_quantile(&all[op], 990),
               wl_lat_quantile(&all[op], 999), all[op].max);
    printf("lat_overhead_ns %" PRIu64 ",%" PRIu64 "\n", wl_lat_quantile(&wl_lat_empty, 500),
           wl_lat_quantile(&wl_lat_empty, 990));
    printf("lat_samples_malloc %" PRIu64 "\n", all[WL_LAT_MALLOC].n);
    printf("lat_samples_free %" PRIu64 "\n", all[WL_LAT_FREE].n);
#ifdef WL_LAT_TSC
    printf("lat_clock tsc\n");
    printf("lat_tsc_mhz %.1f\n", wl_lat_tsc_mhz);
#else
    printf("lat_clock clock_gettime\n");
#endif
    printf("lat_resolution_ns %.1f\n", wl_lat_resolution_ns);
    printf("lat_sampling every-call\n");
}

#endif /* WL_LATENCY */

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
#ifdef WL_LATENCY
    fprintf(stderr, "usage: %s [-n N] [-t THREADS] [--quick] [--only SIZE] [--latency]\n",
            wl_name);
#else
    fprintf(stderr, "usage: %s [-n N] [-t THREADS] [--quick] [--only SIZE]\n", wl_name);
#endif
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
#ifdef WL_LATENCY
    int latency = 0;
#endif
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
#ifdef WL_LATENCY
        } else if (strcmp(argv[i], "--latency") == 0) {
            latency = 1;
#endif
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", name, argv[i]);
            wl_usage(NULL);
        }
    }
    if (a.n == 0)
        a.n = a.quick ? quick : full;
#ifdef WL_LATENCY
    if (latency)
        wl_lat_init();
#endif
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
#ifdef WL_LATENCY
    if (wl_lat_on)
        wl_lat_report();
#endif
    fflush(stdout);
}

#endif /* BENCH_WORKLOAD_H */
