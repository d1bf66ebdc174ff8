/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork_stdio.c — fork() while other threads allocate and stdio is busy:
 * reader threads getline() long lines (each one a malloc/realloc under the
 * FILE's lock), a thread calls fflush(NULL) in a loop (taking stdio's list
 * lock, then each FILE's), and 4 threads fork in a loop. Each child
 * allocates, frees — including blocks its parent allocated before the
 * fork — and exits. An allocator that takes its locks in a fork handler
 * before stdio's list lock deadlocks here; the test must finish (it is
 * run with a time limit, and an alarm aborts it after 120 s).
 *
 *   fork_stdio [FORKS_PER_THREAD]   (default 200)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static volatile int stop;
static const char *path;
static int forks_per_thread = 200;
static char *before_fork[64];

static void *reader(void *arg)
{
    (void)arg;
    while (!stop) {
        FILE *f = fopen(path, "r");
        REQUIRE(f != NULL, "open %s", path);
        char *line = NULL;
        size_t cap = 0;
        while (!stop && getline(&line, &cap, f) > 0)
            ;
        free(line);
        fclose(f);
    }
    return NULL;
}

static void *flusher(void *arg)
{
    (void)arg;
    while (!stop)
        fflush(NULL);
    return NULL;
}

static void *forker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < forks_per_thread; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* The child: allocate, free, and free what the parent made. */
            for (int k = 0; k < 100; k++)
                free(malloc((size_t)(k * 97 % 5000) + 1));
            char *big = malloc(1 << 20);
            if (big == NULL)
                _exit(3);
            memset(big, 1, 1 << 20);
            free(big);
            free(before_fork[(id * 7 + i) % 64]);
            _exit(0);
        }
        REQUIRE(pid > 0, "fork");
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %d", pid, status);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        forks_per_thread = atoi(argv[1]);
    alarm(120); /* a deadlock ends as SIGALRM, a failure */
    char name[] = "/tmp/kmem-fork-stdio-XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0, "mkstemp");
    path = name;
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 200; i++) {
        int len = 1000 + (i * 7919) % 60000; /* long lines: getline reallocs */
        for (int k = 0; k < len; k++)
            fputc('a' + k % 26, f);
        fputc('\n', f);
    }
    fclose(f);
    for (int i = 0; i < 64; i++)
        before_fork[i] = malloc((size_t)(i + 1) * 100);

    pthread_t readers[2], flush, forkers[4];
    for (int i = 0; i < 2; i++)
        pthread_create(&readers[i], NULL, reader, NULL);
    pthread_create(&flush, NULL, flusher, NULL);
    for (int i = 0; i < 4; i++)
        pthread_create(&forkers[i], NULL, forker, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(forkers[i], NULL);
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(readers[i], NULL);
    pthread_join(flush, NULL);
    for (int i = 0; i < 64; i++)
        free(before_fork[i]);
    unlink(name);
    printf("%d forks from 4 threads while 2 threads getline() and one fflush(NULL)\n",
           4 * forks_per_thread);
    return test_finish("fork_stdio");
}
