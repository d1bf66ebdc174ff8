/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcache.c — per-thread caches: activation, batch exchange with the
 * buckets, retirement, and the registry that readers add counters over
 * (see tcache.h).
 *
 * Every exchange with a bucket moves the bin's stack pointer while the
 * bucket's lock is held, in the same step as the bucket's own lists:
 * fork() takes every bucket lock, so a child never finds a batch both in
 * the bucket and in a cache (which would hand it out twice), nor in
 * neither.
 */
#include "core/tcache/tcache.h"

#include "core/arena/arena.h"
#include "core/arena/page.h"
#include "core/base/diag.h"
#include "core/bucket/bucket.h"

/* The guard under a bin that has no stack of its own (kmem_fastpath.h):
 * one slot, pointing at a piece whose second word, 0, is never a free key
 * (keys are odd: the secret is). Nothing writes either: pushes onto such
 * a bin fail, because tb_limit == tb_sp. */
static const uintptr_t no_piece[2] __attribute__((aligned(16)));
static void *no_stack[1] = { (void *)(uintptr_t)no_piece };
#define NO_STACK (&no_stack[1])
#define NO_BIN   { NO_STACK, NO_STACK, NO_STACK, NULL, { 0, 0, 0 }, 0, 0 }
/* Every bin, whatever the geometry's number of buckets (a GNU range
 * designator, which GCC and Clang both take). */
#define NO_BINS  { [0 ... KMEM_NBUCKETS] = NO_BIN }

#if KMEM_THREAD_CACHE
KMEM_API __thread struct kmem_tcache KMEM_ABI(kmem_tcache)
    __attribute__((tls_model("initial-exec"))) = { .tc_bins = NO_BINS };
#else
KMEM_API struct kmem_tcache KMEM_ABI(kmem_tcache) = { .tc_bins = NO_BINS };
#endif

static kmem_lock registry_lock = KMEM_LOCK_INIT;
static struct kmem_tcache *registry;                 /* [registry] live caches */
static uint64_t retired_requests[KMEM_NBUCKETS + 1]; /* [registry] by bucket */
static struct kmem_tcount retired[KMEM_TYPE_SLOTS][KMEM_NBUCKETS + 1]; /* [registry] */
static uint32_t lost_at_fork; /* caches of threads that did not survive a fork */
static uint32_t repairs_at_fork; /* kmem_tcache_repair_self calls */

/* What cache tc counted in `slot` for bucket b: the bin's row, plus, for
 * KMEM_TSLOT_OWN, the bin's own counters (tb_own), each read once. Frees
 * are loaded with acquire: allocations read after them are at least as
 * new (see kmem_tcache_sum_slot). */
static uint64_t frees_in(const struct kmem_tcache *tc, unsigned b, unsigned slot)
{
    const struct kmem_tbin *bin = &tc->tc_bins[b];
    uint64_t n = __atomic_load_n(&bin->tb_counts[slot].tn_frees, __ATOMIC_ACQUIRE);
    if (slot == KMEM_TSLOT_OWN)
        n += __atomic_load_n(&bin->tb_own.tn_frees, __ATOMIC_ACQUIRE);
    return n;
}

/* The allocations, and (if req_bytes) the bytes they asked for. */
static uint64_t allocs_in(const struct kmem_tcache *tc, unsigned b, unsigned slot,
                          uint64_t *req_bytes)
{
    const struct kmem_tbin *bin = &tc->tc_bins[b];
    uint64_t n = KMEM_RELAXED_LOAD(bin->tb_counts[slot].tn_allocs);
    uint64_t req = KMEM_RELAXED_LOAD(bin->tb_counts[slot].tn_req_bytes);
    if (slot == KMEM_TSLOT_OWN) {
        n += KMEM_RELAXED_LOAD(bin->tb_own.tn_allocs);
        req += KMEM_RELAXED_LOAD(bin->tb_own.tn_req_bytes);
    }
    if (req_bytes != NULL)
        *req_bytes = req;
    return n;
}

static void registry_link(struct kmem_tcache *tc)
{
    tc->tc_prev = NULL;
    tc->tc_next = registry;
    if (registry != NULL)
        registry->tc_prev = tc;
    registry = tc;
}

static void registry_unlink(struct kmem_tcache *tc)
{
    if (tc->tc_prev != NULL)
        tc->tc_prev->tc_next = tc->tc_next;
    else
        registry = tc->tc_next;
    if (tc->tc_next != NULL)
        tc->tc_next->tc_prev = tc->tc_prev;
}

/* Give `give` pieces from the bottom of bin b back to the bucket, keep
 * the rest, moved down. Returns the pieces that went onto slabs. */
static uint32_t give_bottom(struct kmem_tbin *bin, unsigned b, uint32_t give)
{
    uint32_t keep = (uint32_t)(bin->tb_sp - bin->tb_low) - give;
    kmem_bucket_lock(b);
    uint32_t to_slabs = kmem_bucket_give_locked(b, bin->tb_low, give);
    __builtin_memmove(bin->tb_low, bin->tb_low + give, keep * sizeof(void *));
    KMEM_RELAXED_STORE(bin->tb_sp, bin->tb_low + keep);
    kmem_bucket_unlock(b);
    return to_slabs;
}

/* A bin of a cache whose thread a fork() stopped at any instruction
 * inside kmem: keep only the pieces that belong there, each once, and
 * write the free key into each. The thread may have stopped in a push
 * between storing the piece and writing its key, or while giving the
 * bottom of the bin back to its bucket (then the pieces already on a
 * slab's list carry the slab mark, and the stack may list some twice,
 * half moved down). Each kept piece is marked key ^ 3 on the way, to find
 * the second listing of it. */
static void tidy_bin(struct kmem_tbin *bin)
{
    void **low = bin->tb_low, **sp = bin->tb_sp, **out = low;
    if (sp == low)
        return; /* empty, or closed */
    for (void **p = low; p < sp; p++) {
        uintptr_t *w = *p, key = kmem_piece_key(w);
        if (w[1] == kmem_slab_mark(w) || w[1] == kmem_fresh_mark(w) || w[1] == (key ^ 3))
            continue;
        w[1] = key ^ 3;
        *out++ = w;
    }
    for (void **p = low; p < out; p++)
        ((uintptr_t *)*p)[1] = kmem_piece_key(*p);
    KMEM_RELAXED_STORE(bin->tb_sp, out);
}

/* Give every cached piece back. With `tidy` (a fork child emptying a lost
 * thread's cache), each bin is tidied first. */
static bool empty_bins(struct kmem_tcache *tc, bool tidy)
{
    bool to_slabs = false;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        if (tidy)
            tidy_bin(bin);
        uint32_t n = (uint32_t)(bin->tb_sp - bin->tb_low);
        if (n != 0 && give_bottom(bin, b, n) != 0)
            to_slabs = true;
    }
    return to_slabs;
}

/* Make the bins of a cache no reader can see any more refuse every pop and
 * push (before the registry let go of it, readers were reading them): back
 * onto the library's guard, as before the cache was set up. */
static void close_bins(struct kmem_tcache *tc)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        KMEM_RELAXED_STORE(bin->tb_sp, NO_STACK);
        bin->tb_low = NO_STACK;
        bin->tb_limit = NO_STACK;
        bin->tb_counts = NULL;
        bin->tb_fill = 0;
    }
}

/* Fold a cache's counters into the retired totals and forget it.
 * Registry lock held; the bins are already empty. */
static void retire_locked(struct kmem_tcache *tc)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        for (unsigned slot = 1; slot < KMEM_TYPE_SLOTS; slot++) {
            struct kmem_tcount *r = &retired[slot][b];
            uint64_t req, allocs = allocs_in(tc, b, slot, &req);
            retired_requests[b] += allocs;
            r->tn_allocs += allocs;
            r->tn_frees += frees_in(tc, b, slot);
            r->tn_req_bytes += req;
        }
    registry_unlink(tc);
}

/* Give a retired cache's block back to the arena. */
static size_t free_block(struct kmem_tcache *tc)
{
    size_t bytes = (size_t)tc->tc_block_pages << KMEM_PAGE_SHIFT;
    uint32_t page = kmem_page_index(tc->tc_block);
    if (page == KMEM_NO_PAGE || kmem_arena_free_block(page, KMEM_KIND_INTERNAL) == 0)
        kmem_panic("a thread cache's block is not kmem's own pages");
    tc->tc_block = NULL;
    return bytes;
}

size_t kmem_tcache_activate(struct kmem_tcache *tc, size_t *needed)
{
    if (!KMEM_THREAD_CACHE || tc->tc_state != KMEM_TC_NEW)
        return 0;
    size_t row = KMEM_TYPE_SLOTS * sizeof(struct kmem_tcount);
    size_t counts = KMEM_NBUCKETS * row, stacks = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        stacks += (1 + kmem_classes[b].kc_highwat) * sizeof(void *); /* guard, stack */
    *needed = counts + stacks;
    uint32_t npages = (uint32_t)((counts + stacks + KMEM_PAGE_MASK) >> KMEM_PAGE_SHIFT);
    struct kmem_page head = { KMEM_KIND_INTERNAL, 0, 0, npages };
    bool zeroed = false;
    uint32_t page = kmem_arena_alloc(npages, 1, head, KMEM_KIND_INTERNAL_TAIL, &zeroed);
    if (page == KMEM_NO_PAGE) {
        tc->tc_state = KMEM_TC_DEAD;
        return 0;
    }
    char *block = kmem_page_addr(page);
    if (!zeroed)
        __builtin_memset(block, 0, counts); /* the counters start at 0 */
    tc->tc_block = block;
    tc->tc_block_pages = npages;
    void **stack = (void **)(block + counts);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        bin->tb_counts = (struct kmem_tcount *)(block + (b - 1) * row);
        *stack++ = (void *)(uintptr_t)no_piece; /* the guard: tb_low[-1] */
        bin->tb_low = stack;
        bin->tb_fill = kmem_classes[b].kc_fill_first;
        bin->tb_limit = kmem_tbin_end(bin, b);
        KMEM_RELAXED_STORE(bin->tb_sp, stack);
        stack += kmem_classes[b].kc_highwat;
    }
    kmem_lock_acquire(&registry_lock);
    registry_link(tc);
    kmem_lock_release(&registry_lock);
    tc->tc_state = KMEM_TC_ACTIVE;
    return (size_t)npages << KMEM_PAGE_SHIFT;
}

size_t kmem_tcache_retire(struct kmem_tcache *tc, bool *to_slabs)
{
    *to_slabs = false;
    if (tc->tc_state != KMEM_TC_ACTIVE)
        return 0;
    tc->tc_state = KMEM_TC_SETUP; /* from here on, requests go around it */
    *to_slabs = empty_bins(tc, false);
    kmem_lock_acquire(&registry_lock);
    retire_locked(tc);
    kmem_lock_release(&registry_lock);
    close_bins(tc);
    size_t bytes = free_block(tc);
    tc->tc_state = KMEM_TC_DEAD;
    return bytes;
}

bool kmem_tcache_refill(struct kmem_tcache *tc, unsigned b)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    const struct kmem_class *c = &kmem_classes[b];
    kmem_bucket_lock(b);
    uint32_t n = kmem_bucket_take_locked(b, bin->tb_fill, bin->tb_low);
    KMEM_RELAXED_STORE(bin->tb_sp, bin->tb_low + n);
    kmem_bucket_unlock(b);
    bin->tb_limit = bin->tb_low; /* the next free samples (see kmem_fastpath.h) */
    if (n == 0)
        return false;
    bin->tb_fill = 2 * bin->tb_fill < c->kc_batch ? 2 * bin->tb_fill : c->kc_batch;
    return true;
}

bool kmem_tcache_drain(struct kmem_tcache *tc, unsigned b, uint32_t keep)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    uint32_t count = (uint32_t)(bin->tb_sp - bin->tb_low);
    if (count <= keep)
        return false;
    /* The oldest pieces (at the bottom) go; the most recently freed, warm
     * ones stay. */
    return give_bottom(bin, b, count - keep) != 0;
}

unsigned kmem_tcache_make_room(struct kmem_tcache *tc, unsigned b)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    void **end = kmem_tbin_end(bin, b);
    unsigned what = 0;
    if (bin->tb_limit != end) {
        bin->tb_limit = end;
        what |= KMEM_TC_RUN_ENDED;
    }
    if (bin->tb_sp == end) {
        what |= KMEM_TC_DRAINED;
        if (kmem_tcache_drain(tc, b, kmem_tbin_room(bin, b) / 2))
            what |= KMEM_TC_TO_SLABS;
    }
    return what;
}

bool kmem_tcache_flush(struct kmem_tcache *tc)
{
    bool to_slabs = false;
    if (tc->tc_state != KMEM_TC_ACTIVE)
        return false;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        if (kmem_tcache_drain(tc, b, 0))
            to_slabs = true;
    return to_slabs;
}

bool kmem_tcache_registry_lock(bool try)
{
    if (try)
        return kmem_lock_try(&registry_lock);
    kmem_lock_acquire(&registry_lock);
    return true;
}

void kmem_tcache_registry_unlock(void)
{
    kmem_lock_release(&registry_lock);
}

/* The frees counted in `slot`, by bucket, retired and live. */
static void sum_frees(unsigned slot, uint64_t frees[KMEM_NBUCKETS + 1])
{
    for (unsigned b = 0; b <= KMEM_NBUCKETS; b++)
        frees[b] = retired[slot][b].tn_frees;
    for (struct kmem_tcache *tc = registry; tc != NULL; tc = tc->tc_next)
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
            frees[b] += frees_in(tc, b, slot);
}

void kmem_tcache_sum_slot(unsigned slot, struct kmem_tsum *sum)
{
    sum_frees(slot, sum->frees);
    sum->req_bytes = 0;
    for (unsigned b = 0; b <= KMEM_NBUCKETS; b++) {
        sum->allocs[b] = retired[slot][b].tn_allocs;
        sum->req_bytes += retired[slot][b].tn_req_bytes;
    }
    for (struct kmem_tcache *tc = registry; tc != NULL; tc = tc->tc_next)
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
            uint64_t req;
            sum->allocs[b] += allocs_in(tc, b, slot, &req);
            sum->req_bytes += req;
        }
    sum_frees(slot, sum->frees_late);
}

int64_t kmem_tcache_own_bytes(struct kmem_tcache *tc, unsigned slot)
{
    int64_t bytes = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        int64_t net = (int64_t)(allocs_in(tc, b, slot, NULL) - frees_in(tc, b, slot));
        bytes += net * (int64_t)kmem_classes[b].kc_size;
    }
    return bytes;
}

void kmem_tcache_sum_bins(uint64_t cached[KMEM_NBUCKETS + 1],
                          uint64_t requests[KMEM_NBUCKETS + 1])
{
    kmem_lock_acquire(&registry_lock);
    for (unsigned b = 0; b <= KMEM_NBUCKETS; b++) {
        cached[b] = 0;
        requests[b] = retired_requests[b];
    }
    for (struct kmem_tcache *tc = registry; tc != NULL; tc = tc->tc_next)
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
            cached[b] += kmem_tbin_count(&tc->tc_bins[b]);
            for (unsigned slot = 1; slot < KMEM_TYPE_SLOTS; slot++)
                requests[b] += allocs_in(tc, b, slot, NULL);
        }
    kmem_lock_release(&registry_lock);
}

bool kmem_tcache_fork(enum kmem_fork_phase phase)
{
    return kmem_lock_fork(&registry_lock, phase);
}

void kmem_tcache_repair_self(void)
{
    repairs_at_fork++;
    struct kmem_tcache *self = kmem_tcache_self();
    if (self->tc_state != KMEM_TC_ACTIVE)
        return;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        tidy_bin(&self->tc_bins[b]);
}

uint32_t kmem_tcache_retire_lost(size_t *bytes)
{
    /* Only the forking thread lives on; the others' caches are still in
     * memory (the child has a copy of it) and go back. */
    struct kmem_tcache *self = kmem_tcache_self();
    uint32_t lost = 0;
    *bytes = 0;
    struct kmem_tcache *tc = registry;
    while (tc != NULL) {
        struct kmem_tcache *next = tc->tc_next;
        if (tc != self) {
            lost++;
            empty_bins(tc, true);
            retire_locked(tc);
            close_bins(tc);
            *bytes += free_block(tc);
        }
        tc = next;
    }
    lost_at_fork += lost;
    return lost;
}

uint32_t kmem_tcache_lost_at_fork(void)
{
    return lost_at_fork;
}

void kmem_tcache_note_lost(uint32_t n)
{
    lost_at_fork += n;
}

uint32_t kmem_tcache_repairs_at_fork(void)
{
    return repairs_at_fork;
}
