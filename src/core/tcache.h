/*
 * tcache.h — per-thread caches in front of the buckets.
 *
 * Each thread has one bin per bucket: a LIFO chain of free pieces, at most
 * kc_highwat of them. A malloc that finds its bin non-empty and a free that
 * finds room touch only the thread's own memory (kmem_cache_pop/push in
 * kmem_fastpath.h). An empty bin takes kc_batch pieces from the bucket in
 * one locked exchange; a full bin gives half of them back. So a thread
 * that stops allocating holds at most sum(kc_highwat * kc_size) bytes in
 * its cache; when it exits, its cache goes back to the buckets.
 *
 * The cache also holds the thread's counters per type slot (tc_stats) and
 * per bin (tb_requests); readers add them up under the registry lock.
 *
 * States (tc_state): NEW, never used; ACTIVE; SETUP, being activated (its
 * own mallocs go around it); DEAD, the thread has exited (later mallocs
 * from other destructors go around it).
 */
#ifndef KMEM_TCACHE_H
#define KMEM_TCACHE_H

#include "config.h"

#define KMEM_TC_NEW    0
#define KMEM_TC_ACTIVE 1
#define KMEM_TC_SETUP  2
#define KMEM_TC_DEAD   3

static inline struct kmem_tcache *kmem_tcache_self(void)
{
    return &KMEM_ABI(kmem_tcache);
}

/* The calling thread's cache if it can be used, activating it on first
 * use; NULL if it cannot (being set up, or after thread exit). */
struct kmem_tcache *kmem_tcache_get(void);

/* Fill bin b of tc from its bucket. Returns false if the arena is out of
 * pages. */
bool kmem_tcache_refill(struct kmem_tcache *tc, unsigned b);

/* Give bin b's pieces beyond `keep` back to the bucket. */
void kmem_tcache_drain(struct kmem_tcache *tc, unsigned b, uint32_t keep);

/* Give all of the calling thread's cached pieces back. */
void kmem_tcache_flush_self(void);

/* Add every live cache's counters of `slot` into *sum. */
void kmem_tcache_sum_slot(unsigned slot, struct kmem_tstat *sum);

/* Per bucket: pieces held by caches, and requests served by them (live
 * caches plus those folded in from exited threads). */
void kmem_tcache_sum_bins(uint64_t cached[KMEM_NBUCKETS + 1],
                          uint64_t requests[KMEM_NBUCKETS + 1]);

/* Number of live thread caches. */
uint64_t kmem_tcache_count(void);

void kmem_tcache_lock_all(void);
void kmem_tcache_unlock_all(void);
/* In a fork child: caches of threads that did not survive the fork go back. */
void kmem_tcache_after_fork_child(void);

#endif /* KMEM_TCACHE_H */
