/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_fork_interrupted.c — fork() from inside kmem, as a signal handler
 * that interrupted an allocation does it (core/alloc/fork.c). Each case
 * stops an operation half way by hand, at a step where a signal could
 * have stopped it, forks from the same thread, and lets the child
 * allocate and free blocks of that bucket (contents kept, no two blocks
 * sharing a byte) and run kmem_check; the parent then finishes the
 * operation and checks its own heap.
 *
 *   a take from a slab's free list, its first piece already claimed
 *   a give to the bucket done, the cache's stack not yet moved
 *   a large block's free, its pages unmarked, no free run made yet
 *   another thread in the bucket, waiting for the arena this one holds
 *     (before the fix, fork() waited for that bucket for ever)
 */
#define _GNU_SOURCE
#include <kmem.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>

#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/tcache/tcache.h"

#include "harness.h"

KMEM_TYPE_DEFINE(M_FORK, "fork", "fork from inside kmem");

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* In the child: blocks of `size` and a few large ones, filled, checked
 * and freed. Returns the exit status. */
static int child_work(size_t size)
{
    enum { N = 3000, LARGE = 8 };
    static void *p[N + LARGE];
    size_t len[N + LARGE];
    int bad = 0;
    for (int i = 0; i < N + LARGE; i++) {
        len[i] = i < N ? size : (size_t)(i - N + 1) * 40000;
        p[i] = kmem_malloc(len[i], M_FORK, KM_NOWAIT);
        if (p[i] == NULL) {
            fprintf(stderr, "child: block %d of %zu bytes: NULL\n", i, len[i]);
            return 2;
        }
        memset(p[i], i & 0xff, len[i]);
    }
    for (int i = 0; i < N + LARGE; i++)
        for (size_t k = 0; k < len[i]; k += 61)
            if (((unsigned char *)p[i])[k] != (i & 0xff)) {
                fprintf(stderr, "child: block %d (%p) overwritten at %zu\n", i, p[i], k);
                bad = 1;
                break;
            }
    static void *sorted[N + LARGE];
    memcpy(sorted, p, sizeof sorted);
    qsort(sorted, N + LARGE, sizeof *sorted, cmp_ptr);
    for (int i = 0; i + 1 < N + LARGE; i++)
        if ((char *)sorted[i] + kmem_usable_size(sorted[i]) > (char *)sorted[i + 1]) {
            fprintf(stderr, "child: blocks %p and %p overlap\n", sorted[i], sorted[i + 1]);
            bad = 1;
        }
    for (int i = 0; i < N + LARGE; i++)
        kmem_free(p[i], M_FORK);
    int problems = kmem_check();
    if (problems != 0) {
        fprintf(stderr, "child: kmem_check found %d problem(s)\n", problems);
        bad = 1;
    }
    return bad;
}

/* Fork now; the child runs child_work(size). Returns the child's pid. */
static pid_t fork_child(size_t size)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork");
    if (pid == 0)
        _exit(child_work(size));
    return pid;
}

static void expect_child(pid_t pid, const char *what)
{
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d", what,
          WIFEXITED(status) ? "exited with" : "killed by signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    CHECK(kmem_check() == 0, "%s: the parent's heap after", what);
}

/* Leave bucket b with slabs whose free lists hold pieces (every other
 * block freed, the caches emptied onto the slabs); the live half is
 * returned for freeing later. */
static void **half_free(size_t size, int n)
{
    void **live = calloc((size_t)n, sizeof *live);
    REQUIRE(live != NULL, "calloc");
    for (int i = 0; i < n; i++)
        live[i] = kmem_malloc(size, M_FORK, KM_WAITOK);
    for (int i = 0; i < n; i += 2) {
        kmem_free(live[i], M_FORK);
        live[i] = NULL;
    }
    kmem_trim();
    return live;
}

static void free_all(void **live, int n)
{
    for (int i = 0; i < n; i++)
        kmem_free(live[i], M_FORK);
    free(live);
}

/* A take from a slab's free list: its first piece already carries the
 * key a cached piece carries, the list's head not yet moved. */
static void test_take_stopped(void)
{
    const size_t size = 48;
    unsigned b = kmem_request_bucket(size);
    void **live = half_free(size, 2000);
    kmem_bucket_lock(b);
    struct kmem_bucket *kb = &kmem_buckets[b];
    REQUIRE(kb->kb_partial != 0, "bucket %u has no slab with free pieces", b);
    struct kmem_page *d = kmem_page_of(kb->kb_partial - 1);
    uintptr_t *w = (uintptr_t *)((char *)kmem_page_addr(kb->kb_partial - 1) +
                                 (size_t)d->ku_freehead * kmem_classes[b].kc_size);
    uintptr_t mark = w[1];
    w[1] = kmem_piece_key(w);
    pid_t pid = fork_child(size);
    w[1] = mark;
    kmem_bucket_unlock(b);
    expect_child(pid, "a take stopped half way");
    free_all(live, 2000);
}

/* A give from this thread's cache to the bucket: the pieces are in the
 * bucket (its transfer cache, then slabs), the cache still lists them. */
static void test_give_stopped(void)
{
    const size_t size = 96;
    unsigned b = kmem_request_bucket(size);
    void **live = half_free(size, 4000);
    enum { N = 1500 }; /* enough that the transfer cache fills too */
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = kmem_malloc(size, M_FORK, KM_WAITOK);
    for (int i = 0; i < N; i++)
        kmem_free(p[i], M_FORK);
    struct kmem_tbin *bin = &kmem_tcache_self()->tc_bins[b];
    uint32_t n = (uint32_t)(bin->tb_sp - bin->tb_low);
    REQUIRE(n > 0, "the cache holds no piece of bucket %u", b);
    kmem_bucket_lock(b);
    uint32_t to_slabs = kmem_bucket_give_locked(b, bin->tb_low, n);
    printf("give stopped: %u pieces given, %u onto slabs\n", n, to_slabs);
    pid_t pid = fork_child(size);
    bin->tb_sp = bin->tb_low; /* the rest of the give */
    kmem_bucket_unlock(b);
    expect_child(pid, "a give stopped half way");
    free_all(live, 4000);
}

/* A large block's free: its pages unmarked, no free run made of them. */
static void test_large_free_stopped(void)
{
    const size_t size = 300000;
    void *keep = kmem_malloc(size, M_FORK, KM_WAITOK);
    void *block = kmem_malloc(size, M_FORK, KM_WAITOK);
    void *after = kmem_malloc(size, M_FORK, KM_WAITOK);
    uint32_t page = kmem_page_index(block);
    struct kmem_page *d = kmem_page_of(page);
    uint32_t npages = d->ku_word;
    struct kmem_page *saved = calloc(npages, sizeof *saved);
    REQUIRE(saved != NULL && npages > 1, "block of %u pages", npages);
    kmem_lock_acquire(&kmem_arena.ka_lock);
    memcpy(saved, d, npages * sizeof *d);
    memset(d, 0, npages * sizeof *d);
    pid_t pid = fork_child(64);
    memcpy(d, saved, npages * sizeof *d);
    kmem_lock_release(&kmem_arena.ka_lock);
    free(saved);
    expect_child(pid, "a large block's free stopped half way");
    kmem_free(block, M_FORK);
    kmem_free(keep, M_FORK);
    kmem_free(after, M_FORK);
}

/* Another thread takes a bucket's lock and, carving a slab, waits for
 * the arena, which this thread holds when it forks. */
static int stage; /* 1: the thread has its cache; 2: the arena is held */

static void *carve_one(void *arg)
{
    kmem_free(kmem_malloc(16, M_FORK, KM_WAITOK), M_FORK); /* its cache, made */
    __atomic_store_n(&stage, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    void *p = kmem_malloc(*(size_t *)arg, M_FORK, KM_WAITOK);
    kmem_free(p, M_FORK);
    return NULL;
}

static void test_other_thread_waits(void)
{
    size_t size = 3500; /* a bucket nothing here used before */
    unsigned b = kmem_request_bucket(size);
    REQUIRE(kmem_buckets[b].kb_slabs == 0, "bucket %u already has slabs", b);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, carve_one, &size) == 0, "pthread_create");
    while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
        sched_yield();
    kmem_lock_acquire(&kmem_arena.ka_lock);
    __atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
    /* Until the thread sleeps on the arena lock, holding the bucket's. */
    int waited = 0;
    while (!(__atomic_load_n(&kmem_arena.ka_lock.lk_word, __ATOMIC_RELAXED) & KMEM_LOCK_WAITERS) ||
           __atomic_load_n(&kmem_buckets[b].kb_lock.lk_word, __ATOMIC_RELAXED) == 0) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
        REQUIRE(++waited < 10000, "the thread never waited for the arena");
    }
    pid_t pid = fork_child(size);
    kmem_lock_release(&kmem_arena.ka_lock);
    REQUIRE(pthread_join(t, NULL) == 0, "pthread_join");
    expect_child(pid, "another thread in the bucket, waiting for the arena");
}

int main(void)
{
    alarm(120); /* a fork that waits for ever fails the test */
    test_take_stopped();
    test_give_stopped();
    test_large_free_stopped();
    test_other_thread_waits();
    return test_finish("test_fork_interrupted");
}
