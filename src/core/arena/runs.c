/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * runs.c — the free runs of the arena: their records, the size-binned lists
 * that find them, joining a freed range with its free neighbours, and the
 * list of dirty runs by age (see runs.h). Arena lock held throughout.
 *
 * Finding a run (after TLSF, Masmano et al. 2004): runs are kept on lists
 * by size, one list per size up to 64 pages, then four per doubling. A
 * request for n pages looks first at the lists whose every run is at least
 * n pages, using a bitmap of non-empty lists, and takes the first run
 * there; only if all are empty does it look at the first
 * KMEM_RUN_FIND_WALK runs of the one list that may hold a fit (the list
 * is not walked to its end, so that a request is O(1) in the arena's
 * size: a run that fits may be missed there, as TLSF misses it). Runs are
 * split from their low end, so the arena fills from the
 * bottom and the untouched top stays one clean run.
 */
#include "core/arena/runs.h"

#include "core/base/diag.h"
#include "platform/platform.h"

#define A kmem_arena

/* ---- run-size bins ------------------------------------------------------ */

unsigned kmem_run_bin_of(uint32_t npages)
{
    if (npages <= 64)
        return npages - 1;
    unsigned e = 31u - (unsigned)__builtin_clz(npages); /* 2^e <= npages */
    return 64 + (e - 6) * 4 + ((npages >> (e - 2)) & 3);
}

uint32_t kmem_run_bin_min(unsigned bin)
{
    if (bin < 64)
        return bin + 1;
    if (bin == 64)
        return 65; /* 64 itself has the exact bin 63 */
    unsigned e = 6 + (bin - 64) / 4, sub = (bin - 64) % 4;
    return (4 + sub) << (e - 2);
}

void kmem_run_bin_insert(uint32_t id)
{
    struct kmem_run *r = kmem_run(id);
    unsigned s = r->rn_state, b = kmem_run_bin_of(r->rn_npages);
    r->rn_bin = (uint8_t)b;
    r->rn_prev = 0;
    r->rn_next = A.ka_bins[s][b];
    if (r->rn_next != 0)
        kmem_run(r->rn_next)->rn_prev = id;
    A.ka_bins[s][b] = id;
    A.ka_binmap[s][b / 64] |= (uint64_t)1 << (b % 64);
}

static void bin_remove(uint32_t id)
{
    struct kmem_run *r = kmem_run(id);
    unsigned s = r->rn_state, b = r->rn_bin;
    if (r->rn_prev != 0)
        kmem_run(r->rn_prev)->rn_next = r->rn_next;
    else
        A.ka_bins[s][b] = r->rn_next;
    if (r->rn_next != 0)
        kmem_run(r->rn_next)->rn_prev = r->rn_prev;
    if (A.ka_bins[s][b] == 0)
        A.ka_binmap[s][b / 64] &= ~((uint64_t)1 << (b % 64));
}

/* The first non-empty bin of state s at or above `from`, or KMEM_RUN_BINS. */
static unsigned bin_first(unsigned s, unsigned from)
{
    for (unsigned w = from / 64; w < KMEM_RUN_BINWORDS; w++) {
        uint64_t bits = A.ka_binmap[s][w];
        if (w == from / 64)
            bits &= ~(uint64_t)0 << (from % 64);
        if (bits != 0)
            return w * 64 + (unsigned)__builtin_ctzll(bits);
    }
    return KMEM_RUN_BINS;
}

/* Take a run off every list it is on. */
void kmem_run_unlink(uint32_t id)
{
    bin_remove(id);
    if (kmem_run(id)->rn_state == KMEM_RUN_DIRTY)
        kmem_run_age_remove(id);
}
/* ---- run records ---------------------------------------------------------- */

uint32_t kmem_run_record_take(void)
{
    uint32_t id = A.ka_run_unused;
    if (id != 0) {
        A.ka_run_unused = kmem_run(id)->rn_next;
        A.ka_runs_unused--;
    } else {
        if (A.ka_runs_used == A.ka_runs_max)
            return 0;
        id = ++A.ka_runs_used;
    }
    A.ka_runs_live++;
    return id;
}

void kmem_run_record_release(uint32_t id)
{
    kmem_run(id)->rn_npages = 0;
    kmem_run(id)->rn_next = A.ka_run_unused;
    A.ka_run_unused = id;
    A.ka_runs_unused++;
    A.ka_runs_live--;
}
/* The free run whose first or last page is `page` (which may be -1 or
 * past the end), or 0: only those pages of a free run name its record. */
uint32_t kmem_run_at_edge(uint32_t page)
{
    if (page >= A.ka_npages)
        return 0;
    struct kmem_page *d = &A.ka_pages[page];
    return d->ku_kind == KMEM_KIND_FREE ? d->ku_word : 0;
}

void kmem_run_place(uint32_t id, uint32_t page, uint32_t npages, unsigned state)
{
    struct kmem_run *r = kmem_run(id);
    r->rn_page = page;
    r->rn_npages = npages;
    r->rn_state = (uint8_t)state;
    A.ka_pages[page].ku_word = id;
    A.ka_pages[page + npages - 1].ku_word = id;
    kmem_run_bin_insert(id);
    if (state == KMEM_RUN_DIRTY)
        kmem_run_age_append(id);
}

/*
 * Make [page, page+npages) a free run of `state`, joining neighbours of the
 * same state. `spare` is a record the caller holds for it, or 0; without
 * one, at most one unused record is needed (see ensure_records).
 */
uint32_t kmem_run_insert_free(uint32_t page, uint32_t npages, unsigned state, uint32_t spare)
{
    kmem_page_clear(page, npages);
    uint32_t start = page, len = npages, id = 0;

    uint32_t left = kmem_run_at_edge(page - 1);
    if (left != 0 && kmem_run(left)->rn_state == state) {
        kmem_run_unlink(left);
        start = kmem_run(left)->rn_page;
        len += kmem_run(left)->rn_npages;
        A.ka_pages[page - 1].ku_word = 0;
        id = left;
    }
    uint32_t right = kmem_run_at_edge(page + npages);
    if (right != 0 && kmem_run(right)->rn_state == state) {
        kmem_run_unlink(right);
        len += kmem_run(right)->rn_npages;
        A.ka_pages[page + npages].ku_word = 0;
        if (id == 0)
            id = right;
        else
            kmem_run_record_release(right);
    }
    if (id == 0) {
        id = spare != 0 ? spare : kmem_run_record_take();
        if (id == 0)
            kmem_panic("out of run records");
    } else if (spare != 0) {
        kmem_run_record_release(spare);
    }
    kmem_run_place(id, start, len, state);
    kmem_run_count_free(state, (int64_t)npages);
    return id;
}
/* A run of state s with at least npages pages, or 0. */
uint32_t kmem_run_find(unsigned s, uint32_t npages)
{
    unsigned b = kmem_run_bin_of(npages);
    unsigned from = kmem_run_bin_min(b) >= npages ? b : b + 1;
    unsigned found = bin_first(s, from);
    if (found < KMEM_RUN_BINS)
        return A.ka_bins[s][found];
    uint32_t id = A.ka_bins[s][b];
    for (unsigned i = 0; id != 0 && i < KMEM_RUN_FIND_WALK; i++, id = kmem_run(id)->rn_next)
        if (kmem_run(id)->rn_npages >= npages)
            return id;
    return 0;
}

/* Take the first npages pages of run id. */
uint32_t kmem_run_take(uint32_t id, uint32_t npages)
{
    struct kmem_run *r = kmem_run(id);
    uint32_t page = r->rn_page;
    kmem_run_count_free(r->rn_state, -(int64_t)npages);
    if (r->rn_npages == npages) {
        kmem_run_unlink(id);
        kmem_run_record_release(id);
    } else {
        bin_remove(id);
        r->rn_page += npages;
        r->rn_npages -= npages;
        A.ka_pages[r->rn_page].ku_word = id;
        kmem_run_bin_insert(id);
    }
    return page;
}

/* ---- dirty runs by age -------------------------------------------------- */

void kmem_run_age_append(uint32_t id)
{
    struct kmem_run *r = kmem_run(id);
    r->rn_stamp = kmem_run_now_ms();
    r->rn_newer = 0;
    r->rn_older = A.ka_dirty_newest;
    if (A.ka_dirty_newest != 0)
        kmem_run(A.ka_dirty_newest)->rn_newer = id;
    else
        KMEM_RELAXED_STORE(A.ka_dirty_oldest, id);
    A.ka_dirty_newest = id;
}

/* Put a dirty run first in line to be given back, as if unused for the
 * whole decay time. */
void kmem_run_age_backdate(uint32_t id)
{
    kmem_run_age_remove(id);
    struct kmem_run *r = kmem_run(id);
    r->rn_stamp = kmem_run_now_ms() - KMEM_RELAXED_LOAD(A.ka_decay_ms);
    r->rn_older = 0;
    r->rn_newer = A.ka_dirty_oldest;
    if (A.ka_dirty_oldest != 0)
        kmem_run(A.ka_dirty_oldest)->rn_older = id;
    else
        A.ka_dirty_newest = id;
    KMEM_RELAXED_STORE(A.ka_dirty_oldest, id);
}

void kmem_run_age_remove(uint32_t id)
{
    struct kmem_run *r = kmem_run(id);
    if (r->rn_older != 0)
        kmem_run(r->rn_older)->rn_newer = r->rn_newer;
    else
        KMEM_RELAXED_STORE(A.ka_dirty_oldest, r->rn_newer);
    if (r->rn_newer != 0)
        kmem_run(r->rn_newer)->rn_older = r->rn_older;
    else
        A.ka_dirty_newest = r->rn_older;
}
