/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * phases.c — workload: resident memory over time, through phases, on one
 * thread (bench/run.py runs it once per allocator for its timeline chart,
 * not in the timed tables).
 *
 * Phases, in order (their numbers are in the timeline):
 *   0 grow    allocate blocks of random sizes, 16 B – 64 KiB log-uniform,
 *             until N bytes (-n; full 256 MiB, quick 32 MiB) are live
 *   1 shrink  free a random 90% of them
 *   2 steady  as many steps as grow allocated blocks: each frees a random
 *             live block and allocates a new one, so the level stays put
 *   3 idle    sleep 1 s, no calls: what the allocator gives back by time
 *   4 grow2   allocate again until N bytes are live
 *   5 free    free everything
 *   6 idle2   sleep 0.5 s
 *
 * A sampler thread, started first, reads the resident size from
 * /proc/self/statm (opened once, pread into a static buffer: it calls no
 * malloc) every 10 ms into a static array. At the end:
 *   rss_timeline ms:kib:phase,ms:kib:phase,...
 *   phase_names grow,shrink,steady,idle,grow2,free,idle2
 *   phase_ms T0,T1,...,T6,END     when each phase began, and the end
 *
 * Each block is filled and checked as in the other workloads (workload.h);
 * the checksum is the sum of every word read back, the same under any
 * allocator.
 */
#include "workload.h"

#include <fcntl.h>
#include <pthread.h>

#define FULL_BYTES  (256ull << 20)
#define QUICK_BYTES (32ull << 20)
#define MIN_SIZE    16u
#define MAX_SIZE    (64u << 10)
#define MAX_BLOCKS  (1u << 20)  /* ~8 GiB requested at the mean size */
#define MAX_SAMPLES (1u << 16)  /* 655 s at 10 ms */
#define PERIOD_NS   10000000L
#define NPHASES     7

struct blk {
    void *p;
    uint32_t n;
    uint64_t key;
};

struct sample {
    uint32_t ms, kib;
    uint8_t phase;
};

static struct blk blocks[MAX_BLOCKS];
static unsigned nblocks;
static uint64_t live, next_key, sum;
static wl_rng rng;

static struct sample samples[MAX_SAMPLES];
static unsigned nsamples;          /* the sampler's; read after the join */
static _Atomic int phase, stop;
static int statm_fd;
static long page_kib;
static struct timespec t_start;
static uint32_t phase_ms[NPHASES + 1];

static uint32_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)(ts.tv_sec - t_start.tv_sec) * 1000000000 +
                 (ts.tv_nsec - t_start.tv_nsec);
    return (uint32_t)(ns / 1000000);
}

/* The resident size, KiB: statm's second field (pages). */
static uint32_t rss_kib(void)
{
    static char buf[128];
    ssize_t k = pread(statm_fd, buf, sizeof buf - 1, 0);
    if (k <= 0)
        return 0;
    buf[k] = '\0';
    const char *s = buf;
    while (*s != ' ' && *s != '\0')
        s++;
    uint64_t pages = 0;
    for (s++; *s >= '0' && *s <= '9'; s++)
        pages = pages * 10 + (uint64_t)(*s - '0');
    return (uint32_t)(pages * (uint64_t)page_kib);
}

static void *sampler(void *arg)
{
    (void)arg;
    struct timespec next = t_start;
    for (;;) {
        int last = atomic_load(&stop);
        if (nsamples < MAX_SAMPLES) {
            struct sample *s = &samples[nsamples++];
            s->ms = ms_now();
            s->kib = rss_kib();
            s->phase = (uint8_t)atomic_load(&phase);
        }
        if (last)
            return NULL;
        next.tv_nsec += PERIOD_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
}

static void begin(int p)
{
    phase_ms[p] = ms_now();
    atomic_store(&phase, p);
}

static void add_block(void)
{
    if (nblocks == MAX_BLOCKS)
        wl_fail("more than %u blocks: -n is too large", MAX_BLOCKS);
    uint32_t n = (uint32_t)wl_logsize(&rng, MIN_SIZE, MAX_SIZE);
    struct blk *b = &blocks[nblocks++];
    b->p = wl_malloc(n);
    b->n = n;
    b->key = next_key++;
    wl_fill(b->p, n, b->key);
    live += n;
}

static void drop_block(unsigned i)
{
    struct blk *b = &blocks[i];
    sum += wl_check(b->p, b->n, b->key);
    wl_free(b->p, b->n);
    live -= b->n;
    *b = blocks[--nblocks];
}

static void idle(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    struct wl_args a = wl_parse(argc, argv, "phases", FULL_BYTES, QUICK_BYTES, 1);
    rng = wl_rng_seed(7);
    statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (statm_fd < 0)
        wl_fail("cannot open /proc/self/statm (errno %d)", errno);
    page_kib = sysconf(_SC_PAGESIZE) / 1024;
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    pthread_t th;
    if (pthread_create(&th, NULL, sampler, NULL) != 0)
        wl_fail("cannot start the sampler thread");

    begin(0);
    while (live < a.n)
        add_block();
    unsigned grown = nblocks;

    begin(1);
    for (unsigned k = grown - grown / 10; k > 0; k--)
        drop_block((unsigned)(wl_next(&rng) % nblocks));

    begin(2);
    for (unsigned k = 0; k < grown; k++) {
        drop_block((unsigned)(wl_next(&rng) % nblocks));
        add_block();
    }

    begin(3);
    idle(1000);

    begin(4);
    while (live < a.n)
        add_block();

    begin(5);
    while (nblocks > 0)
        drop_block(nblocks - 1);

    begin(6);
    idle(500);
    phase_ms[NPHASES] = ms_now();
    atomic_store(&stop, 1);
    pthread_join(th, NULL);

    printf("rss_timeline ");
    for (unsigned i = 0; i < nsamples; i++)
        printf("%s%u:%u:%u", i ? "," : "", samples[i].ms, samples[i].kib,
               (unsigned)samples[i].phase);
    printf("\nphase_names grow,shrink,steady,idle,grow2,free,idle2\nphase_ms ");
    for (unsigned i = 0; i <= NPHASES; i++)
        printf("%s%u", i ? "," : "", phase_ms[i]);
    printf("\n");
    wl_report(sum);
    return 0;
}
