/*
 * tcache.h — per-thread caches in front of the buckets.
 *
 * Each thread has one bin per bucket: a stack of free pieces, at most
 * kc_highwat of them. A malloc that finds its bin non-empty and a free that
 * finds room touch only the thread's own memory (kmem_cache_pop/push in
 * kmem_fastpath.h). An empty bin takes kc_batch pieces from the bucket in
 * one locked exchange; a full bin gives its oldest half back. So a thread
 * that stops allocating holds at most sum(kc_highwat * kc_size) bytes in
 * its cache: 896 KiB with four classes per doubling, 252 KiB with the 1988
 * buckets (KMEM_TCACHE_BYTES scales it); when it exits, its cache goes back
 * to the buckets.
 *
 * The cache also counts, per type slot and bucket, the allocations and
 * frees it served (tc_counts), and the bytes requested per slot (tc_req);
 * readers add them up under the registry lock. The stacks and the counters
 * live in one block (tc_block) that kmem allocates for itself, under the
 * type "kmem", when the thread first allocates.
 *
 * States (tc_state): NEW, never used; ACTIVE; SETUP, being activated or
 * torn down (its own requests go around it); DEAD, the thread has exited
 * or the block could not be had (requests go around it).
 */
#ifndef KMEM_TCACHE_H
#define KMEM_TCACHE_H

#include "core/bucket/bucket.h"
#include "core/base/config.h"
#include "core/base/lock.h"

#define KMEM_TC_NEW    0
#define KMEM_TC_ACTIVE 1
#define KMEM_TC_SETUP  2
#define KMEM_TC_DEAD   3

static inline struct kmem_tcache *kmem_tcache_self(void)
{
    return &KMEM_ABI(kmem_tcache);
}

/* Pieces in a bin. */
static inline uint32_t kmem_tbin_count(const struct kmem_tbin *bin)
{
    return (uint32_t)(KMEM_RELAXED_LOAD(bin->tb_sp) - bin->tb_low);
}

/* The end of bin b's stack. */
static inline void **kmem_tbin_end(const struct kmem_tbin *bin, unsigned b)
{
    return bin->tb_low + kmem_classes[b].kc_highwat;
}

/* The calling thread's cache if it can be used, activating it on first
 * use; NULL if it cannot (being set up, or after thread exit). */
struct kmem_tcache *kmem_tcache_get(void);

/* Fill bin b of tc (empty) from its bucket. Returns false if the arena is
 * out of pages. */
bool kmem_tcache_refill(struct kmem_tcache *tc, unsigned b);

/* Give bin b's pieces beyond the `keep` most recently freed back. */
void kmem_tcache_drain(struct kmem_tcache *tc, unsigned b, uint32_t keep);

/* Give all of the calling thread's cached pieces back. */
void kmem_tcache_flush_self(void);

/* A type's figures as counted by thread caches. */
struct kmem_tsum {
    uint64_t calls, frees;
    uint64_t alloc_bytes, free_bytes; /* rounded sizes */
    uint64_t req_bytes;
};

/* The registry lock keeps caches from retiring (folding their counters
 * into the types') while a reader adds them up. With `try`, give up
 * (returning false) rather than wait. */
bool kmem_tcache_registry_lock(bool try);
void kmem_tcache_registry_unlock(void);

/* Registry lock held: add every live cache's frees (calls) of `slot`. */
void kmem_tcache_sum_frees(unsigned slot, struct kmem_tsum *sum);
void kmem_tcache_sum_allocs(unsigned slot, struct kmem_tsum *sum);

/* Per bucket: pieces held by caches, and requests they served (live caches
 * plus those folded in from exited threads). */
void kmem_tcache_sum_bins(uint64_t cached[KMEM_NBUCKETS + 1],
                          uint64_t requests[KMEM_NBUCKETS + 1]);

/* Around fork(): the registry lock; in the child, the caches of threads
 * that did not survive the fork go back to the buckets. */
void kmem_tcache_fork(enum kmem_fork_phase phase);

/* Threads whose caches a fork child inherited without the threads. Each
 * may have been in the middle of an operation that no lock covers (a pop
 * or push and its counting, a large block and its type's count), so the
 * child's statistics can be off by what they had in flight. */
uint32_t kmem_tcache_lost_at_fork(void);

#endif /* KMEM_TCACHE_H */
