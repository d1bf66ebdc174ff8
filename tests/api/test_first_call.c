/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_first_call.c — every entry point works as the first call a process
 * makes into kmem (kmem starts on first use, so a call that read the
 * arena's figures or the tunables before starting it would see zeros, or
 * have its setting overwritten by the start).
 *
 * The parent never calls kmem: each case runs in a forked child, whose
 * first kmem call is the one tested, and exits 0 when it behaved.
 */
#define _GNU_SOURCE
#include <kmem.h>

#include <sys/wait.h>
#include <time.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_FIRST, "first", "first-call test");

typedef int case_fn(void);

static int aligned_8k_waitok(void)
{
    void *p = kmem_malloc_aligned(100, 8192, M_FIRST, KM_WAITOK);
    return p != NULL && ((uintptr_t)p & 8191) == 0 ? 0 : 1;
}

static int aligned_1g_nowait(void)
{
    void *p = kmem_malloc_aligned(1, (size_t)1 << 30, M_FIRST, KM_NOWAIT);
    if (p == NULL || ((uintptr_t)p & (((uintptr_t)1 << 30) - 1)) != 0)
        return 1;
    kmem_free(p, M_FIRST);
    return kmem_check();
}

static int aligned_small(void)
{
    void *p = kmem_malloc_aligned(24, 64, M_FIRST, KM_NOWAIT);
    return p != NULL && ((uintptr_t)p & 63) == 0 ? 0 : 1;
}

static uint64_t decommits(void)
{
    struct kmem_arena_stats as;
    return kmem_arena_stats(&as) == KMEM_OK ? as.decommit_calls : 0;
}

/* kmem_set_decay_ms before kmem started: the start must not put the
 * default back. Freed pages unused for 50 ms go back at the next pass; at
 * the default (a second) they would not after 300 ms. */
static int decay_set_first(void)
{
    kmem_set_decay_ms(50);
    void *p = kmem_malloc(1 << 20, M_FIRST, KM_WAITOK);
    memset(p, 1, 1 << 20);
    kmem_free(p, M_FIRST);
    uint64_t before = decommits();
    struct timespec ts = { 0, 300 * 1000000L };
    nanosleep(&ts, NULL);
    kmem_maintain();
    return decommits() > before ? 0 : 1;
}

static int limit_set_first(void)
{
    if (kmem_type_setlimit(M_FIRST, 8192) != KMEM_OK)
        return 1;
    void *a = kmem_malloc(4096, M_FIRST, KM_NOWAIT);
    void *b = kmem_malloc(4096, M_FIRST, KM_NOWAIT);
    void *c = kmem_malloc(4096, M_FIRST, KM_NOWAIT);
    return a != NULL && b != NULL && c == NULL ? 0 : 1;
}

static int realloc_null_first(void)
{
    char *p = kmem_realloc(NULL, 100, M_FIRST, KM_NOWAIT);
    return p != NULL && kmem_usable_size(p) >= 100 ? 0 : 1;
}

static int stats_first(void)
{
    struct kmem_type_stats ts;
    if (kmem_type_stats(M_FIRST, &ts) != KMEM_OK || ts.inuse != 0 || ts.calls != 0)
        return 1;
    struct kmem_bucket_stats bs;
    if (kmem_bucket_stats(1, &bs) != KMEM_OK || bs.size != 16)
        return 1;
    return 0;
}

static void discard(void *arg, const char *text, size_t len)
{
    (void)text;
    *(size_t *)arg += len;
}

static int stats_print_first(void)
{
    size_t len = 0;
    kmem_stats_print(discard, &len, 0);
    return len > 0 ? 0 : 1;
}

static int idle_calls_first(void)
{
    kmem_thread_flush();
    kmem_maintain();
    if (kmem_trim() != 0 || kmem_check() != 0 || kmem_usable_size(NULL) != 0)
        return 1;
    void *p = kmem_malloc(64, M_FIRST, KM_NOWAIT);
    return p != NULL && kmem_check() == 0 ? 0 : 1;
}

static int memory_limit_first(void)
{
    if (kmem_set_memory_limit(4 << 20) != KMEM_OK)
        return 1;
    void *p = kmem_malloc(8 << 20, M_FIRST, KM_NOWAIT);
    return p == NULL ? 0 : 1;
}

static int init_after_use(void)
{
    void *p = kmem_malloc(10, M_FIRST, KM_NOWAIT);
    struct kmem_options o = { 0 };
    return p != NULL && kmem_init(&o) == KMEM_ERR_BUSY ? 0 : 1;
}

static void run_case(const char *name, case_fn *fn)
{
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0)
        _exit(fn());
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid");
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CHECK(ok, "%s as the first call: %s %d", name,
          WIFEXITED(status) ? "exit status" : "killed by signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    printf("  %-44s %s\n", name, ok ? "ok" : "FAILED");
}

int main(void)
{
    run_case("kmem_malloc_aligned(100, 8192, WAITOK)", aligned_8k_waitok);
    run_case("kmem_malloc_aligned(1, 1 GiB, NOWAIT)", aligned_1g_nowait);
    run_case("kmem_malloc_aligned(24, 64, NOWAIT)", aligned_small);
    run_case("kmem_set_decay_ms(50)", decay_set_first);
    run_case("kmem_type_setlimit", limit_set_first);
    run_case("kmem_realloc(NULL, 100)", realloc_null_first);
    run_case("kmem_type_stats, kmem_bucket_stats", stats_first);
    run_case("kmem_stats_print", stats_print_first);
    run_case("flush, maintain, trim, check, usable_size", idle_calls_first);
    run_case("kmem_set_memory_limit", memory_limit_first);
    run_case("kmem_init after first use: busy", init_after_use);
    return test_finish("test_first_call");
}
