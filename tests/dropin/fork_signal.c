/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork_signal.c — fork() from a signal handler that interrupted malloc or
 * free. kmem's policy (src/core/alloc/fork.c): the fork handler does not
 * wait for a lock the forking thread itself holds, nor long for any other;
 * the child rebuilds what the interrupted operation left half changed and
 * can allocate and free (the blocks that operation had in hand stay
 * unusable in the child). tests/internal/test_fork_interrupted.c stops
 * each kind of operation by hand; here a timer fires every 200 us while
 * the main thread allocates and frees blocks of all sizes; the handler
 * forks, and the child allocates, frees and exits at once. The test
 * passes when all children exit 0 and nothing deadlocks (alarm after
 * 120 s).
 *
 *   fork_signal [FORKS]   (default 300)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static volatile sig_atomic_t forks, failures;

static void on_timer(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0) {
        for (int k = 0; k < 50; k++) {
            void *p = malloc((size_t)(k * 211 % 20000) + 1);
            if (p == NULL)
                _exit(3);
            memset(p, k, (size_t)(k * 211 % 20000) + 1);
            free(p);
        }
        _exit(0);
    }
    if (pid > 0) {
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failures++;
        forks++;
    }
    errno = saved;
}

int main(int argc, char **argv)
{
    int want = argc > 1 ? atoi(argv[1]) : 300;
    alarm(120);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_timer;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    setitimer(ITIMER_PROF, &it, NULL);
    struct rng r = rng_make(test_seed(99));
    enum { LIVE = 256 };
    void *live[LIVE] = { 0 };
    while (forks < want) {
        int i = (int)rng_below(&r, LIVE);
        if (live[i] != NULL) {
            free(live[i]);
            live[i] = NULL;
        } else {
            size_t n = rng_below(&r, 4) == 0 ? rng_below(&r, 300000) : rng_below(&r, 2000);
            live[i] = malloc(n + 1);
            REQUIRE(live[i] != NULL, "malloc");
            ((char *)live[i])[n] = 1;
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_PROF, &off, NULL);
    for (int i = 0; i < LIVE; i++)
        free(live[i]);
    CHECK(failures == 0, "%d of %d children failed", (int)failures, (int)forks);
    printf("%d forks from a signal handler interrupting malloc/free\n", (int)forks);
    return test_finish("fork_signal");
}
