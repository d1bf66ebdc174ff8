/* SPDX-License-Identifier: BSD-2-Clause */
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
 * The same thread publishes the statistics (export.c). A single-threaded
 * program gets it from its first slow path after the export delay; a
 * program with threads of its own has nothing left to lose by one more,
 * so it gets it when its second thread cache is made (it sleeps out the
 * delay) -- else a program whose caches serve every request after its
 * first second would never publish. Started for that, it reclaims only
 * once the rule above holds: reclaiming == 1.
 *
 * The layers below never call up here: the allocator pokes the reclaimer
 * after the calls that can leave memory idle return.
 */
#include "core/alloc/reclaim.h"

#include "core/alloc/export.h"
#include "core/alloc/settings.h"
#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/tcache/tcache.h"
#include "platform/platform.h"

#define BG_IDLE    0 /* not started; may start */
#define BG_RUNNING 1
#define BG_NEVER   2 /* not wanted, or the platform has no threads */

/* Held through a pass and through kmem_reclaim_all, so that kmem_trim
 * returns only once what a pass had in flight (empty slabs on their way
 * from a bucket to the arena, runs off the lists for their system call)
 * has gone back too. Taken before any other lock; guards no data, so a
 * fork child, whose background thread stayed behind, resets it rather
 * than fork() waiting for a pass. */
static kmem_lock reclaim_lock = KMEM_LOCK_INIT;

static uint32_t bg_state;   /* [A] */
static uint32_t reclaiming; /* [A] 1: the thread runs reclaim passes */

/* The thread: a reclaim pass every tick (unless KMEM_BACKGROUND=off,
 * when it runs only to publish), and the statistics record at its own
 * rate. */
static void background(void *arg)
{
    (void)arg;
    uint64_t tick = (uint64_t)kmem_settings.st_tick_ms * 1000000u;
    uint64_t every = (uint64_t)kmem_settings.st_export_interval_ms * 1000000u;
    uint64_t now = kmem_os_now_ns(), next_pass = now + tick, next_export = now;
    for (;;) {
        bool reclaim = __atomic_load_n(&reclaiming, __ATOMIC_RELAXED) != 0;
        bool exporting = kmem_export_enabled();
        uint64_t next = reclaim ? next_pass : UINT64_MAX;
        if (exporting && next_export < next)
            next = next_export;
        if (next == UINT64_MAX) {
            /* Nothing left to do: stop, so that a later start makes a
             * new thread -- unless one came meanwhile and found this one
             * still running (both sides store, then look: one sees the
             * other). */
            __atomic_store_n(&bg_state, BG_IDLE, __ATOMIC_SEQ_CST);
            uint32_t idle = BG_IDLE;
            if (__atomic_load_n(&reclaiming, __ATOMIC_SEQ_CST) == 0 ||
                !__atomic_compare_exchange_n(&bg_state, &idle, BG_RUNNING, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                return;
            continue;
        }
        now = kmem_os_now_ns();
        if (next > now)
            kmem_os_sleep_ms((uint32_t)((next - now + 999999u) / 1000000u));
        kmem_os_end_if_last_thread();
        now = kmem_os_now_ns();
        if (reclaim && now >= next_pass) {
            kmem_reclaim_pass();
            next_pass = now + tick;
        }
        if (exporting && now >= next_export) {
            kmem_export_publish();
            next_export = now + every;
        }
    }
}

static void start(bool reclaim)
{
    if (reclaim)
        __atomic_store_n(&reclaiming, 1, __ATOMIC_SEQ_CST);
    uint32_t idle = BG_IDLE;
    if (!__atomic_compare_exchange_n(&bg_state, &idle, BG_RUNNING, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return;
    if (!kmem_os_start_thread(background, NULL))
        __atomic_store_n(&bg_state, BG_NEVER, __ATOMIC_RELAXED);
}

void kmem_reclaim_start(void)
{
    if (kmem_settings.st_background == KMEM_BACKGROUND_OFF && !kmem_export_enabled())
        __atomic_store_n(&bg_state, BG_NEVER, __ATOMIC_RELAXED);
    else if (kmem_settings.st_background == KMEM_BACKGROUND_ON)
        start(true);
}

void kmem_reclaim_poke(void)
{
    uint32_t state = __atomic_load_n(&bg_state, __ATOMIC_RELAXED);
    bool reclaim = __atomic_load_n(&reclaiming, __ATOMIC_RELAXED) != 0;
    if (state == BG_NEVER || (state == BG_RUNNING && reclaim))
        return;
    /* Idle here with reclaiming set: a fork child, whose thread stayed
     * behind. Running without it: started to publish. */
    if (!reclaim && kmem_settings.st_background == KMEM_BACKGROUND_AUTO)
        reclaim = kmem_arena_dirty_pages() + kmem_buckets_empty_pages() >
                  kmem_settings.st_start_pages;
    if (reclaim)
        start(true);
    else if (state == BG_IDLE && kmem_export_due())
        start(false);
}

void kmem_reclaim_threaded(void)
{
    if (__atomic_load_n(&bg_state, __ATOMIC_RELAXED) == BG_IDLE && kmem_export_enabled())
        start(false);
}

void kmem_reclaim_pass(void)
{
    kmem_lock_acquire(&reclaim_lock);
    kmem_buckets_release_idle();
    kmem_arena_decay();
    kmem_lock_release(&reclaim_lock);
}

void kmem_reclaim_fork(enum kmem_fork_phase phase)
{
    /* The thread does not survive into the child: it may start again. */
    if (phase != KMEM_FORK_CHILD)
        return;
    kmem_lock_fork_child(&reclaim_lock);
    if (__atomic_load_n(&bg_state, __ATOMIC_RELAXED) == BG_RUNNING)
        __atomic_store_n(&bg_state, BG_IDLE, __ATOMIC_RELAXED);
}

size_t kmem_reclaim_all(void)
{
    if (kmem_arena.ka_npages == 0)
        return 0; /* not started */
    kmem_lock_acquire(&reclaim_lock); /* a pass under way finishes first */
    (void)kmem_tcache_flush(kmem_tcache_self()); /* purged below */
    kmem_buckets_reclaim(); /* their pages become dirty runs, purged next */
    size_t bytes = (size_t)(kmem_arena_purge_all() << KMEM_PAGE_SHIFT);
    kmem_lock_release(&reclaim_lock);
    return bytes;
}
