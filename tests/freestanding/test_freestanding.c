/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_freestanding.c — kmem built freestanding (no OS, no thread caches)
 * over a static region with this program's hooks, on the host: the
 * checks that need no OS (suite.h, which baremetal/ runs on an emulated
 * RISC-V machine too), then two threads contending for the locks (the
 * wait hook is absent, so they spin).
 */
#define _GNU_SOURCE
#include <kmem_freestanding.h>

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "suite.h"

enum { REGION = 64 << 20 };
static char region[REGION] __attribute__((aligned(4096)));

static void hook_write(const char *text, size_t len)
{
    ssize_t n = write(2, text, len);
    (void)n;
}

static void hook_abort(void)
{
    abort();
}

static uint64_t hook_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile size_t decommitted;

static void hook_decommit(void *addr, size_t len)
{
    decommitted += len;
    madvise(addr, len, MADV_DONTNEED);
}

static const struct kmem_hooks hooks = {
    .write_error = hook_write,
    .abort = hook_abort,
    .now_ns = hook_now,
    .decommit = hook_decommit,
    .decommit_zeroes = 1,
    .region_zeroed = 1,
    .seed = 12345,
};

struct slot {
    char *p;
    size_t size;
    uint64_t tag;
};

static void write_report(const char *text, size_t len)
{
    fwrite(text, 1, len, stdout);
}

static void sleep_ms(unsigned ms)
{
    usleep(ms * 1000u);
}

static void *worker(void *arg)
{
    struct rng r = rng_make((uint64_t)(uintptr_t)arg);
    static __thread struct slot live[64];
    for (int op = 0; op < 100000; op++) {
        struct slot *s = &live[rng_below(&r, 64)];
        if (s->p == NULL) {
            s->size = rng_below(&r, 3000);
            s->p = kmem_malloc(s->size, M_FS, KM_WAITOK);
            s->tag = rng_next(&r);
            pattern_fill(s->p, s->size, s->tag);
        } else {
            CHECK(pattern_check(s->p, s->size, s->tag) == (size_t)-1, "thread block corrupt");
            kmem_free(s->p, M_FS);
            s->p = NULL;
        }
    }
    for (int i = 0; i < 64; i++)
        if (live[i].p != NULL)
            kmem_free(live[i].p, M_FS);
    return NULL;
}

int main(void)
{
    uint64_t seed = test_seed(1988);
    REQUIRE(kmem_freestanding_init(region, REGION, &hooks) == KMEM_OK, "init");
    CHECK_EQ(kmem_freestanding_init(region, REGION, &hooks), KMEM_ERR_BUSY);

    struct fs_host host = { region, REGION, &hooks, write_report, sleep_ms, &decommitted,
                            seed, test_env_long("KMEM_TEST_OPS", 200000) };
    int failed = fs_suite_run(&host);
    CHECK(failed == 0, "%d check(s) of suite.h failed", failed);

    /* Two threads contend for the locks. */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, worker, (void *)1);
    pthread_create(&t2, NULL, worker, (void *)2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    struct kmem_type_stats ts;
    kmem_type_stats(M_FS, &ts);
    CHECK_EQ(ts.inuse, 0);
    CHECK_EQ(ts.memuse, 0);
    CHECK_EQ(kmem_check(), 0);

    return test_finish("freestanding");
}
