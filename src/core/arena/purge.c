/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * purge.c — giving free pages back to the system: the oldest dirty runs
 * go when unused for the decay time, or when more are kept than the dirty
 * limit allows, and all of them on request (see runs.h).
 */
#include "core/arena/arena.h"
#include "core/arena/runs.h"

#include "platform/platform.h"

#define A kmem_arena

/*
 * Give a dirty run's pages back to the system; it becomes clean. The arena
 * lock is dropped around the system call (a TLB shootdown on every CPU the
 * process runs on), so that other threads are not held up; meanwhile the
 * run is on no list and its first and last pages are marked busy, so that
 * neighbours freed meanwhile do not join it. Callers must not keep run
 * ids across a purge. Returns the pages given back.
 */
static uint32_t purge_run(uint32_t id)
{
    struct kmem_run *r = kmem_run(id);
    uint32_t page = r->rn_page, npages = r->rn_npages;
    kmem_run_unlink(id);
    kmem_run_count_free(KMEM_RUN_DIRTY, -(int64_t)npages);
    A.ka_busy_pages += npages;
    A.ka_busy_runs++;
    struct kmem_page busy = { KMEM_KIND_BUSY, 0, 0, npages };
    kmem_page_set(page, busy);
    kmem_page_set(page + npages - 1, busy);
    kmem_lock_release(&A.ka_lock);
    kmem_os_decommit(kmem_page_addr(page), (size_t)npages << KMEM_PAGE_SHIFT);
    kmem_lock_acquire(&A.ka_lock);
    A.ka_busy_pages -= npages;
    A.ka_busy_runs--;
    A.ka_decommit_calls++;
    A.ka_decommit_bytes += (uint64_t)npages << KMEM_PAGE_SHIFT;
    kmem_run_insert_free(page, npages, KMEM_RUN_CLEAN, id);
    return npages;
}

/* Purge the runs that are dirty now (not those freed while it runs). */
uint64_t kmem_arena_purge_all_locked(void)
{
    uint64_t limit = A.ka_free_pages[KMEM_RUN_DIRTY], pages = 0;
    while (A.ka_dirty_oldest != 0 && pages < limit)
        pages += purge_run(A.ka_dirty_oldest);
    return pages;
}

/* Make sure n run records are free for insert_free. Once every dirty run
 * has been purged, free runs alternate with used pages, so there are at
 * most npages/2 + 1 of them and records are left. May drop the lock. */
void kmem_arena_ensure_records(uint32_t n)
{
    if (A.ka_runs_unused + (A.ka_runs_max - A.ka_runs_used) < n)
        kmem_arena_purge_all_locked();
}

static uint64_t dirty_limit(void)
{
    if (A.ka_dirty_max != 0)
        return A.ka_dirty_max;
    uint64_t floor = KMEM_DIRTY_MIN_BYTES >> KMEM_PAGE_SHIFT;
    uint64_t share = (A.ka_large_pages + A.ka_slab_pages + A.ka_internal_pages) /
                     KMEM_DIRTY_FRACTION;
    return share > floor ? share : floor;
}

/* Purge the oldest dirty runs, at most max_runs of them, while there are
 * too many dirty pages, or while the oldest has not been reused for
 * longer than the decay time. */
void kmem_arena_enforce_dirty_limit(uint32_t max_runs)
{
    uint64_t limit = dirty_limit();
    uint32_t now = kmem_run_now_ms();
    for (uint32_t n = 0; n < max_runs && A.ka_dirty_oldest != 0 &&
                         (A.ka_free_pages[KMEM_RUN_DIRTY] > limit ||
                          now - kmem_run(A.ka_dirty_oldest)->rn_stamp >=
                              KMEM_RELAXED_LOAD(A.ka_decay_ms));
         n++)
        purge_run(A.ka_dirty_oldest);
}

void kmem_arena_decay(void)
{
    if (__atomic_load_n(&A.ka_dirty_oldest, __ATOMIC_RELAXED) == 0)
        return;
    kmem_lock_acquire(&A.ka_lock);
    kmem_arena_enforce_dirty_limit(UINT32_MAX);
    kmem_lock_release(&A.ka_lock);
}

uint64_t kmem_arena_dirty_pages(void)
{
    return __atomic_load_n(&A.ka_free_pages[KMEM_RUN_DIRTY], __ATOMIC_RELAXED);
}
