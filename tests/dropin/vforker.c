/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vforker.c — a program on kmem's drop-in malloc whose vfork() child ends
 * with _exit (which kmem's library provides): the child shares its
 * parent's memory, and must leave the parent's published statistics
 * alone. Allocates, vforks, then keeps allocating for SECONDS while
 * tests/export/run.sh watches its record.
 *
 *   vforker [SECONDS]   (default 2)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2;
    for (int i = 0; i < 5000; i++)
        free(malloc((size_t)(16 + i % 3000)));
    struct timespec pause = { 0, 200 * 1000000L };
    nanosleep(&pause, NULL);
    pid_t child = vfork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    printf("vforked %d\n", (int)child);
    fflush(stdout);
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < 1000; i++)
            free(malloc((size_t)(16 + i % 3000)));
        nanosleep(&pause, NULL);
    }
    return 0;
}
