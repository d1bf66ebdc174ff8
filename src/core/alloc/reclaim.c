/*
 * reclaim.c — the background reclaimer (see reclaim.h).
 *
 * Why a thread at all: a program that frees a large peak and then waits
 * (or blocks in I/O) makes no calls into kmem, so nothing on the allocation
 * paths could notice that its free memory has gone idle. Why not always:
 * a second thread makes every program multi-threaded (glibc's stdio then
 * takes locks it skips in single-threaded programs), so by default it
 * starts only once the process holds kmem_settings.st_start_pages of idle
 * memory (KMEM_BACKGROUND=on starts it at once).
 *
 * The layers below never call up here: the allocator pokes the reclaimer
 * after the calls that can leave memory idle return.
 */
#include "core/alloc/reclaim.h"

#include "core/alloc/settings.h"
#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/tcache/tcache.h"
#include "platform/platform.h"

#define BG_IDLE    0 /* not started; may start */
#define BG_RUNNING 1
#define BG_NEVER   2 /* tuned off, or the platform has no threads */

static uint32_t bg_state; /* [A] */

static void background(void *arg)
{
    (void)arg;
    for (;;) {
        kmem_os_sleep_ms(kmem_settings.st_tick_ms);
        kmem_reclaim_pass();
    }
}

static void start(void)
{
    uint32_t idle = BG_IDLE;
    if (!__atomic_compare_exchange_n(&bg_state, &idle, BG_RUNNING, false, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED))
        return;
    if (!kmem_os_start_thread(background, NULL))
        __atomic_store_n(&bg_state, BG_NEVER, __ATOMIC_RELAXED);
}

void kmem_reclaim_start(void)
{
    if (kmem_settings.st_background == KMEM_BACKGROUND_OFF)
        __atomic_store_n(&bg_state, BG_NEVER, __ATOMIC_RELAXED);
    else if (kmem_settings.st_background == KMEM_BACKGROUND_ON)
        start();
}

void kmem_reclaim_poke(void)
{
    if (__atomic_load_n(&bg_state, __ATOMIC_RELAXED) != BG_IDLE)
        return;
    uint64_t idle = kmem_arena_dirty_pages() + kmem_buckets_empty_pages();
    if (idle > kmem_settings.st_start_pages)
        start();
}

void kmem_reclaim_pass(void)
{
    kmem_buckets_release_idle();
    kmem_arena_decay();
}

void kmem_reclaim_fork(enum kmem_fork_phase phase)
{
    /* The thread does not survive into the child: it may start again. */
    if (phase == KMEM_FORK_CHILD &&
        __atomic_load_n(&bg_state, __ATOMIC_RELAXED) == BG_RUNNING)
        __atomic_store_n(&bg_state, BG_IDLE, __ATOMIC_RELAXED);
}

size_t kmem_reclaim_all(void)
{
    if (kmem_arena.ka_npages == 0)
        return 0; /* not started */
    (void)kmem_tcache_flush(kmem_tcache_self()); /* purged below */
    kmem_buckets_reclaim(); /* their pages become dirty runs, purged next */
    return (size_t)(kmem_arena_purge_all() << KMEM_PAGE_SHIFT);
}
