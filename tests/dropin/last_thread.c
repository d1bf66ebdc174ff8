/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * last_thread.c — a program whose threads all end with pthread_exit
 * while kmem's background thread runs: the main thread starts a worker
 * (a second thread cache, so kmem's thread starts to publish) and ends
 * with pthread_exit; the worker allocates for SECONDS (a large block each
 * round: slow paths, which start kmem's thread too), then ends the same
 * way. POSIX then ends the process with exit(0), at-exit handlers
 * included; kmem's thread must not keep it alive (it used to: a zombie
 * that even SIGTERM could not end, its parent waiting forever).
 *
 *   last_thread [SECONDS]     (run by tests/dropin/run.sh with a timeout)
 *
 * Prints "at exit: N blocks" from its at-exit handler.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double seconds = 1.5;
static unsigned long blocks;

static void at_exit(void)
{
    printf("at exit: %lu blocks\n", blocks);
    fflush(stdout);
}

static void *worker(void *arg)
{
    (void)arg;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    void *keep[256] = { 0 };
    do {
        for (int i = 0; i < 256; i++) {
            free(keep[i]);
            keep[i] = malloc(16 + (size_t)i * 8);
            REQUIRE(keep[i] != NULL, "malloc");
            memset(keep[i], i, 16);
            blocks++;
        }
        free(malloc(64 << 10)); /* a large block: a slow path every round */
        usleep(1000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) * 1e-9 <
             seconds);
    for (int i = 0; i < 256; i++)
        free(keep[i]);
    pthread_exit(NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        seconds = atof(argv[1]);
    REQUIRE(atexit(at_exit) == 0, "atexit");
    free(malloc(100)); /* the main thread's cache */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    pthread_exit(NULL);
}
