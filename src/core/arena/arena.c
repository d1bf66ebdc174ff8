/*
 * arena.c — the arena's pages: layout of the reservation, committing it,
 * and the free-run allocator (see arena.h).
 *
 * Layout of the reservation:
 *
 *   [ descriptor table: 8 bytes a page ][ run records ][ pages ... ]
 *
 * The two tables are committed at start (they cost only what is touched);
 * pages are committed, in KMEM_COMMIT_STEP steps, as the highest page in
 * use grows.
 *
 * Finding a run (after TLSF, Masmano et al. 2004): runs are kept on lists
 * by size, one list per size up to 64 pages, then four per doubling. A
 * request for n pages looks first at the lists whose every run is at least
 * n pages, using a bitmap of non-empty lists, and takes the first run
 * there; only if all are empty does it walk the one list that may hold a
 * fit. Runs are split from their low end, so the arena fills from the
 * bottom and the untouched top stays one clean run.
 */
#include "core/arena/arena.h"

#include "platform/platform.h"
#include "core/base/diag.h"

struct kmem_arena kmem_arena;
#define A kmem_arena

/* ---- run-size bins ------------------------------------------------------ */

static unsigned bin_of(uint32_t npages)
{
    if (npages <= 64)
        return npages - 1;
    unsigned e = 31u - (unsigned)__builtin_clz(npages); /* 2^e <= npages */
    return 64 + (e - 6) * 4 + ((npages >> (e - 2)) & 3);
}

static uint32_t bin_min(unsigned bin)
{
    if (bin < 64)
        return bin + 1;
    unsigned e = 6 + (bin - 64) / 4, sub = (bin - 64) % 4;
    return (4 + sub) << (e - 2);
}

static struct kmem_run *run(uint32_t id)
{
    return &A.ka_runs[id];
}

static void bin_insert(uint32_t id)
{
    struct kmem_run *r = run(id);
    unsigned s = r->rn_state, b = bin_of(r->rn_npages);
    r->rn_bin = (uint8_t)b;
    r->rn_prev = 0;
    r->rn_next = A.ka_bins[s][b];
    if (r->rn_next != 0)
        run(r->rn_next)->rn_prev = id;
    A.ka_bins[s][b] = id;
    A.ka_binmap[s][b / 64] |= (uint64_t)1 << (b % 64);
}

static void bin_remove(uint32_t id)
{
    struct kmem_run *r = run(id);
    unsigned s = r->rn_state, b = r->rn_bin;
    if (r->rn_prev != 0)
        run(r->rn_prev)->rn_next = r->rn_next;
    else
        A.ka_bins[s][b] = r->rn_next;
    if (r->rn_next != 0)
        run(r->rn_next)->rn_prev = r->rn_prev;
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

/* Pages in runs of a state: written under the lock, read without it by the
 * reclaimer's threshold (kmem_arena_dirty_pages). */
static void free_pages_add(unsigned state, int64_t delta)
{
    KMEM_RELAXED_STORE(A.ka_free_pages[state], A.ka_free_pages[state] + (uint64_t)delta);
}

/* ---- dirty runs by age -------------------------------------------------- */

static uint32_t now_ms(void)
{
    return (uint32_t)(kmem_os_now_ns() / 1000000u);
}

static void age_append(uint32_t id)
{
    struct kmem_run *r = run(id);
    r->rn_stamp = now_ms();
    r->rn_newer = 0;
    r->rn_older = A.ka_dirty_newest;
    if (A.ka_dirty_newest != 0)
        run(A.ka_dirty_newest)->rn_newer = id;
    else
        KMEM_RELAXED_STORE(A.ka_dirty_oldest, id);
    A.ka_dirty_newest = id;
}

static void age_remove(uint32_t id);

/* Put a dirty run first in line to be given back, as if unused for the
 * whole decay time. */
static void age_backdate(uint32_t id)
{
    age_remove(id);
    struct kmem_run *r = run(id);
    r->rn_stamp = now_ms() - KMEM_RELAXED_LOAD(A.ka_decay_ms);
    r->rn_older = 0;
    r->rn_newer = A.ka_dirty_oldest;
    if (A.ka_dirty_oldest != 0)
        run(A.ka_dirty_oldest)->rn_older = id;
    else
        A.ka_dirty_newest = id;
    KMEM_RELAXED_STORE(A.ka_dirty_oldest, id);
}

static void age_remove(uint32_t id)
{
    struct kmem_run *r = run(id);
    if (r->rn_older != 0)
        run(r->rn_older)->rn_newer = r->rn_newer;
    else
        KMEM_RELAXED_STORE(A.ka_dirty_oldest, r->rn_newer);
    if (r->rn_newer != 0)
        run(r->rn_newer)->rn_older = r->rn_older;
    else
        A.ka_dirty_newest = r->rn_older;
}

/* Take a run off every list it is on. */
static void run_unlink(uint32_t id)
{
    bin_remove(id);
    if (run(id)->rn_state == KMEM_RUN_DIRTY)
        age_remove(id);
}

/* ---- run records ---------------------------------------------------------- */

static uint32_t record_take(void)
{
    uint32_t id = A.ka_run_unused;
    if (id != 0) {
        A.ka_run_unused = run(id)->rn_next;
        A.ka_runs_unused--;
    } else {
        if (A.ka_runs_used == A.ka_runs_max)
            return 0;
        id = ++A.ka_runs_used;
    }
    A.ka_runs_live++;
    return id;
}

static void record_release(uint32_t id)
{
    run(id)->rn_npages = 0;
    run(id)->rn_next = A.ka_run_unused;
    A.ka_run_unused = id;
    A.ka_runs_unused++;
    A.ka_runs_live--;
}

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

/* Bytes of tables for npages pages, rounded to a commit step. */
static size_t table_bytes(uint64_t npages, size_t *runs_offset)
{
    size_t descs = round_up((size_t)npages * sizeof(struct kmem_page), KMEM_PAGE_SIZE);
    size_t runs = ((size_t)npages / 2 + 17) * sizeof(struct kmem_run);
    *runs_offset = descs;
    return round_up(descs + runs, KMEM_PAGE_SIZE);
}

bool kmem_arena_init(void *base, size_t size)
{
    /* Each page costs a page, a descriptor and half a run record. */
    uint64_t npages = size / (KMEM_PAGE_SIZE + sizeof(struct kmem_page) +
                              sizeof(struct kmem_run) / 2);
    if (npages > KMEM_ARENA_MAX / KMEM_PAGE_SIZE)
        npages = KMEM_ARENA_MAX / KMEM_PAGE_SIZE;
    size_t runs_offset = 0;
    while (npages > 0 && table_bytes(npages, &runs_offset) +
                                 (size_t)npages * KMEM_PAGE_SIZE > size)
        npages--;
    if (npages < 64)
        return false;
    size_t meta = table_bytes(npages, &runs_offset);
    if (!kmem_os_commit(base, meta))
        return false;

    char *b = base;
    A.ka_pages = (struct kmem_page *)b;
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
    uint32_t id = record_take();
    struct kmem_run *r = run(id);
    r->rn_page = 0;
    r->rn_npages = (uint32_t)npages;
    r->rn_state = KMEM_RUN_CLEAN;
    A.ka_pages[0].ku_word = id;
    A.ka_pages[npages - 1].ku_word = id;
    bin_insert(id);
    A.ka_free_pages[KMEM_RUN_CLEAN] = npages;
    return true;
}

/* ---- the free-run operations (arena lock held) ------------------------------ */

static void mark(uint32_t page, uint32_t npages, struct kmem_page head,
                 uint8_t tail_kind)
{
    struct kmem_page *d = &A.ka_pages[page];
    d[0] = head;
    for (uint32_t i = 1; i < npages; i++)
        d[i] = (struct kmem_page){ tail_kind, 0, 0, i };
}

/* The free run whose first or last page is `page` (which may be -1 or
 * past the end), or 0: only those pages of a free run name its record. */
static uint32_t run_at_edge(uint32_t page)
{
    if (page >= A.ka_npages)
        return 0;
    struct kmem_page *d = &A.ka_pages[page];
    return d->ku_kind == KMEM_KIND_FREE ? d->ku_word : 0;
}

/*
 * Make [page, page+npages) a free run of `state`, joining neighbours of the
 * same state. `spare` is a record the caller holds for it, or 0; without
 * one, at most one unused record is needed (see ensure_records).
 */
static uint32_t insert_free(uint32_t page, uint32_t npages, unsigned state, uint32_t spare)
{
    __builtin_memset(&A.ka_pages[page], 0, (size_t)npages * sizeof(struct kmem_page));
    uint32_t start = page, len = npages, id = 0;

    uint32_t left = run_at_edge(page - 1);
    if (left != 0 && run(left)->rn_state == state) {
        run_unlink(left);
        start = run(left)->rn_page;
        len += run(left)->rn_npages;
        A.ka_pages[page - 1].ku_word = 0;
        id = left;
    }
    uint32_t right = run_at_edge(page + npages);
    if (right != 0 && run(right)->rn_state == state) {
        run_unlink(right);
        len += run(right)->rn_npages;
        A.ka_pages[page + npages].ku_word = 0;
        if (id == 0)
            id = right;
        else
            record_release(right);
    }
    if (id == 0) {
        id = spare != 0 ? spare : record_take();
        if (id == 0)
            kmem_panic("out of run records");
    } else if (spare != 0) {
        record_release(spare);
    }
    struct kmem_run *r = run(id);
    r->rn_page = start;
    r->rn_npages = len;
    r->rn_state = (uint8_t)state;
    A.ka_pages[start].ku_word = id;
    A.ka_pages[start + len - 1].ku_word = id;
    bin_insert(id);
    if (state == KMEM_RUN_DIRTY)
        age_append(id);
    free_pages_add(state, (int64_t)npages);
    return id;
}

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
    struct kmem_run *r = run(id);
    uint32_t page = r->rn_page, npages = r->rn_npages;
    run_unlink(id);
    free_pages_add(KMEM_RUN_DIRTY, -(int64_t)npages);
    A.ka_busy_pages += npages;
    A.ka_busy_runs++;
    struct kmem_page busy = { KMEM_KIND_BUSY, 0, 0, npages };
    A.ka_pages[page] = busy;
    A.ka_pages[page + npages - 1] = busy;
    kmem_lock_release(&A.ka_lock);
    kmem_os_decommit(kmem_page_addr(page), (size_t)npages << KMEM_PAGE_SHIFT);
    kmem_lock_acquire(&A.ka_lock);
    A.ka_busy_pages -= npages;
    A.ka_busy_runs--;
    A.ka_decommit_calls++;
    A.ka_decommit_bytes += (uint64_t)npages << KMEM_PAGE_SHIFT;
    insert_free(page, npages, KMEM_RUN_CLEAN, id);
    return npages;
}

/* Purge the runs that are dirty now (not those freed while it runs). */
static uint64_t purge_all_locked(void)
{
    uint64_t limit = A.ka_free_pages[KMEM_RUN_DIRTY], pages = 0;
    while (A.ka_dirty_oldest != 0 && pages < limit)
        pages += purge_run(A.ka_dirty_oldest);
    return pages;
}

/* Make sure n run records are free for insert_free. Once every dirty run
 * has been purged, free runs alternate with used pages, so there are at
 * most npages/2 + 1 of them and records are left. May drop the lock. */
static void ensure_records(uint32_t n)
{
    if (A.ka_runs_unused + (A.ka_runs_max - A.ka_runs_used) < n)
        purge_all_locked();
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

/* Purge the oldest dirty runs while there are too many dirty pages, or
 * while the oldest has not been reused for longer than the decay time. */
static void enforce_dirty_limit(void)
{
    uint64_t limit = dirty_limit();
    uint32_t now = now_ms();
    while (A.ka_dirty_oldest != 0 &&
           (A.ka_free_pages[KMEM_RUN_DIRTY] > limit ||
            now - run(A.ka_dirty_oldest)->rn_stamp >= KMEM_RELAXED_LOAD(A.ka_decay_ms)))
        purge_run(A.ka_dirty_oldest);
}

void kmem_arena_decay(void)
{
    if (__atomic_load_n(&A.ka_dirty_oldest, __ATOMIC_RELAXED) == 0)
        return;
    kmem_lock_acquire(&A.ka_lock);
    enforce_dirty_limit();
    kmem_lock_release(&A.ka_lock);
}

uint64_t kmem_arena_dirty_pages(void)
{
    return __atomic_load_n(&A.ka_free_pages[KMEM_RUN_DIRTY], __ATOMIC_RELAXED);
}

/* A run of state s with at least npages pages, or 0. */
static uint32_t find_run(unsigned s, uint32_t npages)
{
    unsigned b = bin_of(npages);
    unsigned from = bin_min(b) >= npages ? b : b + 1;
    unsigned found = bin_first(s, from);
    if (found < KMEM_RUN_BINS)
        return A.ka_bins[s][found];
    for (uint32_t id = A.ka_bins[s][b]; id != 0; id = run(id)->rn_next)
        if (run(id)->rn_npages >= npages)
            return id;
    return 0;
}

/* Take the first npages pages of run id. */
static uint32_t take_from_run(uint32_t id, uint32_t npages)
{
    struct kmem_run *r = run(id);
    uint32_t page = r->rn_page;
    free_pages_add(r->rn_state, -(int64_t)npages);
    if (r->rn_npages == npages) {
        run_unlink(id);
        record_release(id);
    } else {
        bin_remove(id);
        r->rn_page += npages;
        r->rn_npages -= npages;
        A.ka_pages[r->rn_page].ku_word = id;
        bin_insert(id);
    }
    return page;
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
        purge_all_locked();
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
    ensure_records(2);
    unsigned state = KMEM_RUN_DIRTY;
    uint32_t id = capped ? 0 : find_run(KMEM_RUN_DIRTY, (uint32_t)want);
    if (id == 0 && !capped) {
        state = KMEM_RUN_CLEAN;
        id = find_run(KMEM_RUN_CLEAN, (uint32_t)want);
    }
    if (id == 0 && !capped && A.ka_dirty_oldest != 0) {
        /* Dirty and clean runs side by side may together fit. */
        purge_all_locked();
        ensure_records(2);
        id = find_run(KMEM_RUN_CLEAN, (uint32_t)want);
    }
    if (id == 0) {
        kmem_lock_release(&A.ka_lock);
        return KMEM_NO_PAGE;
    }
    uint32_t page = take_from_run(id, (uint32_t)want);
    if (!commit_upto(&A.ka_commit_pages, ((size_t)page + want) << KMEM_PAGE_SHIFT)) {
        insert_free(page, (uint32_t)want, state, 0);
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
        insert_free(page, start - page, state, 0);
    uint32_t after = (uint32_t)(page + want) - (start + npages);
    if (after > 0)
        insert_free(start + npages, after, state, 0);
    account(head.ku_kind, npages, +1);
    kmem_lock_release(&A.ka_lock);
    *zeroed = state == KMEM_RUN_CLEAN && A.ka_zeroes;
    return start;
}

void kmem_arena_free_locked(uint32_t page, uint32_t npages)
{
    account(A.ka_pages[page].ku_kind, npages, -1);
    ensure_records(1); /* the pages stay marked in use if it drops the lock */
    insert_free(page, npages, KMEM_RUN_DIRTY, 0);
    enforce_dirty_limit();
}

void kmem_arena_free_slabs(const uint32_t *first, uint32_t count, uint32_t npages, bool idle)
{
    kmem_lock_acquire(&A.ka_lock);
    for (uint32_t i = 0; i < count; i++) {
        A.ka_slab_pages -= npages;
        ensure_records(1);
        uint32_t id = insert_free(first[i], npages, KMEM_RUN_DIRTY, 0);
        if (idle)
            age_backdate(id);
    }
    kmem_lock_release(&A.ka_lock);
}

uint32_t kmem_arena_free_block(uint32_t page, uint8_t kind)
{
    kmem_lock_acquire(&A.ka_lock);
    struct kmem_page *d = &A.ka_pages[page];
    uint32_t npages = d->ku_kind == kind ? d->ku_word : 0;
    if (npages != 0)
        kmem_arena_free_locked(page, npages);
    kmem_lock_release(&A.ka_lock);
    return npages;
}

bool kmem_arena_grow(uint32_t page, uint32_t old_npages, uint32_t new_npages,
                     bool *zeroed)
{
    uint32_t more = new_npages - old_npages;
    kmem_lock_acquire(&A.ka_lock);
    bool capped = over_cap(more); /* may purge, which renumbers runs */
    uint32_t id = run_at_edge(page + old_npages);
    if (capped || id == 0 || run(id)->rn_npages < more ||
        !commit_upto(&A.ka_commit_pages, ((size_t)page + new_npages) << KMEM_PAGE_SHIFT)) {
        kmem_lock_release(&A.ka_lock);
        return false;
    }
    bool clean = run(id)->rn_state == KMEM_RUN_CLEAN;
    take_from_run(id, more);
    struct kmem_page *d = &A.ka_pages[page];
    d[0].ku_word = new_npages;
    for (uint32_t i = old_npages; i < new_npages; i++)
        d[i] = (struct kmem_page){ KMEM_KIND_LARGE_TAIL, 0, 0, i };
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
    ensure_records(1);
    insert_free(page + new_npages, old_npages - new_npages, KMEM_RUN_DIRTY, 0);
    enforce_dirty_limit();
    kmem_lock_release(&A.ka_lock);
}

uint64_t kmem_arena_purge_all(void)
{
    kmem_lock_acquire(&A.ka_lock);
    uint64_t pages = purge_all_locked();
    kmem_lock_release(&A.ka_lock);
    return pages;
}

void kmem_arena_fork(enum kmem_fork_phase phase)
{
    kmem_lock_fork(&A.ka_lock, phase);
}

/* ---- statistics and checking ---------------------------------------------- */

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
    out->metadata = (uint64_t)A.ka_high * sizeof(struct kmem_page) +
                    (uint64_t)A.ka_runs_used * sizeof(struct kmem_run);
    out->decommit_calls = A.ka_decommit_calls;
    out->decommit_bytes = A.ka_decommit_bytes;
    out->commit_calls = A.ka_commit_calls;
    out->internal = A.ka_internal_pages << KMEM_PAGE_SHIFT;
    out->required = out->slab_bytes + out->large_inuse + out->internal + out->dirty_free;
    kmem_lock_release(&A.ka_lock);
}

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
    struct kmem_run *r = run(id);
    if (r->rn_page != page || r->rn_npages == 0 || page + r->rn_npages > A.ka_npages)
        return check_fail("arena: run record does not start here", page, r->rn_page);
    *len = r->rn_npages;
    if (A.ka_pages[page + r->rn_npages - 1].ku_word != id)
        bad += check_fail("arena: run's last page does not name it", page, id);
    if (r->rn_bin != bin_of(r->rn_npages))
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
            unsigned s = run(d->ku_word)->rn_state;
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
            for (uint32_t id = A.ka_bins[s][b]; id != 0; id = run(id)->rn_next) {
                struct kmem_run *r = run(id);
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
    for (uint32_t id = A.ka_dirty_oldest; id != 0; id = run(id)->rn_newer) {
        if (run(id)->rn_state != KMEM_RUN_DIRTY) {
            bad += check_fail("arena: clean run on the dirty list", id, 0);
            break;
        }
        dirty += run(id)->rn_npages;
    }
    if (dirty != A.ka_free_pages[KMEM_RUN_DIRTY])
        bad += check_fail("arena: dirty list pages", dirty, A.ka_free_pages[KMEM_RUN_DIRTY]);
    kmem_lock_release(&A.ka_lock);
    return bad;
}
