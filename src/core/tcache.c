/*
 * tcache.c — per-thread caches: activation, batch exchange with the
 * buckets, thread exit, and the registry readers add counters over.
 */
#include "tcache.h"

#include "../platform/platform.h"
#include "bucket.h"
#include "lock.h"
#include "type.h"

#if KMEM_THREAD_CACHE
KMEM_API __thread struct kmem_tcache KMEM_ABI(kmem_tcache)
    __attribute__((tls_model("initial-exec")));
#else
KMEM_API struct kmem_tcache KMEM_ABI(kmem_tcache);
#endif

static kmem_lock registry_lock = KMEM_LOCK_INIT;
static struct kmem_tcache *registry;                    /* [R] live caches */
static uint64_t registry_count;                         /* [R] */
static uint64_t retired_requests[KMEM_NBUCKETS + 1];    /* [R] from exited threads */

static void registry_link(struct kmem_tcache *tc)
{
    tc->tc_prev = NULL;
    tc->tc_next = registry;
    if (registry != NULL)
        registry->tc_prev = tc;
    registry = tc;
    KMEM_RELAXED_STORE(registry_count, registry_count + 1);
}

static void registry_unlink(struct kmem_tcache *tc)
{
    if (tc->tc_prev != NULL)
        tc->tc_prev->tc_next = tc->tc_next;
    else
        registry = tc->tc_next;
    if (tc->tc_next != NULL)
        tc->tc_next->tc_prev = tc->tc_prev;
    KMEM_RELAXED_STORE(registry_count, registry_count - 1);
}

/* Fold a cache's counters into the shared ones and forget it. Registry
 * lock held; the cache's bins are already empty. */
static void retire_locked(struct kmem_tcache *tc)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        retired_requests[b] += tc->tc_bins[b].tb_requests;
        KMEM_RELAXED_STORE(tc->tc_bins[b].tb_requests, 0);
    }
    kmem_types_absorb(tc->tc_stats);
    registry_unlink(tc);
}

static void drain_all(struct kmem_tcache *tc)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        kmem_tcache_drain(tc, b, 0);
        KMEM_RELAXED_STORE(tc->tc_bins[b].tb_max, 0);
    }
}

static void tcache_exit(void *arg)
{
    struct kmem_tcache *tc = arg;
    if (tc->tc_state != KMEM_TC_ACTIVE)
        return;
    tc->tc_state = KMEM_TC_SETUP; /* frees from here on go around it */
    drain_all(tc);
    kmem_lock_acquire(&registry_lock);
    retire_locked(tc);
    kmem_lock_release(&registry_lock);
    tc->tc_state = KMEM_TC_DEAD;
}

struct kmem_tcache *kmem_tcache_get(void)
{
    struct kmem_tcache *tc = kmem_tcache_self();
    if (tc->tc_state == KMEM_TC_ACTIVE)
        return tc;
    if (!KMEM_THREAD_CACHE || tc->tc_state != KMEM_TC_NEW)
        return NULL;
    tc->tc_state = KMEM_TC_SETUP;
    /* This may allocate (a C library's key storage); those requests see
     * SETUP and go around the cache. */
    (void)kmem_os_at_thread_exit(tcache_exit, tc);
    kmem_lock_acquire(&registry_lock);
    registry_link(tc);
    kmem_lock_release(&registry_lock);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        KMEM_RELAXED_STORE(tc->tc_bins[b].tb_max, kmem_classes[b].kc_highwat);
    tc->tc_state = KMEM_TC_ACTIVE;
    return tc;
}

bool kmem_tcache_refill(struct kmem_tcache *tc, unsigned b)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    void *chain;
    uint32_t n = kmem_bucket_take(b, kmem_classes[b].kc_batch, &chain);
    if (n == 0)
        return false;
    /* The bin is empty when it is refilled; the chain ends in NULL. */
    bin->tb_head = chain;
    KMEM_RELAXED_STORE(bin->tb_count, n);
    return true;
}

void kmem_tcache_drain(struct kmem_tcache *tc, unsigned b, uint32_t keep)
{
    struct kmem_tbin *bin = &tc->tc_bins[b];
    if (bin->tb_count <= keep)
        return;
    uint32_t give = bin->tb_count - keep;
    void *chain;
    if (keep == 0) {
        chain = bin->tb_head;
        bin->tb_head = NULL;
    } else {
        /* Keep the most recently freed pieces: they are warm. */
        void **last = bin->tb_head;
        for (uint32_t i = 1; i < keep; i++)
            last = *last;
        chain = *last;
        *last = NULL;
    }
    KMEM_RELAXED_STORE(bin->tb_count, keep);
    kmem_bucket_give(b, chain, give);
}

void kmem_tcache_flush_self(void)
{
    struct kmem_tcache *tc = kmem_tcache_self();
    if (tc->tc_state != KMEM_TC_ACTIVE)
        return;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        kmem_tcache_drain(tc, b, 0);
}

void kmem_tcache_sum_slot(unsigned slot, struct kmem_tstat *sum)
{
    kmem_lock_acquire(&registry_lock);
    for (struct kmem_tcache *tc = registry; tc != NULL; tc = tc->tc_next) {
        const struct kmem_tstat *s = &tc->tc_stats[slot];
        sum->ts_calls += KMEM_RELAXED_LOAD(s->ts_calls);
        sum->ts_frees += KMEM_RELAXED_LOAD(s->ts_frees);
        sum->ts_alloc_bytes += KMEM_RELAXED_LOAD(s->ts_alloc_bytes);
        sum->ts_req_bytes += KMEM_RELAXED_LOAD(s->ts_req_bytes);
        sum->ts_net += KMEM_RELAXED_LOAD(s->ts_net);
    }
    kmem_lock_release(&registry_lock);
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
            cached[b] += KMEM_RELAXED_LOAD(tc->tc_bins[b].tb_count);
            requests[b] += KMEM_RELAXED_LOAD(tc->tc_bins[b].tb_requests);
        }
    kmem_lock_release(&registry_lock);
}

uint64_t kmem_tcache_count(void)
{
    return KMEM_RELAXED_LOAD(registry_count);
}

void kmem_tcache_lock_all(void)
{
    kmem_lock_acquire(&registry_lock);
}

void kmem_tcache_unlock_all(void)
{
    kmem_lock_release(&registry_lock);
}

void kmem_tcache_after_fork_child(void)
{
    /* Only the forking thread lives on; the others' caches are still in
     * memory (the child has a copy of it) and go back to the buckets. */
    kmem_lock_reset(&registry_lock);
    struct kmem_tcache *self = kmem_tcache_self();
    struct kmem_tcache *tc = registry;
    while (tc != NULL) {
        struct kmem_tcache *next = tc->tc_next;
        if (tc != self) {
            /* Its thread may have been between two stores of a push or a
             * pop: trust the chain, not the count. */
            for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
                struct kmem_tbin *bin = &tc->tc_bins[b];
                uint32_t n = 0;
                for (void **p = bin->tb_head; p != NULL && n <= bin->tb_count; p = *p)
                    n++;
                if (n > 0)
                    kmem_bucket_give(b, bin->tb_head, n);
                bin->tb_head = NULL;
                bin->tb_count = 0;
                bin->tb_max = 0;
            }
            retire_locked(tc);
        }
        tc = next;
    }
}
