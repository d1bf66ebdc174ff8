/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * threads.c — see threads.h.
 */
#include "core/alloc/threads.h"

#include "core/alloc/debug.h"

#include "core/alloc/own.h"
#include "core/alloc/reclaim.h"
#include "platform/platform.h"

/* Thread caches made, the forking thread's counted in a fork child. */
static uint32_t caches_made; /* [A] */

static void thread_exit(void *arg)
{
    bool to_slabs;
    size_t bytes = kmem_tcache_retire(arg, &to_slabs);
    if (bytes != 0)
        kmem_own_count_give(bytes);
    if (to_slabs)
        kmem_reclaim_poke();
}

struct kmem_tcache *kmem_thread_cache_start(void)
{
    struct kmem_tcache *tc = kmem_tcache_self();
    if (tc->tc_state != KMEM_TC_NEW)
        return NULL;
    if (kmem_debug_without_caches()) {
        /* KMEM_DEBUG: no cache, every request takes the slow path; the
         * thread still counts towards the background thread's start. */
        tc->tc_state = KMEM_TC_DEAD;
        if (__atomic_add_fetch(&caches_made, 1, __ATOMIC_RELAXED) >= 2)
            kmem_reclaim_threaded();
        return NULL;
    }
    size_t needed;
    size_t bytes = kmem_tcache_activate(tc, &needed);
    if (bytes == 0)
        return NULL;
    kmem_own_count_take(bytes, needed);
    if (__atomic_add_fetch(&caches_made, 1, __ATOMIC_RELAXED) >= 2)
        kmem_reclaim_threaded();
    /* This may allocate (a C library's key storage), on the cache now. */
    (void)kmem_os_at_thread_exit(thread_exit, tc);
    return tc;
}

void kmem_threads_flush_self(void)
{
    if (kmem_tcache_flush(kmem_tcache_self()))
        kmem_reclaim_poke();
}

void kmem_threads_fork_child(void)
{
    /* The child is this thread alone. With KMEM_DEBUG there are no caches
     * to count the threads lost by: each thread seen may have been one. */
    uint32_t seen = __atomic_load_n(&caches_made, __ATOMIC_RELAXED);
    if (kmem_debug_without_caches() && seen > 1)
        kmem_tcache_note_lost(seen - 1);
    __atomic_store_n(&caches_made, kmem_tcache_self()->tc_state == KMEM_TC_ACTIVE ? 1u : 0u,
                     __ATOMIC_RELAXED);
    size_t bytes;
    uint32_t lost = kmem_tcache_retire_lost(&bytes);
    for (uint32_t i = 0; i < lost; i++)
        kmem_own_count_give(bytes / lost);
}
