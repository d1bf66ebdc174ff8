/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * threads.h — the calling thread's cache, seen from the allocator: set up
 * on the thread's first request, handed back when the thread exits or
 * when a fork leaves its cache without its thread. The cache's block is
 * kmem's own memory (own.h).
 */
#ifndef KMEM_THREADS_H
#define KMEM_THREADS_H

#include "core/tcache/tcache.h"

/* The calling thread's cache if it can be used, setting it up on first
 * use; NULL if it cannot (built without caches, being torn down, after
 * the thread's exit, or no memory for it). */
struct kmem_tcache *kmem_thread_cache_start(void);
static inline struct kmem_tcache *kmem_thread_cache(void)
{
    if (!KMEM_THREAD_CACHE)
        return NULL; /* freestanding: every request takes the locked path */
    struct kmem_tcache *tc = kmem_tcache_self();
    if (__builtin_expect(tc->tc_state == KMEM_TC_ACTIVE, 1))
        return tc;
    return kmem_thread_cache_start();
}

/* Hand the calling thread's cached pieces back to the buckets. */
void kmem_threads_flush_self(void);

/* In a fork child: hand back the caches of the threads that did not
 * survive. */
void kmem_threads_fork_child(void);

#endif /* KMEM_THREADS_H */
