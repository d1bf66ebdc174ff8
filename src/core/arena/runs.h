/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * runs.h — inside the arena layer only: the free runs of pages, their
 * records and the age list of dirty ones (runs.c), and giving dirty runs
 * back to the system (purge.c). The layers above use arena.h.
 *
 * Invariants (arena lock free; kmem_arena_check tests them):
 *   every free page lies in exactly one run; a run's first and last pages
 *     (KMEM_KIND_FREE) name its record in ku_word, its other pages hold 0;
 *   no two runs of one state touch (they would have been joined);
 *   ka_free_pages[s] == sum of rn_npages over the runs of state s;
 *   a run is on bin list rn_bin == kmem_run_bin_of(rn_npages) of its state,
 *     and the bitmap bit of a bin is set exactly when its list is not empty;
 *   the dirty runs are on the age list, oldest first, and only they;
 *   ka_runs_live == runs on bin lists + ka_busy_runs.
 */
#ifndef KMEM_RUNS_H
#define KMEM_RUNS_H

#include "core/arena/layout.h"
#include "platform/platform.h"

static inline struct kmem_run *kmem_run(uint32_t id)
{
    return &kmem_arena.ka_runs[id];
}

/* Pages in runs of a state: written under the lock, read without it by the
 * reclaimer's threshold (kmem_arena_dirty_pages). */
static inline void kmem_run_count_free(unsigned state, int64_t delta)
{
    KMEM_RELAXED_STORE(kmem_arena.ka_free_pages[state],
                       kmem_arena.ka_free_pages[state] + (uint64_t)delta);
}

/* Milliseconds, for the ages of dirty runs (wraps; compared as
 * differences). */
static inline uint32_t kmem_run_now_ms(void)
{
    return (uint32_t)(kmem_os_now_ns() / 1000000u);
}

/* ---- runs.c -------------------------------------------------------------- */

/* The bin of a run of npages (>= 1) pages, and the smallest run in a bin:
 *   kmem_run_bin_min(b) <= n < kmem_run_bin_min(b + 1)  for b = bin_of(n). */
unsigned kmem_run_bin_of(uint32_t npages);
uint32_t kmem_run_bin_min(unsigned bin);

/* Put run id (its record filled in) on its bin list. */
void kmem_run_bin_insert(uint32_t id);

/* A record for a new run (0 when none is left), and giving one back. */
uint32_t kmem_run_record_take(void);
void kmem_run_record_release(uint32_t id);

/* The free run whose first or last page is `page` (which may be -1 or
 * past the end), or 0. */
uint32_t kmem_run_at_edge(uint32_t page);

/* Make record id the run [page, page+npages) of `state` (its pages'
 * descriptors already clear but for the two ends, which it writes), on
 * its bin list and, if dirty, the age list. Counts no pages. */
void kmem_run_place(uint32_t id, uint32_t page, uint32_t npages, unsigned state);

/* Make [page, page+npages) a free run of `state`, joining neighbours of
 * the same state; `spare` is a record the caller holds for it, or 0
 * (then at most one unused record is needed: kmem_arena_ensure_records).
 * Returns the run's record. */
uint32_t kmem_run_insert_free(uint32_t page, uint32_t npages, unsigned state, uint32_t spare);

/* A run of state s with at least npages pages, or 0. Found whenever a run
 * of at least kmem_run_bin_min(kmem_run_bin_of(npages) + 1) pages is free
 * (for npages <= 64, npages itself: those bins are exact); a shorter one
 * that fits only if it is among the first KMEM_RUN_FIND_WALK of its list. */
#define KMEM_RUN_FIND_WALK 8
uint32_t kmem_run_find(unsigned s, uint32_t npages);

/* Take the first npages pages of run id; returns the first page. */
uint32_t kmem_run_take(uint32_t id, uint32_t npages);

/* Take a run off every list it is on. */
void kmem_run_unlink(uint32_t id);

/* The dirty runs by age: a run that became dirty now, one to go first (as
 * if unused for the whole decay time), one leaving the list. */
void kmem_run_age_append(uint32_t id);
void kmem_run_age_backdate(uint32_t id);
void kmem_run_age_remove(uint32_t id);

/* ---- purge.c -------------------------------------------------------------- */

/* Purge the runs that are dirty now; returns the pages given back. May
 * drop the lock around each system call: callers keep no run ids across
 * it. */
uint64_t kmem_arena_purge_all_locked(void);

/* Make sure n run records are free for kmem_run_insert_free (purging
 * first if not: may drop the lock). */
void kmem_arena_ensure_records(uint32_t n);

/* Purge the oldest dirty runs, at most max_runs, while more pages are
 * dirty than the limit allows, or while the oldest has been unused for the
 * decay time. A free purges at most KMEM_PURGE_PER_FREE runs (and makes
 * at most one), so that its cost is bounded and a backlog still drains;
 * the reclaimer's pass (kmem_arena_decay, kmem_maintain) purges all that
 * is due. */
#define KMEM_PURGE_PER_FREE 2
void kmem_arena_enforce_dirty_limit(uint32_t max_runs);

/* ---- repair.c ------------------------------------------------------------- */

/* In a fork child whose parent's fork skipped the arena lock: rebuild the
 * run records, bins, age list and counts from the page descriptors. */
void kmem_arena_rebuild(void);

#endif /* KMEM_RUNS_H */
