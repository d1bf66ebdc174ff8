/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * steady.c — a program that, after its first few milliseconds, is served
 * by its thread caches alone: each thread allocates a working set of
 * mixed small sizes, then frees and allocates the same sizes again until
 * SECONDS have passed, never leaving its cache for the allocator's slow
 * path. tests/export/run.sh checks that it publishes all the same when it
 * runs threads (THREADS >= 2: the main thread starts them and waits), and
 * that alone (THREADS = 1: the main thread does the work and starts none)
 * it stays single-threaded, kmem adding no thread of its own.
 *
 *   steady THREADS SECONDS
 *
 * Prints "ready PID" once every thread has its working set, and "done N"
 * (the rounds made) at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SET 64

static double seconds;
static atomic_uint ready;
static atomic_ulong rounds;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *work(void *arg)
{
    (void)arg;
    void *set[SET];
    size_t size[SET];
    for (int i = 0; i < SET; i++) {
        size[i] = 16u + (size_t)(i * 37 % 1009);
        set[i] = malloc(size[i]);
        REQUIRE(set[i] != NULL, "malloc(%zu)", size[i]);
        memset(set[i], i, size[i]);
    }
    atomic_fetch_add(&ready, 1);
    double end = now() + seconds;
    unsigned long n = 0;
    do {
        for (int k = 0; k < 4096; k++, n++) {
            int i = (int)(n % SET);
            REQUIRE(((unsigned char *)set[i])[size[i] - 1] == (unsigned char)i,
                    "contents of a %zu-byte block changed", size[i]);
            free(set[i]);
            set[i] = malloc(size[i]);
            REQUIRE(set[i] != NULL, "malloc(%zu)", size[i]);
            memset(set[i], i, size[i]);
        }
    } while (now() < end);
    for (int i = 0; i < SET; i++)
        free(set[i]);
    atomic_fetch_add(&rounds, n);
    return NULL;
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 3, "usage: steady THREADS SECONDS");
    int threads = atoi(argv[1]);
    seconds = atof(argv[2]);
    REQUIRE(threads >= 1 && threads <= 64 && seconds > 0, "usage: steady THREADS SECONDS");
    setvbuf(stdout, NULL, _IONBF, 0);
    if (threads == 1) {
        printf("ready %ld\n", (long)getpid());
        work(NULL);
    } else {
        pthread_t t[64];
        for (int i = 0; i < threads; i++)
            REQUIRE(pthread_create(&t[i], NULL, work, NULL) == 0, "pthread_create");
        while (atomic_load(&ready) < (unsigned)threads)
            usleep(1000);
        printf("ready %ld\n", (long)getpid());
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
    }
    printf("done %lu\n", atomic_load(&rounds));
    return 0;
}
