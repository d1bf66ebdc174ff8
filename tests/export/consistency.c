/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * consistency.c — what a program publishes for other processes, read the
 * way kmemstat reads it (src/front/kmemstat/record.c), against what the
 * program sees of itself.
 *
 *   consistency threads        4 threads allocate and free (cross-thread
 *                              frees, large blocks, a limited type, more
 *                              types than thread-cache slots) while a reader
 *                              process takes 1000 snapshots: each must be
 *                              whole and add up; then, quiet, every figure
 *                              read from outside equals the one inside
 *   consistency many-threads   64 threads hold blocks, alive and quiet: the
 *                              published totals are exact
 *   consistency many-types     1100 types: all published, all exact
 *
 * Publishing is made immediate and fast (KMEM_EXPORT_DELAY_MS=0,
 * KMEM_EXPORT_HZ=1000) before kmem starts; KMEM_EXPORT_DIR must name a
 * private directory (tests/export/run.sh makes one). KMEM_TEST_SEED.
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "front/kmemstat/record.h"
#include "harness.h"
#include "platform/export_dir.h"

#define NTYPES 20
static const char *const names[NTYPES] = {
    "t00", "t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08", "t09",
    "t10", "t11", "t12", "t13", "t14", "t15", "t16", "t17", "t18", "t19",
};
static struct kmem_type types[NTYPES];
#define LIMITED 3

static char record_path[768];
static uint64_t seed;

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int read_own(struct record *r)
{
    char why[256];
    int rc = record_read(record_path, (long)getpid(), r, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "reading %s: %s\n", record_path, why);
    return rc;
}

/* Wait until the record exists and then for `copies` more copies. */
static void wait_copies(unsigned copies)
{
    struct record r;
    uint64_t first = 0;
    for (int i = 0; i < 5000; i++) {
        if (access(record_path, R_OK) == 0 && read_own(&r) == 0) {
            uint64_t n = r.rc_header->eh_publishes;
            record_release(&r);
            if (first == 0)
                first = n;
            else if (n >= first + copies)
                return;
        }
        pause_ms(2);
    }
    REQUIRE(0, "no new copy of %s within 10 s", record_path);
}

static const struct kmem_export_type *find_type(const struct record *r, const char *name)
{
    for (uint32_t i = 0; i < r->rc_header->eh_ntypes; i++)
        if (strcmp(r->rc_types[i].et_name, name) == 0)
            return &r->rc_types[i];
    return NULL;
}

/* Quiet: the record read from outside equals what kmem says inside. */
static void compare_inside(struct kmem_type *const *list, unsigned n, const char *when)
{
    wait_copies(2);
    struct record r;
    REQUIRE(read_own(&r) == 0, "%s: the record does not read", when);
    for (unsigned i = 0; i < n; i++) {
        struct kmem_type_stats ts;
        kmem_type_stats(list[i], &ts);
        const struct kmem_export_type *t = find_type(&r, kmem_type_name(list[i]));
        if (t == NULL && ts.calls == 0)
            continue; /* never used: not registered, not published */
        REQUIRE(t != NULL, "%s: type %s not published", when, kmem_type_name(list[i]));
        CHECK(t->et_inuse == ts.inuse && t->et_memuse == ts.memuse &&
                  t->et_calls == ts.calls && t->et_frees == ts.frees &&
                  t->et_requested == ts.requested && t->et_limit == ts.limit &&
                  t->et_limblocks == ts.limblocks && t->et_maxused == ts.maxused,
              "%s: type %s: outside inuse %" PRIu64 " memuse %" PRIu64 " calls %" PRIu64
              " frees %" PRIu64 " max %" PRIu64 "; inside %" PRIu64 " %" PRIu64 " %" PRIu64
              " %" PRIu64 " %" PRIu64, when, t->et_name, t->et_inuse, t->et_memuse,
              t->et_calls, t->et_frees, t->et_maxused, ts.inuse, ts.memuse, ts.calls, ts.frees,
              ts.maxused);
    }
    /* The buckets' own counts (inside) equal the types' (published). */
    for (uint32_t b = 0; b < r.rc_header->eh_nbuckets; b++) {
        struct kmem_bucket_stats bs;
        kmem_bucket_stats(b + 1, &bs);
        const struct kmem_export_bucket *e = &r.rc_buckets[b];
        CHECK(e->eb_inuse == bs.inuse && e->eb_free == bs.free &&
                  e->eb_requests == bs.requests && e->eb_slabs == bs.slabs,
              "%s: bucket %" PRIu64 ": outside in use %" PRIu64 " free %" PRIu64
              ", inside %" PRIu64 " %" PRIu64, when, e->eb_size, e->eb_inuse, e->eb_free,
              bs.inuse, bs.free);
    }
    struct kmem_arena_stats as;
    kmem_arena_stats(&as);
    const struct kmem_export_arena *a = &r.rc_header->eh_arena;
    CHECK(a->ea_small_inuse == as.small_inuse && a->ea_large_inuse == as.large_inuse &&
              a->ea_internal == as.internal && a->ea_large_blocks == as.large_blocks,
          "%s: arena outside small %" PRIu64 " large %" PRIu64 " own %" PRIu64
          ", inside %" PRIu64 " %" PRIu64 " %" PRIu64, when, a->ea_small_inuse,
          a->ea_large_inuse, a->ea_internal, as.small_inuse, as.large_inuse, as.internal);
    CHECK_EQ(kmem_check(), 0);
    printf("%s: %u types and %u buckets equal inside and out (copy %" PRIu64 ")\n", when,
           r.rc_header->eh_ntypes, r.rc_header->eh_nbuckets, r.rc_header->eh_publishes);
    record_release(&r);
}

/* ---- 4 threads and a reader -------------------------------------------------- */

#define WORKERS 4
#define LIVE    400

static int stop; /* [A] */
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;
    int type;
} handoff[256];
static unsigned handoff_n;

static size_t some_size(struct rng *r)
{
    unsigned k = (unsigned)rng_below(r, 100);
    if (k < 80)
        return 1 + rng_below(r, 512);
    if (k < 97)
        return 512 + rng_below(r, 8192);
    return 8192 + rng_below(r, 100000);
}

static void *worker(void *arg)
{
    struct rng r = rng_make(seed + (uint64_t)(intptr_t)arg);
    void *live[LIVE] = { 0 };
    int live_type[LIVE] = { 0 };
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        unsigned i = (unsigned)rng_below(&r, LIVE);
        if (live[i] == NULL) {
            int t = (int)rng_below(&r, NTYPES);
            live[i] = kmem_malloc(some_size(&r), &types[t], KM_NOWAIT);
            live_type[i] = t;
        } else if (rng_below(&r, 4) == 0) {
            /* Hand it to another thread to free. */
            pthread_mutex_lock(&handoff_lock);
            if (handoff_n < 256) {
                handoff[handoff_n].p = live[i];
                handoff[handoff_n].type = live_type[i];
                handoff_n++;
                live[i] = NULL;
            }
            pthread_mutex_unlock(&handoff_lock);
        } else {
            kmem_free(live[i], &types[live_type[i]]);
            live[i] = NULL;
        }
        pthread_mutex_lock(&handoff_lock);
        if (handoff_n > 0 && rng_below(&r, 2) == 0) {
            handoff_n--;
            kmem_free(handoff[handoff_n].p, &types[handoff[handoff_n].type]);
        }
        pthread_mutex_unlock(&handoff_lock);
    }
    /* Keep some, free the rest: the quiet program still holds memory. */
    for (unsigned i = 0; i < LIVE; i += 2)
        if (live[i] != NULL)
            kmem_free(live[i], &types[live_type[i]]);
    return NULL;
}

/* The reader: another process, as kmemstat is. */
static int reader(void)
{
    unsigned snapshots = 0, copies = 0;
    uint64_t last_copy = 0, calls_before[NTYPES] = { 0 };
    while (access(record_path, R_OK) != 0)
        pause_ms(1);
    for (int i = 0; i < 1000; i++) {
        struct record r;
        char why[256];
        if (record_read(record_path, (long)getppid(), &r, why, sizeof why) != 0) {
            fprintf(stderr, "reader: snapshot %d: %s\n", i, why);
            fflush(stdout);
            return 1;
        }
        snapshots++;
        const struct kmem_export_header *h = r.rc_header;
        if (h->eh_publishes < last_copy) {
            fprintf(stderr, "reader: copy %" PRIu64 " after %" PRIu64 "\n", h->eh_publishes,
                    last_copy);
            return 1;
        }
        copies += h->eh_publishes != last_copy;
        last_copy = h->eh_publishes;
        for (unsigned t = 0; t < NTYPES; t++) {
            const struct kmem_export_type *e = find_type(&r, names[t]);
            if (e == NULL)
                continue;
            if (e->et_calls < calls_before[t]) {
                fprintf(stderr, "reader: %s: allocations went down\n", names[t]);
                return 1;
            }
            calls_before[t] = e->et_calls;
        }
        record_release(&r);
        pause_ms(1);
    }
    printf("reader: %u snapshots, %u different copies, every one whole and adding up\n",
           snapshots, copies);
    fflush(stdout);
    return copies < 100 ? 2 : 0;
}

static void run_threads(void)
{
    fflush(stdout);
    pid_t child = fork();
    REQUIRE(child >= 0, "fork");
    if (child == 0)
        _exit(reader());
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        REQUIRE(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0, "thread");
    int status;
    REQUIRE(waitpid(child, &status, 0) == child, "waitpid");
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader failed (status %d)",
          status);
    struct kmem_type *list[NTYPES];
    for (int i = 0; i < NTYPES; i++)
        list[i] = &types[i];
    compare_inside(list, NTYPES, "quiet, after 4 threads");
    /* And once every block is gone. */
    while (handoff_n > 0) {
        handoff_n--;
        kmem_free(handoff[handoff_n].p, &types[handoff[handoff_n].type]);
    }
}

/* ---- 64 threads, alive and quiet ---------------------------------------------- */

static pthread_barrier_t held, release_them;

static void *holder(void *arg)
{
    int k = (int)(intptr_t)arg;
    /* Not the limited type: 64 threads would wait at its limit forever. */
    struct kmem_type *t = &types[k % NTYPES == LIMITED ? 0 : k % NTYPES];
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = kmem_malloc((size_t)(16 + (k * 37 + i * 11) % 3000), t, KM_WAITOK);
    for (int i = 0; i < 100; i += 3)
        kmem_free(p[i], t);
    pthread_barrier_wait(&held);
    pthread_barrier_wait(&release_them);
    return NULL;
}

static void run_many_threads(void)
{
    enum { N = 64 };
    pthread_t th[N];
    pthread_barrier_init(&held, NULL, N + 1);
    pthread_barrier_init(&release_them, NULL, N + 1);
    for (int i = 0; i < N; i++)
        REQUIRE(pthread_create(&th[i], NULL, holder, (void *)(intptr_t)i) == 0, "thread");
    pthread_barrier_wait(&held);
    struct kmem_type *list[NTYPES];
    for (int i = 0; i < NTYPES; i++)
        list[i] = &types[i];
    compare_inside(list, NTYPES, "64 live threads");
    pthread_barrier_wait(&release_them);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
}

/* ---- more types than a record starts with ------------------------------------ */

static void run_many_types(void)
{
    enum { N = 1100 };
    struct kmem_type *many = calloc(N, sizeof *many);
    struct kmem_type **list = calloc(N, sizeof *list);
    char (*label)[16] = calloc(N, sizeof *label);
    REQUIRE(many && list && label, "calloc");
    for (int i = 0; i < N; i++) {
        snprintf(label[i], sizeof label[i], "many%04d", i);
        struct kmem_type init = KMEM_TYPE_INITIALIZER(label[i], "one of many");
        many[i] = init;
        list[i] = &many[i];
        void *p = kmem_malloc((size_t)(1 + i * 7 % 5000), &many[i], KM_WAITOK);
        (void)p; /* held on purpose */
    }
    compare_inside(list, N, "1100 types");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "threads";
    setenv("KMEM_EXPORT_DELAY_MS", "0", 1);
    setenv("KMEM_EXPORT_HZ", "1000", 1);
    seed = test_seed(11);
    char dir[512];
    REQUIRE(getenv("KMEM_EXPORT_DIR") != NULL, "set KMEM_EXPORT_DIR to a private directory");
    REQUIRE(kmem_export_dir_path(dir, sizeof dir, getenv("KMEM_EXPORT_DIR")), "dir");
    snprintf(record_path, sizeof record_path, "%s/%ld.kmem", dir, (long)getpid());
    for (int i = 0; i < NTYPES; i++) {
        struct kmem_type init = KMEM_TYPE_INITIALIZER(names[i], "consistency test");
        types[i] = init;
    }
    kmem_type_setlimit(&types[LIMITED], 256 << 10);
    if (strcmp(mode, "threads") == 0)
        run_threads();
    else if (strcmp(mode, "many-threads") == 0)
        run_many_threads();
    else if (strcmp(mode, "many-types") == 0)
        run_many_types();
    else
        REQUIRE(0, "unknown mode %s", mode);
    return test_finish(mode);
}
