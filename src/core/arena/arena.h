/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena.h — the arena: one reserved range of address space, a descriptor
 * per page, and runs of free pages (find, split, coalesce, give back).
 *
 * Free runs are either dirty (their pages may still be resident) or clean
 * (given back to the system; they read as zero where the platform says
 * so). Runs of the same state coalesce; a dirty run becomes clean when it
 * is purged. Each free run has a record (struct kmem_run) on a size-binned
 * list, so finding a run of n pages looks at a bitmap of non-empty bins,
 * never at the arena.
 *
 * All functions take the arena lock themselves unless named *_locked.
 * Lock order: bucket locks, then the arena lock.
 */
#ifndef KMEM_ARENA_H
#define KMEM_ARENA_H

#include "core/arena/layout.h"

/* Lay the arena over a reservation of `size` bytes at `base` (aligned to
 * KMEM_COMMIT_STEP). Returns false if it is too small to be useful. */
bool kmem_arena_init(void *base, size_t size);

/*
 * Take npages contiguous pages whose first page's address is a multiple of
 * align_pages pages (a power of two; 1 for any), and mark them: the first
 * with `head`, each later page i (1..npages-1) with kind `tail_kind` and
 * ku_word i. Returns the first page, or KMEM_NO_PAGE when the arena has no
 * such run or the process-wide cap would be passed. *zeroed tells whether
 * the pages are known to read as zero.
 */
uint32_t kmem_arena_alloc(uint32_t npages, uint32_t align_pages, struct kmem_page head,
                          uint8_t tail_kind, bool *zeroed);

/* Whether a free run of at least npages pages is still resident (dirty),
 * so that taking it faults nothing in: a hint, read under the lock and
 * stale once it is dropped. */
bool kmem_arena_has_dirty_run(uint32_t npages);

/* How long dirty runs may stay unused before they go back (ms, at least
 * 1), and the most dirty pages kept (0: derived; UINT64_MAX: unchanged). */
void kmem_arena_set_decay(uint32_t ms, uint64_t dirty_max_pages);

/* Cap the pages kmem holds (in use plus free pages kept resident); 0 for
 * none. */
void kmem_arena_set_cap(uint64_t bytes);

/* Free the block of `kind` (KMEM_KIND_LARGE or KMEM_KIND_INTERNAL) whose
 * first page is `page`, checking under the lock that it is one. Returns
 * its page count, or 0 if `page` is not the first page of such a block. */
uint32_t kmem_arena_free_block(uint32_t page, uint8_t kind);

/* Give back `count` slabs of npages pages each, starting at first[i]. With
 * `idle` their pages have been unused a while: first in line to go back to
 * the system. Nothing is given to the system here: the caller releases
 * all it has first (so that neighbours join into fewer, larger runs), then
 * calls kmem_arena_decay() or kmem_arena_purge_all(). */
void kmem_arena_free_slabs(const uint32_t *first, uint32_t count, uint32_t npages, bool idle);

/* Large blocks in place: extend the block at `page` from old to new pages
 * if the pages after it are free (returns false otherwise; *zeroed as for
 * alloc, for the added pages); or shrink it, freeing its tail. */
bool kmem_arena_grow(uint32_t page, uint32_t old_npages, uint32_t new_npages,
                     bool *zeroed);
void kmem_arena_shrink(uint32_t page, uint32_t old_npages, uint32_t new_npages);

/* Give back dirty runs: all of them (returns pages given back). */
uint64_t kmem_arena_purge_all(void);

/* Give back dirty runs unused for the decay time (and the oldest beyond
 * the limit on dirty pages). */
void kmem_arena_decay(void);

/* Every page ever used lies below this one (a plain read: for a fork
 * child, alone, and for the checkers). */
static inline uint32_t kmem_arena_high_mark(void)
{
    return kmem_arena.ka_high;
}

/* Pages in dirty runs (a relaxed read, for the reclaimer's threshold). */
uint64_t kmem_arena_dirty_pages(void);

/* Around fork(): the arena lock (see kmem_lock_fork, whose answer it
 * returns). A child whose parent's fork skipped it rebuilds the free runs
 * from the page descriptors (repair.c). */
bool kmem_arena_fork(enum kmem_fork_phase phase);

/* The arena's share of kmem_arena_stats (takes the arena lock). */
void kmem_arena_read_stats(struct kmem_arena_stats *out);
/* Check descriptors, run records and bins against each other. Returns the
 * number of failures. Caller holds no lock; takes the arena lock. */
int kmem_arena_check(void);

#endif /* KMEM_ARENA_H */
