/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * threads.h — what kmem's threaded tests share, beside harness.h (which it
 * includes): checks made inside a thread, starting and joining threads
 * (a join can have a deadline, so that a thread that never returns fails
 * the test instead of hanging it), and the size kmem gives a request, for
 * threads that account for what they hold.
 *
 * harness.h's CHECK counts into one unsynchronized counter, so a thread
 * checks with TCHECK into its own; main adds each thread's failures to
 * test_failures after joining it. Include after <kmem.h>, with
 * _GNU_SOURCE defined before any header (pthread_timedjoin_np).
 */
#ifndef KMEM_TEST_THREADS_H
#define KMEM_TEST_THREADS_H

#include <pthread.h>
#include <time.h>

#include "harness.h"

/* At most this many failed checks are printed per thread (all are counted). */
#define TCHECK_SHOWN 10

/* A check in a thread. `t` is the thread's own record: any struct with an
 * `int id` (printed) and an `int failures` (counted). */
#define TCHECK(t, cond, ...)                                                     \
    do {                                                                         \
        if (!(cond)) {                                                           \
            (t)->failures++;                                                     \
            if ((t)->failures <= TCHECK_SHOWN) {                                 \
                char msg_[256];                                                  \
                snprintf(msg_, sizeof msg_, __VA_ARGS__);                        \
                fprintf(stderr, "%s:%d: thread %d: CHECK(%s) failed: %s\n",      \
                        __FILE__, __LINE__, (t)->id, #cond, msg_);               \
            }                                                                    \
        }                                                                        \
    } while (0)

/* Start fn(arg) in a new thread; a thread that cannot be had ends the test. */
__attribute__((unused)) static void thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(th, NULL, fn, arg);
    REQUIRE(rc == 0, "pthread_create: %d", rc);
}

/* Wait for a thread to return; a failed join ends the test. */
__attribute__((unused)) static void thread_join(pthread_t th)
{
    int rc = pthread_join(th, NULL);
    REQUIRE(rc == 0, "pthread_join: %d", rc);
}

/* Wait at most `seconds` for a thread to return: 0 when it did, else
 * pthread_timedjoin_np's error (ETIMEDOUT). A thread that does not return
 * is left behind (exit() does not wait for it). */
__attribute__((unused)) static int thread_join_within(pthread_t th, int seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += seconds;
    return pthread_timedjoin_np(th, NULL, &deadline);
}

/* The bytes a request of `size` takes from its type: its bucket's size, or
 * whole pages above the largest bucket (what kmem_usable_size reports). */
static inline size_t test_request_size(size_t size)
{
    if (size <= KMEM_MAXALLOCSAVE)
        return kmem_bucket_size(kmem_bucket_index(size));
    return (size + KMEM_PAGE_SIZE - 1) & ~(KMEM_PAGE_SIZE - 1);
}

#endif /* KMEM_TEST_THREADS_H */
