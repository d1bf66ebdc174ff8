/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena.c — the arena's pages: layout of the reservation, committing it,
 * and taking and giving back runs of pages for the layers above (see
 * arena.h). The free runs themselves are runs.c; giving pages back to the
 * system, purge.c; the checker, check.c.
 *
 * Layout of the reservation:
 *
 *   [ descriptors: 8 bytes a page ][ page map: 2 bytes a page ][ run records ][ pages ... ]
 *
 * The tables are committed at start (they cost only what is touched);
 * pages are committed, in KMEM_COMMIT_STEP steps, as the highest page in
 * use grows.
 */
#include "core/arena/arena.h"
#include "core/arena/runs.h"

#include "core/base/diag.h"
#include "platform/platform.h"

struct kmem_arena kmem_arena;
#define A kmem_arena

/* ---- committing ----------------------------------------------------------- */

static bool commit_upto(struct kmem_commit *c, size_t need)
{
    if (need <= c->cm_done)
        return true;
    size_t to = (need + KMEM_COMMIT_STEP - 1) & ~(KMEM_COMMIT_STEP - 1);
    if (to > c->cm_limit)
        to = c->cm_limit;
    if (!kmem_os_commit(c->cm_base + c->cm_done, to - c->cm_done))
        return false;
    A.ka_commit_calls++;
    c->cm_done = to;
    return true;
}
/* ---- initialization ------------------------------------------------------- */

static size_t round_up(size_t v, size_t to)
{
    return (v + to - 1) & ~(to - 1);
}

/* Bytes of tables for npages pages, rounded to a page; where the page map
 * and the run records start. The map starts on a page of its own, so
 * that it shares no cache line with the descriptors. */
static size_t table_bytes(uint64_t npages, size_t *map_offset, size_t *runs_offset)
{
    size_t descs = round_up((size_t)npages * sizeof(struct kmem_page), KMEM_PAGE_SIZE);
    size_t map = round_up((size_t)npages * sizeof(struct kmem_map_entry), 64);
    size_t runs = ((size_t)npages / 2 + 17) * sizeof(struct kmem_run);
    *map_offset = descs;
    *runs_offset = descs + map;
    return round_up(descs + map + runs, KMEM_PAGE_SIZE);
}

bool kmem_arena_init(void *base, size_t size)
{
    /* Each page costs a page, a descriptor, a map entry and half a run
     * record. */
    uint64_t npages = size / (KMEM_PAGE_SIZE + sizeof(struct kmem_page) +
                              sizeof(struct kmem_map_entry) + sizeof(struct kmem_run) / 2);
    if (npages > KMEM_ARENA_MAX / KMEM_PAGE_SIZE)
        npages = KMEM_ARENA_MAX / KMEM_PAGE_SIZE;
    size_t map_offset = 0, runs_offset = 0;
    while (npages > 0 && table_bytes(npages, &map_offset, &runs_offset) +
                                 (size_t)npages * KMEM_PAGE_SIZE > size)
        npages--;
    if (npages < 64)
        return false;
    size_t meta = table_bytes(npages, &map_offset, &runs_offset);
    if (!kmem_os_commit(base, meta))
        return false;

    char *b = base;
    A.ka_pages = (struct kmem_page *)b;
    A.ka_map = (struct kmem_map_entry *)(b + map_offset);
    A.ka_runs = (struct kmem_run *)(b + runs_offset);
    A.ka_runs_max = (uint32_t)(npages / 2 + 16);
    A.ka_base = (uintptr_t)(b + meta);
    A.ka_npages = (uint32_t)npages;
    A.ka_commit_pages = (struct kmem_commit){ b + meta, 0,
                                              (size_t)npages * KMEM_PAGE_SIZE };
    A.ka_commit_calls = 1;
    A.ka_zeroes = kmem_os_decommit_zeroes();
    A.ka_decay_ms = KMEM_DIRTY_DECAY_MS;

    /* The whole arena starts as one clean run. */
    uint32_t id = kmem_run_record_take();
    struct kmem_run *r = kmem_run(id);
    r->rn_page = 0;
    r->rn_npages = (uint32_t)npages;
    r->rn_state = KMEM_RUN_CLEAN;
    A.ka_pages[0].ku_word = id;
    A.ka_pages[npages - 1].ku_word = id;
    kmem_run_bin_insert(id);
    A.ka_free_pages[KMEM_RUN_CLEAN] = npages;
    return true;
}
/* ---- the free-run operations (arena lock held) ------------------------------ */

static void mark(uint32_t page, uint32_t npages, struct kmem_page head,
                 uint8_t tail_kind)
{
    kmem_page_set(page, head);
    kmem_page_set_tails(page, 1, npages, tail_kind);
}
/* Count pages taken (+) or given back (-) by what they held. */
static void account(uint8_t kind, uint32_t npages, int sign)
{
    if (kind == KMEM_KIND_LARGE) {
        A.ka_large_pages += (uint64_t)(int64_t)sign * npages;
        A.ka_large_blocks += (uint64_t)(int64_t)sign;
    } else if (kind == KMEM_KIND_INTERNAL) {
        A.ka_internal_pages += (uint64_t)(int64_t)sign * npages;
    } else {
        A.ka_slab_pages += (uint64_t)(int64_t)sign * npages;
    }
}

/* Would holding `more` pages pass the cap? Gives back dirty pages first. */
static bool over_cap(uint64_t more)
{
    if (A.ka_cap_pages == 0)
        return false;
    uint64_t used = A.ka_large_pages + A.ka_slab_pages + A.ka_internal_pages;
    uint64_t held = used + A.ka_free_pages[KMEM_RUN_DIRTY];
    if (held + more > A.ka_cap_pages) {
        kmem_arena_purge_all_locked();
        held = used;
    }
    return held + more > A.ka_cap_pages;
}

void kmem_arena_set_decay(uint32_t ms, uint64_t dirty_max_pages)
{
    KMEM_RELAXED_STORE(A.ka_decay_ms, ms != 0 ? ms : 1);
    if (dirty_max_pages != UINT64_MAX)
        A.ka_dirty_max = dirty_max_pages;
}

void kmem_arena_set_cap(uint64_t bytes)
{
    kmem_lock_acquire(&A.ka_lock);
    A.ka_cap_pages = (bytes + KMEM_PAGE_MASK) >> KMEM_PAGE_SHIFT;
    kmem_lock_release(&A.ka_lock);
}

uint32_t kmem_arena_alloc(uint32_t npages, uint32_t align_pages, struct kmem_page head,
                          uint8_t tail_kind, bool *zeroed)
{
    /* An aligned block is cut from a run with room for any misalignment. */
    uint64_t want = (uint64_t)npages + align_pages - 1;
    if (npages == 0 || want > A.ka_npages)
        return KMEM_NO_PAGE;
    kmem_lock_acquire(&A.ka_lock);
    /* Both may purge, dropping the lock; nothing is held across them. The
     * records ensured here serve the pages given back below (at most two
     * pieces around an aligned block, or the whole run if committing
     * fails), with the lock held from here on. */
    bool capped = over_cap(npages);
    kmem_arena_ensure_records(2);
    unsigned state = KMEM_RUN_DIRTY;
    uint32_t id = capped ? 0 : kmem_run_find(KMEM_RUN_DIRTY, (uint32_t)want);
    if (id == 0 && !capped) {
        state = KMEM_RUN_CLEAN;
        id = kmem_run_find(KMEM_RUN_CLEAN, (uint32_t)want);
    }
    if (id == 0 && !capped && A.ka_dirty_oldest != 0) {
        /* Dirty and clean runs side by side may together fit. */
        kmem_arena_purge_all_locked();
        kmem_arena_ensure_records(2);
        id = kmem_run_find(KMEM_RUN_CLEAN, (uint32_t)want);
    }
    if (id == 0) {
        kmem_lock_release(&A.ka_lock);
        return KMEM_NO_PAGE;
    }
    uint32_t page = kmem_run_take(id, (uint32_t)want);
    if (!commit_upto(&A.ka_commit_pages, ((size_t)page + want) << KMEM_PAGE_SHIFT)) {
        kmem_run_insert_free(page, (uint32_t)want, state, 0);
        kmem_lock_release(&A.ka_lock);
        return KMEM_NO_PAGE;
    }
    if (page + want > A.ka_high)
        A.ka_high = (uint32_t)(page + want);
    uint32_t start = page;
    if (align_pages > 1) {
        uintptr_t align = (uintptr_t)align_pages << KMEM_PAGE_SHIFT;
        uintptr_t addr = (uintptr_t)kmem_page_addr(page);
        start = page + (uint32_t)((((addr + align - 1) & ~(align - 1)) - addr) >> KMEM_PAGE_SHIFT);
    }
    /* Marked first: the taken pages' descriptors are stale (the run's old
     * first page still names its record), and the pages around the block
     * must not be joined to it. */
    mark(start, npages, head, tail_kind);
    if (start > page)
        kmem_run_insert_free(page, start - page, state, 0);
    uint32_t after = (uint32_t)(page + want) - (start + npages);
    if (after > 0)
        kmem_run_insert_free(start + npages, after, state, 0);
    account(head.ku_kind, npages, +1);
    kmem_lock_release(&A.ka_lock);
    *zeroed = state == KMEM_RUN_CLEAN && A.ka_zeroes;
    return start;
}

bool kmem_arena_has_dirty_run(uint32_t npages)
{
    kmem_lock_acquire(&A.ka_lock);
    bool found = kmem_run_find(KMEM_RUN_DIRTY, npages) != 0;
    kmem_lock_release(&A.ka_lock);
    return found;
}

/* Give pages [page, page+npages) back; they become a dirty free run.
 * Arena lock held. */
static void free_locked(uint32_t page, uint32_t npages)
{
    account(A.ka_pages[page].ku_kind, npages, -1);
    kmem_arena_ensure_records(1); /* the pages stay marked in use if it drops the lock */
    kmem_run_insert_free(page, npages, KMEM_RUN_DIRTY, 0);
    kmem_arena_enforce_dirty_limit(KMEM_PURGE_PER_FREE);
}

void kmem_arena_free_slabs(const uint32_t *first, uint32_t count, uint32_t npages, bool idle)
{
    kmem_lock_acquire(&A.ka_lock);
    for (uint32_t i = 0; i < count; i++) {
        A.ka_slab_pages -= npages;
        kmem_arena_ensure_records(1);
        uint32_t id = kmem_run_insert_free(first[i], npages, KMEM_RUN_DIRTY, 0);
        if (idle)
            kmem_run_age_backdate(id);
    }
    kmem_lock_release(&A.ka_lock);
}

uint32_t kmem_arena_free_block(uint32_t page, uint8_t kind)
{
    kmem_lock_acquire(&A.ka_lock);
    struct kmem_page *d = &A.ka_pages[page];
    uint32_t npages = d->ku_kind == kind ? d->ku_word : 0;
    if (npages != 0)
        free_locked(page, npages);
    kmem_lock_release(&A.ka_lock);
    return npages;
}

bool kmem_arena_grow(uint32_t page, uint32_t old_npages, uint32_t new_npages,
                     bool *zeroed)
{
    uint32_t more = new_npages - old_npages;
    kmem_lock_acquire(&A.ka_lock);
    bool capped = over_cap(more); /* may purge, which renumbers runs */
    uint32_t id = kmem_run_at_edge(page + old_npages);
    if (capped || id == 0 || kmem_run(id)->rn_npages < more ||
        !commit_upto(&A.ka_commit_pages, ((size_t)page + new_npages) << KMEM_PAGE_SHIFT)) {
        kmem_lock_release(&A.ka_lock);
        return false;
    }
    bool clean = kmem_run(id)->rn_state == KMEM_RUN_CLEAN;
    kmem_run_take(id, more);
    struct kmem_page *d = &A.ka_pages[page];
    d[0].ku_word = new_npages;
    kmem_page_set_tails(page, old_npages, new_npages, KMEM_KIND_LARGE_TAIL);
    if (page + new_npages > A.ka_high)
        A.ka_high = page + new_npages;
    A.ka_large_pages += more;
    kmem_lock_release(&A.ka_lock);
    *zeroed = clean && A.ka_zeroes;
    return true;
}

void kmem_arena_shrink(uint32_t page, uint32_t old_npages, uint32_t new_npages)
{
    kmem_lock_acquire(&A.ka_lock);
    A.ka_pages[page].ku_word = new_npages;
    A.ka_large_pages -= old_npages - new_npages;
    kmem_arena_ensure_records(1);
    kmem_run_insert_free(page + new_npages, old_npages - new_npages, KMEM_RUN_DIRTY, 0);
    kmem_arena_enforce_dirty_limit(KMEM_PURGE_PER_FREE);
    kmem_lock_release(&A.ka_lock);
}

uint64_t kmem_arena_purge_all(void)
{
    kmem_lock_acquire(&A.ka_lock);
    uint64_t pages = kmem_arena_purge_all_locked();
    kmem_lock_release(&A.ka_lock);
    return pages;
}

bool kmem_arena_fork(enum kmem_fork_phase phase)
{
    bool answer = kmem_lock_fork(&A.ka_lock, phase);
    if (phase == KMEM_FORK_CHILD && answer)
        kmem_arena_rebuild();
    return answer;
}
/* ---- statistics ---------------------------------------------- */

void kmem_arena_read_stats(struct kmem_arena_stats *out)
{
    kmem_lock_acquire(&A.ka_lock);
    uint64_t untouched = (uint64_t)A.ka_npages - A.ka_high;
    out->reserved = (uint64_t)A.ka_npages << KMEM_PAGE_SHIFT;
    out->page_size = KMEM_PAGE_SIZE;
    out->large_inuse = A.ka_large_pages << KMEM_PAGE_SHIFT;
    out->large_blocks = A.ka_large_blocks;
    out->slab_bytes = A.ka_slab_pages << KMEM_PAGE_SHIFT;
    out->dirty_free = A.ka_free_pages[KMEM_RUN_DIRTY] << KMEM_PAGE_SHIFT;
    /* Pages being given back right now count as given back. */
    out->clean_free = (A.ka_free_pages[KMEM_RUN_CLEAN] + A.ka_busy_pages - untouched)
                      << KMEM_PAGE_SHIFT;
    out->high_mark = (uint64_t)A.ka_high << KMEM_PAGE_SHIFT;
    out->metadata = (uint64_t)A.ka_high *
                        (sizeof(struct kmem_page) + sizeof(struct kmem_map_entry)) +
                    (uint64_t)A.ka_runs_used * sizeof(struct kmem_run);
    out->decommit_calls = A.ka_decommit_calls;
    out->decommit_bytes = A.ka_decommit_bytes;
    out->commit_calls = A.ka_commit_calls;
    out->internal = A.ka_internal_pages << KMEM_PAGE_SHIFT;
    out->required = out->slab_bytes + out->large_inuse + out->internal + out->dirty_free;
    kmem_lock_release(&A.ka_lock);
}
