/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * repair.c — the arena of a fork() child whose parent was stopped inside
 * it: a signal handler forked while its thread held the arena lock (or
 * another thread held it too long to wait for; see kmem_lock_fork). The
 * run records, bins, age list and counts may then be half changed, so
 * they are rebuilt from the page descriptors alone (and the page map,
 * which may be a step behind them, from the descriptors):
 *
 *   a block is a first page (large, kmem's own, or a slab's) followed by
 *     the tails that count back to it; a large or own block is the
 *     shorter of that and the length its first page records, which is
 *     written back (a block being grown or shrunk keeps what it had, or
 *     the pages it already had been given);
 *   every other page below the high mark is free: free runs, runs being
 *     given back to the system by a thread that is gone, tails left
 *     without their first page (a block being freed or made);
 *   the free pages below the high mark become dirty runs (what was
 *     given back before is not known any more: it will be given back
 *     again), the untouched top one clean run.
 *
 * What the interrupted operation was doing is lost: a block it was
 * making is never handed out, one it was freeing may stay in use. The
 * child leaks at most those pages; no page is ever held twice.
 */
#include "core/arena/arena.h"
#include "core/arena/runs.h"

#define A kmem_arena

/* The pages of the block that starts at `page` (0: none starts there),
 * with the counts of what it holds added in. */
static uint32_t block_at(uint32_t page, uint32_t end)
{
    struct kmem_page *d = &A.ka_pages[page];
    uint8_t kind = d->ku_kind, tail;
    if (kind == KMEM_KIND_LARGE)
        tail = KMEM_KIND_LARGE_TAIL;
    else if (kind == KMEM_KIND_INTERNAL)
        tail = KMEM_KIND_INTERNAL_TAIL;
    else if (kmem_kind_is_slab(kind))
        tail = (uint8_t)(KMEM_KIND_SLAB_TAIL + kind);
    else
        return 0;
    uint32_t len = 1;
    while (page + len < end && d[len].ku_kind == tail && d[len].ku_word == len)
        len++;
    if (kind == KMEM_KIND_LARGE || kind == KMEM_KIND_INTERNAL) {
        if (d->ku_word != 0 && d->ku_word < len)
            len = d->ku_word;
        d->ku_word = len;
    }
    if (kind == KMEM_KIND_LARGE) {
        A.ka_large_pages += len;
        A.ka_large_blocks++;
    } else if (kind == KMEM_KIND_INTERNAL) {
        A.ka_internal_pages += len;
    } else {
        A.ka_slab_pages += len;
    }
    return len;
}

/* A new run of the pages [page, page+npages), their descriptors clear. */
static void add_run(uint32_t page, uint32_t npages, unsigned state)
{
    kmem_run_place(kmem_run_record_take(), page, npages, state);
    kmem_run_count_free(state, (int64_t)npages);
}

void kmem_arena_rebuild(void)
{
    uint32_t npages = A.ka_npages, high = A.ka_high < npages ? A.ka_high : npages;
    A.ka_runs_used = A.ka_run_unused = A.ka_runs_unused = 0;
    A.ka_dirty_oldest = A.ka_dirty_newest = 0;
    __builtin_memset(A.ka_bins, 0, sizeof A.ka_bins);
    __builtin_memset(A.ka_binmap, 0, sizeof A.ka_binmap);
    A.ka_free_pages[KMEM_RUN_DIRTY] = A.ka_free_pages[KMEM_RUN_CLEAN] = 0;
    A.ka_large_pages = A.ka_large_blocks = A.ka_slab_pages = A.ka_internal_pages = 0;
    A.ka_runs_live = A.ka_busy_pages = 0;
    A.ka_busy_runs = 0;

    uint32_t run = KMEM_NO_PAGE;
    for (uint32_t page = 0; page < high;) {
        uint32_t len = block_at(page, high);
        if (len == 0) {
            kmem_page_set(page, (struct kmem_page){ KMEM_KIND_FREE, 0, 0, 0 });
            if (run == KMEM_NO_PAGE)
                run = page;
            page++;
            continue;
        }
        if (run != KMEM_NO_PAGE)
            add_run(run, page - run, KMEM_RUN_DIRTY);
        run = KMEM_NO_PAGE;
        page += len;
    }
    if (run != KMEM_NO_PAGE)
        add_run(run, high - run, KMEM_RUN_DIRTY);
    for (uint32_t page = 0; page < high; page++)
        A.ka_map[page] = kmem_page_map_entry(A.ka_pages[page]);
    if (high < npages) {
        /* Above the high mark only an interrupted operation wrote
         * descriptors or map entries, upwards from it (and the top run's
         * ends). */
        for (uint32_t page = high; page < npages; page++) {
            struct kmem_page *d = &A.ka_pages[page];
            if (d->ku_kind == KMEM_KIND_FREE && d->ku_word == 0 &&
                kmem_map_entry_is(A.ka_map[page], *d))
                break;
            kmem_page_set(page, (struct kmem_page){ KMEM_KIND_FREE, 0, 0, 0 });
        }
        add_run(high, npages - high, KMEM_RUN_CLEAN);
    }
}
