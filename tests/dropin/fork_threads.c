/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork_threads.c — fork() while other threads exchange batches with the
 * shared buckets. Four threads allocate and free blocks of a few small
 * sizes (filling and emptying their caches, so that batches go back and
 * forth all the time); four threads fork in a loop. Each child takes many
 * blocks of those sizes and checks that no address comes out twice and
 * that what it writes survives, then frees them all and runs kmem_check
 * (found with dlsym, so the program also runs on other allocators). A
 * cache whose batch went to the shared bucket just before the fork, but
 * which the child's copy still lists, would hand the same block out twice
 * in the child (or abort with a false "double free").
 *
 *   fork_threads [SECONDS]   (default 4; KMEM_TEST_SEED varies the sizes)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ALLOCATORS 4
#define FORKERS    4
#define LIVE       600   /* blocks each allocating thread keeps at most */
#define CHILD_TAKE 3000  /* blocks a child takes of each size */

static const size_t sizes[] = { 16, 48, 64, 128, 256 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

static volatile int stop;
static uint64_t seed;
static int child_failures, children, child_aborts;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void *allocator(void *arg)
{
    struct rng r = rng_make(seed + (uint64_t)(intptr_t)arg);
    void *live[LIVE] = { 0 };
    while (!stop) {
        /* Fill up and empty again: every cache batch crosses over. */
        size_t size = sizes[rng_below(&r, NSIZES)];
        for (int i = 0; i < LIVE; i++)
            live[i] = malloc(size);
        for (int i = 0; i < LIVE; i++) {
            free(live[i]);
            live[i] = NULL;
        }
    }
    return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* The child: returns its exit status. Uses no stdio before the checks
 * pass (a failure is reported in one write). */
static int child_main(void)
{
    static void *blocks[NSIZES * CHILD_TAKE];
    size_t n = 0;
    for (size_t s = 0; s < NSIZES; s++)
        for (int i = 0; i < CHILD_TAKE; i++) {
            void *p = malloc(sizes[s]);
            if (p == NULL)
                return 3;
            memset(p, (int)(n & 0xff), sizes[s]);
            blocks[n++] = p;
        }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = blocks[i];
        size_t size = sizes[i / CHILD_TAKE];
        for (size_t k = 0; k < size; k++)
            if (b[k] != (unsigned char)(i & 0xff)) {
                bad = 1;
                break;
            }
    }
    qsort(blocks, n, sizeof blocks[0], cmp_ptr);
    for (size_t i = 1; i < n; i++)
        if (blocks[i] == blocks[i - 1])
            bad = 2;
    if (bad != 0) {
        static const char msg[] = "child: a block was handed out twice or overwritten\n";
        (void)!write(2, msg, sizeof msg - 1);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        free(blocks[i]);
    int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "kmem_check");
    if (check != NULL && check() != 0)
        return 2;
    return 0;
}

static void *forker(void *arg)
{
    (void)arg;
    while (!stop) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child_main());
        REQUIRE(pid > 0, "fork failed");
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid");
        pthread_mutex_lock(&count_lock);
        children++;
        if (WIFSIGNALED(status))
            child_aborts++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            child_failures++;
        pthread_mutex_unlock(&count_lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 4.0;
    seed = test_seed(20261201);
    alarm(120);
    pthread_t a[ALLOCATORS], f[FORKERS];
    for (int i = 0; i < ALLOCATORS; i++)
        pthread_create(&a[i], NULL, allocator, (void *)(intptr_t)i);
    for (int i = 0; i < FORKERS; i++)
        pthread_create(&f[i], NULL, forker, NULL);
    struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
    nanosleep(&ts, NULL);
    stop = 1;
    for (int i = 0; i < FORKERS; i++)
        pthread_join(f[i], NULL);
    for (int i = 0; i < ALLOCATORS; i++)
        pthread_join(a[i], NULL);
    printf("%d children in %.1f s: %d aborted, %d found a block twice or a failed check\n",
           children, seconds, child_aborts, child_failures);
    CHECK(children > 0, "no child ran");
    CHECK_EQ(child_aborts, 0);
    CHECK_EQ(child_failures, 0);
    return test_finish("fork_threads");
}
