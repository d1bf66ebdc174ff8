/*
 * tcache.c — per-thread caches: activation, batch exchange with the
 * buckets, thread exit, and the registry readers add counters over.
 */
#include "core/tcache/tcache.h"

#include "platform/platform.h"
#include "core/alloc/alloc.h"
#include "core/bucket/bucket.h"
#include "core/base/lock.h"
#include "core/alloc/reclaim.h"
#include "core/type/type.h"

#if KMEM_THREAD_CACHE
KMEM_API __thread struct kmem_tcache KMEM_ABI(kmem_tcache)
    __attribute__((tls_model("initial-exec")));
#else
KMEM_API struct kmem_tcache KMEM_ABI(kmem_tcache);
#endif

/* The memory behind the caches is kmem's own, and shows as such. */
static KMEM_TYPE_DEFINE(M_KMEM, "kmem", "kmem's own thread caches");

static kmem_lock registry_lock = KMEM_LOCK_INIT;
static struct kmem_tcache *registry;                    /* [R] live caches */
static uint64_t retired_requests[KMEM_NBUCKETS + 1];    /* [R] from exited threads */
static uint32_t lost_at_fork; /* caches of threads that did not survive a fork */

/* The counters of a bin for a slot. */
static struct kmem_tcount *count_of(struct kmem_tcache *tc, unsigned b, unsigned slot)
{
    return &tc->tc_bins[b].tb_counts[slot];
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

/* Give every cached piece back and make the bins refuse. Each bin is
 * emptied under its bucket's lock, so that a fork() sees its pieces either
 * in the cache or in the bucket, never in both. */
static void empty_bins(struct kmem_tcache *tc, bool restamp)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        if (bin->tb_sp != bin->tb_low) {
            uint32_t n = (uint32_t)(bin->tb_sp - bin->tb_low);
            /* In a fork child, the cache of a thread that did not survive
             * may have been stopped in a push between storing the piece
             * and writing its free key. */
            if (restamp)
                for (uint32_t i = 0; i < n; i++)
                    ((uintptr_t *)bin->tb_low[i])[1] = kmem_free_key(bin->tb_low[i]);
            kmem_bucket_lock(b);
            uint32_t to_slabs = kmem_bucket_give_locked(b, bin->tb_low, n);
            KMEM_RELAXED_STORE(bin->tb_sp, bin->tb_low);
            kmem_bucket_unlock(b);
            if (to_slabs != 0)
                kmem_reclaim_poke();
        }
        KMEM_RELAXED_STORE(bin->tb_sp, NULL);
        bin->tb_low = NULL;
        bin->tb_limit = NULL;
        /* tb_counts stays, for retire_locked; the block goes after it. */
    }
}

/* Fold a cache's counters into the shared ones and forget it. Registry
 * lock held; the bins are already empty. */
static void retire_locked(struct kmem_tcache *tc)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        for (unsigned slot = 1; slot < KMEM_TYPE_SLOTS; slot++)
            retired_requests[b] += count_of(tc, b, slot)->tn_allocs;
    kmem_types_absorb(tc);
    registry_unlink(tc);
}

static void tcache_exit(void *arg)
{
    struct kmem_tcache *tc = arg;
    if (tc->tc_state != KMEM_TC_ACTIVE)
        return;
    tc->tc_state = KMEM_TC_SETUP; /* from here on, requests go around it */
    empty_bins(tc, false);
    kmem_lock_acquire(&registry_lock);
    retire_locked(tc);
    kmem_lock_release(&registry_lock);
    kmem_dealloc(tc->tc_block, M_KMEM, "kmem thread exit");
    tc->tc_block = NULL;
    tc->tc_state = KMEM_TC_DEAD;
}

struct kmem_tcache *kmem_tcache_get(void)
{
    struct kmem_tcache *tc = kmem_tcache_self();
    if (tc->tc_state == KMEM_TC_ACTIVE)
        return tc;
    if (!KMEM_THREAD_CACHE || tc->tc_state != KMEM_TC_NEW)
        return NULL;
    tc->tc_state = KMEM_TC_SETUP; /* its own requests below go around it */
    size_t row = KMEM_TYPE_SLOTS * sizeof(struct kmem_tcount);
    size_t counts = KMEM_NBUCKETS * row, stacks = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        stacks += kmem_classes[b].kc_highwat * sizeof(void *);
    char *block = kmem_alloc(counts + stacks, M_KMEM, KM_NOWAIT | KM_ZERO, "kmem thread cache");
    if (block == NULL) {
        tc->tc_state = KMEM_TC_DEAD;
        return NULL;
    }
    /* This may allocate (a C library's key storage). */
    (void)kmem_os_at_thread_exit(tcache_exit, tc);
    tc->tc_block = block;
    void **stack = (void **)(block + counts);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        bin->tb_counts = (struct kmem_tcount *)(block + (b - 1) * row);
        bin->tb_low = stack;
        bin->tb_limit = stack + kmem_classes[b].kc_highwat;
        KMEM_RELAXED_STORE(bin->tb_sp, stack);
        stack = bin->tb_limit;
    }
    kmem_lock_acquire(&registry_lock);
    registry_link(tc);
    kmem_lock_release(&registry_lock);
    tc->tc_state = KMEM_TC_ACTIVE;
    return tc;
}

/* Refill and drain change the bin's stack pointer under the bucket's
 * lock, in the same step as the bucket: fork() takes every bucket lock, so
 * a child never finds a batch both in the bucket and in a cache (which
 * would hand it out twice), nor in neither. */
bool kmem_tcache_refill(struct kmem_tcache *tc, unsigned b)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    kmem_bucket_lock(b);
    uint32_t n = kmem_bucket_take_locked(b, kmem_classes[b].kc_batch, bin->tb_low);
    KMEM_RELAXED_STORE(bin->tb_sp, bin->tb_low + n);
    kmem_bucket_unlock(b);
    bin->tb_limit = bin->tb_low; /* the next free samples (see kmem_fastpath.h) */
    return n != 0;
}

void kmem_tcache_drain(struct kmem_tcache *tc, unsigned b, uint32_t keep)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    uint32_t count = (uint32_t)(bin->tb_sp - bin->tb_low);
    if (count <= keep)
        return;
    /* The oldest pieces (at the bottom) go; the most recently freed, warm
     * ones stay. */
    uint32_t give = count - keep;
    kmem_bucket_lock(b);
    uint32_t to_slabs = kmem_bucket_give_locked(b, bin->tb_low, give);
    __builtin_memmove(bin->tb_low, bin->tb_low + give, keep * sizeof(void *));
    KMEM_RELAXED_STORE(bin->tb_sp, bin->tb_low + keep);
    kmem_bucket_unlock(b);
    if (to_slabs != 0)
        kmem_reclaim_poke();
}

void kmem_tcache_flush_self(void)
{
    struct kmem_tcache *tc = kmem_tcache_self();
    if (tc->tc_state != KMEM_TC_ACTIVE)
        return;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        kmem_tcache_drain(tc, b, 0);
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

void kmem_tcache_sum_frees(unsigned slot, struct kmem_tsum *sum)
{
    for (struct kmem_tcache *tc = registry; tc != NULL; tc = tc->tc_next)
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
            /* Acquire: the allocations read after this are at least as new. */
            uint64_t frees = __atomic_load_n(&count_of(tc, b, slot)->tn_frees, __ATOMIC_ACQUIRE);
            sum->frees += frees;
            sum->free_bytes += frees * kmem_classes[b].kc_size;
        }
}

void kmem_tcache_sum_allocs(unsigned slot, struct kmem_tsum *sum)
{
    for (struct kmem_tcache *tc = registry; tc != NULL; tc = tc->tc_next)
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
            const struct kmem_tcount *c = count_of(tc, b, slot);
            uint64_t allocs = KMEM_RELAXED_LOAD(c->tn_allocs);
            sum->calls += allocs;
            sum->alloc_bytes += allocs * kmem_classes[b].kc_size;
            sum->req_bytes += KMEM_RELAXED_LOAD(c->tn_req_bytes);
        }
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
                requests[b] += KMEM_RELAXED_LOAD(count_of(tc, b, slot)->tn_allocs);
        }
    kmem_lock_release(&registry_lock);
}

uint32_t kmem_tcache_lost_at_fork(void)
{
    return lost_at_fork;
}

void kmem_tcache_fork(enum kmem_fork_phase phase)
{
    kmem_lock_fork(&registry_lock, phase);
    if (phase != KMEM_FORK_CHILD)
        return;
    /* Only the forking thread lives on, under a new id; the others' caches
     * are still in memory (the child has a copy of it) and go back to the
     * buckets. */
    struct kmem_tcache *self = kmem_tcache_self();
    self->tc_tid = 0;
    struct kmem_tcache *tc = registry;
    while (tc != NULL) {
        struct kmem_tcache *next = tc->tc_next;
        if (tc != self) {
            lost_at_fork++;
            empty_bins(tc, true);
            retire_locked(tc);
            kmem_dealloc(tc->tc_block, M_KMEM, "kmem fork");
        }
        tc = next;
    }
}
