/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check.c — kmem_arena_check: every page descriptor, page map entry, run
 * record and bin list of the arena against each other and against the
 * arena's counts.
 */
#include "core/arena/arena.h"
#include "core/arena/runs.h"

#include "core/base/diag.h"

#define A kmem_arena

static int check_fail(const char *what, uint64_t a, uint64_t b)
{
    kmem_complain(what, a, b);
    return 1;
}

/* Check one free run record against the descriptors and its bin. */
static int check_free_run(uint32_t page, uint32_t *len)
{
    int bad = 0;
    uint32_t id = A.ka_pages[page].ku_word;
    if (id == 0 || id > A.ka_runs_used)
        return check_fail("arena: free page without a run record", page, id);
    struct kmem_run *r = kmem_run(id);
    if (r->rn_page != page || r->rn_npages == 0 || page + r->rn_npages > A.ka_npages)
        return check_fail("arena: run record does not start here", page, r->rn_page);
    *len = r->rn_npages;
    if (A.ka_pages[page + r->rn_npages - 1].ku_word != id)
        bad += check_fail("arena: run's last page does not name it", page, id);
    if (r->rn_bin != kmem_run_bin_of(r->rn_npages))
        bad += check_fail("arena: run in the wrong bin", page, r->rn_bin);
    uint32_t interior_end = page + r->rn_npages - 1;
    /* The untouched top of the arena is never written; check only below
     * the high mark. */
    if (interior_end > A.ka_high)
        interior_end = A.ka_high;
    for (uint32_t p = page + 1; p < interior_end; p++)
        if (A.ka_pages[p].ku_kind != KMEM_KIND_FREE || A.ka_pages[p].ku_word != 0) {
            bad += check_fail("arena: stray descriptor inside a free run", p,
                              A.ka_pages[p].ku_kind);
            break;
        }
    return bad;
}

/* ka_map[p] is kmem_page_map_entry(ka_pages[p]) for p in [from, to). */
static int check_map(uint32_t from, uint32_t to)
{
    for (uint32_t p = from; p < to; p++)
        if (!kmem_map_entry_is(A.ka_map[p], A.ka_pages[p]))
            return check_fail("arena: page map disagrees with the descriptor", p,
                              A.ka_map[p].me_kind);
    return 0;
}

int kmem_arena_check(void)
{
    int bad = 0;
    uint64_t free_pages[2] = { 0, 0 }, large = 0, blocks = 0, slab = 0, runs = 0, internal = 0;
    uint64_t busy = 0, busy_runs = 0;
    kmem_lock_acquire(&A.ka_lock);
    uint32_t page = 0;
    unsigned prev_state = 2;
    while (page < A.ka_npages && bad < 10) {
        struct kmem_page *d = &A.ka_pages[page];
        uint32_t len = 1;
        if (d->ku_kind == KMEM_KIND_FREE) {
            int b = check_free_run(page, &len);
            bad += b;
            if (b != 0)
                break;
            unsigned s = kmem_run(d->ku_word)->rn_state;
            if (s == prev_state)
                bad += check_fail("arena: two free runs of one state side by side", page, s);
            prev_state = s;
            free_pages[s] += len;
            runs++;
        } else if (d->ku_kind == KMEM_KIND_LARGE || d->ku_kind == KMEM_KIND_INTERNAL ||
                   kmem_kind_is_slab(d->ku_kind)) {
            bool is_large = d->ku_kind == KMEM_KIND_LARGE;
            bool is_internal = d->ku_kind == KMEM_KIND_INTERNAL;
            uint8_t tail = is_large      ? KMEM_KIND_LARGE_TAIL
                           : is_internal ? KMEM_KIND_INTERNAL_TAIL
                                         : (uint8_t)(KMEM_KIND_SLAB_TAIL + d->ku_kind);
            if (is_large || is_internal)
                len = d->ku_word;
            else
                while (page + len < A.ka_npages && d[len].ku_kind == tail &&
                       d[len].ku_word == len)
                    len++;
            if (len == 0 || page + len > A.ka_npages) {
                bad += check_fail("arena: block length out of range", page, len);
                break;
            }
            for (uint32_t i = 1; i < len; i++)
                if (d[i].ku_kind != tail || d[i].ku_word != i) {
                    bad += check_fail("arena: bad tail descriptor", page + i, d[i].ku_kind);
                    break;
                }
            if (is_large) {
                large += len;
                blocks++;
            } else if (is_internal) {
                internal += len;
            } else {
                slab += len;
            }
            prev_state = 2;
        } else if (d->ku_kind == KMEM_KIND_BUSY) {
            /* Being given back by a thread that dropped the lock. */
            len = d->ku_word;
            if (len == 0 || page + len > A.ka_npages ||
                A.ka_pages[page + len - 1].ku_kind != KMEM_KIND_BUSY) {
                bad += check_fail("arena: bad busy run", page, len);
                break;
            }
            busy += len;
            busy_runs++;
            prev_state = 2;
        } else {
            bad += check_fail("arena: page of unknown kind", page, d->ku_kind);
            break;
        }
        page += len;
    }
    /* The map says what the descriptors say; above the high mark nothing
     * is written but the top run's ends. */
    uint32_t written = A.ka_high < A.ka_npages ? A.ka_high + 1 : A.ka_npages;
    bad += check_map(0, written);
    bad += check_map(A.ka_npages - 1, A.ka_npages);
    if (bad == 0) {
        if (free_pages[0] != A.ka_free_pages[0] || free_pages[1] != A.ka_free_pages[1])
            bad += check_fail("arena: free page count", free_pages[0] + free_pages[1],
                              A.ka_free_pages[0] + A.ka_free_pages[1]);
        if (large != A.ka_large_pages || blocks != A.ka_large_blocks)
            bad += check_fail("arena: large page count", large, A.ka_large_pages);
        if (slab != A.ka_slab_pages)
            bad += check_fail("arena: slab page count", slab, A.ka_slab_pages);
        if (internal != A.ka_internal_pages)
            bad += check_fail("arena: kmem's own page count", internal, A.ka_internal_pages);
        if (runs + busy_runs != A.ka_runs_live || busy != A.ka_busy_pages ||
            busy_runs != A.ka_busy_runs)
            bad += check_fail("arena: run count", runs + busy_runs, A.ka_runs_live);
    }
    /* Every run on a bin list is live and in the right bin and state. */
    uint64_t listed = 0;
    for (unsigned s = 0; s < 2; s++)
        for (unsigned b = 0; b < KMEM_RUN_BINS; b++) {
            bool has = (A.ka_binmap[s][b / 64] >> (b % 64)) & 1;
            if (has != (A.ka_bins[s][b] != 0))
                bad += check_fail("arena: bin bitmap disagrees with its list", s, b);
            uint32_t prev = 0;
            for (uint32_t id = A.ka_bins[s][b]; id != 0; id = kmem_run(id)->rn_next) {
                struct kmem_run *r = kmem_run(id);
                if (r->rn_state != s || r->rn_bin != b || r->rn_prev != prev ||
                    r->rn_npages == 0) {
                    bad += check_fail("arena: bin list damaged", s, b);
                    break;
                }
                prev = id;
                listed++;
            }
        }
    if (listed + A.ka_busy_runs != A.ka_runs_live)
        bad += check_fail("arena: runs on bin lists", listed, A.ka_runs_live);
    uint64_t dirty = 0;
    for (uint32_t id = A.ka_dirty_oldest; id != 0; id = kmem_run(id)->rn_newer) {
        if (kmem_run(id)->rn_state != KMEM_RUN_DIRTY) {
            bad += check_fail("arena: clean run on the dirty list", id, 0);
            break;
        }
        dirty += kmem_run(id)->rn_npages;
    }
    if (dirty != A.ka_free_pages[KMEM_RUN_DIRTY])
        bad += check_fail("arena: dirty list pages", dirty, A.ka_free_pages[KMEM_RUN_DIRTY]);
    kmem_lock_release(&A.ka_lock);
    return bad;
}
