/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcache.h — per-thread caches in front of the buckets.
 *
 * Each thread has one bin per bucket: a stack of free pieces. A malloc that
 * finds its bin non-empty and a free that finds room touch only the
 * thread's own memory (kmem_cache_pop/push in include/kmem_fastpath.h, the
 * one definition of pop and push). An empty bin takes tb_fill pieces from
 * the bucket in one locked exchange; a full bin gives its oldest half back.
 * The fill grows with the bin's refills, and the room with it:
 *
 *     set up        tb_fill = kc_fill_first (4)
 *     each refill   tb_fill = min(2 * tb_fill, kc_batch)
 *     room          max(kc_room_least, 2 * tb_fill) <= kc_highwat
 *                   (kc_room_least: kc_highwat / 4, at least 2 * kc_fill_first)
 *
 * so a size the thread uses a few times costs a few pieces, not a batch of
 * them, and a thread that only frees a size (a consumer of what others
 * allocate) never refills it and keeps at most kc_room_least of it. A
 * thread that stops allocating holds at most sum(kc_highwat * kc_size)
 * bytes in its cache: 1172 KiB with the default classes, 252 KiB with
 * the 1988 buckets (KMEM_TCACHE_BYTES scales it); when it exits, its cache
 * goes back to the buckets.
 *
 * The cache also counts, per type slot and bucket, the allocations, frees
 * and requested bytes it served (struct kmem_tcount, tb_counts). Slots are
 * numbers the type layer hands out; this layer knows nothing of types.
 * When a cache retires, its counts are folded into per-slot totals kept
 * here, so that a slot's figure in a bucket is always
 *
 *     retired[slot][b] + sum over live caches of their counts in slot, b.
 *
 * The stacks and counters live in one block of whole pages taken from the
 * arena (page kind KMEM_KIND_INTERNAL: never a block a program may free).
 *
 * States (tc_state): NEW, never used; ACTIVE; SETUP, being torn down (its
 * own requests go around it); DEAD, the thread has exited or the block
 * could not be had (requests go around it).
 */
#ifndef KMEM_TCACHE_H
#define KMEM_TCACHE_H

#include "core/base/config.h"
#include "core/base/lock.h"
#include "core/bucket/bucket.h"

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

/* The most pieces bin b holds (see above): at most the bucket's
 * kc_highwat, the stack's size, since tb_fill <= kc_batch. */
static inline uint32_t kmem_tbin_room(const struct kmem_tbin *bin, unsigned b)
{
    uint32_t least = kmem_classes[b].kc_room_least;
    return 2 * bin->tb_fill > least ? 2 * bin->tb_fill : least;
}

/* Where bin b is full. */
static inline void **kmem_tbin_end(const struct kmem_tbin *bin, unsigned b)
{
    return bin->tb_low + kmem_tbin_room(bin, b);
}

/* Set up the calling thread's cache (state NEW): its block from the arena,
 * and it joins the registry. Returns the bytes the block takes (whole
 * pages; *needed: the bytes of stacks and counters in it), or 0 when it
 * cannot be had: the cache is then DEAD. */
size_t kmem_tcache_activate(struct kmem_tcache *tc, size_t *needed);

/* The thread of an ACTIVE cache exits: its pieces go back to the buckets,
 * its counts into the retired totals, its block back to the arena; DEAD
 * after. Returns the bytes of the block (0 if the cache was not active).
 * *to_slabs: whether pieces went back onto slabs (idle memory). */
size_t kmem_tcache_retire(struct kmem_tcache *tc, bool *to_slabs);

/* Fill bin b of tc (empty) from its bucket. Returns false if the arena is
 * out of pages. */
bool kmem_tcache_refill(struct kmem_tcache *tc, unsigned b);

/* Give bin b's pieces beyond the `keep` most recently freed back. Returns
 * whether some went back onto slabs. */
bool kmem_tcache_drain(struct kmem_tcache *tc, unsigned b, uint32_t keep);

/* What making room for a free did (kmem_tcache_make_room). */
#define KMEM_TC_RUN_ENDED 0x1 /* the first free after a refill: the end of a
                                 run of allocations, where a type's use may
                                 have peaked */
#define KMEM_TC_DRAINED   0x2 /* the bin was full and gave half back */
#define KMEM_TC_TO_SLABS  0x4 /* ... and some went onto slabs */

/* A free that kmem_cache_push could not take for bucket b: restore the
 * bin's limit after a refill, and drain a full bin, so that the push can
 * go ahead. Returns KMEM_TC_* bits for the caller to act on. */
unsigned kmem_tcache_make_room(struct kmem_tcache *tc, unsigned b);

/* Give all of the cache's pieces back; true if some went onto slabs. */
bool kmem_tcache_flush(struct kmem_tcache *tc);

/* A slot's figures as counted by thread caches, by bucket: the frees read
 * before the allocations and again after them (frees_late). */
struct kmem_tsum {
    uint64_t allocs[KMEM_NBUCKETS + 1];
    uint64_t frees[KMEM_NBUCKETS + 1];
    uint64_t frees_late[KMEM_NBUCKETS + 1];
    uint64_t req_bytes;
};

/* The registry lock keeps caches from retiring (folding their counters
 * into the retired totals) while a reader adds them up. With `try`, give
 * up (returning false) rather than wait. */
bool kmem_tcache_registry_lock(bool try);
void kmem_tcache_registry_unlock(void);

/* Registry lock held: the frees, then the allocations, then the frees
 * again, counted in `slot` by live caches and retired ones, into *sum
 * (overwritten). While other threads go on, with A(t) and F(t) the counts
 * at time t, and the three reads at t1 < t2 < t3:
 *
 *     allocs - frees      = A(t2) - F(t1) >= A(t2) - F(t2)  (every free
 *                           seen has its allocation seen: never below 0)
 *     allocs - frees_late = A(t2) - F(t3) <= A(t2) - F(t2)  (never above
 *                           what was in use at t2: for high-water marks)
 *
 * The gap between the two is what the other threads did during the read,
 * which is large when the reading thread is descheduled in the middle. */
void kmem_tcache_sum_slot(unsigned slot, struct kmem_tsum *sum);

/* The bytes of pieces that the calling thread's cache `tc` counted out
 * and not back in, in `slot` (allocations - frees, by bucket size): its
 * own part of the slot's memuse, read without the registry lock. */
int64_t kmem_tcache_own_bytes(struct kmem_tcache *tc, unsigned slot);

/* Per bucket: pieces held by caches, and requests they served (live caches
 * plus those retired). */
void kmem_tcache_sum_bins(uint64_t cached[KMEM_NBUCKETS + 1],
                          uint64_t requests[KMEM_NBUCKETS + 1]);

/* Around fork(): the registry lock (see kmem_lock_fork, whose answer it
 * returns). Registering and unlinking a cache leave the list whole for a
 * walk from its head at every step, so an interrupted one needs no
 * repair. */
bool kmem_tcache_fork(enum kmem_fork_phase phase);

/* In a fork child whose parent's fork interrupted this thread inside kmem
 * (a lock of a bucket or the arena was skipped): keep in each of the
 * thread's bins only the pieces that belong there, each once (see
 * kmem_tcache_retire_lost). */
void kmem_tcache_repair_self(void);

/* Fork children in this process's line that repaired so (their parent's
 * fork() interrupted kmem): the statistics may be off by what the repair
 * left out of use. */
uint32_t kmem_tcache_repairs_at_fork(void);

/* In a fork child, after kmem_tcache_fork(KMEM_FORK_CHILD): retire the
 * caches of the threads that did not survive the fork (their memory is
 * still there, a copy of the parent's). Returns how many; *bytes: their
 * blocks' bytes in all. */
uint32_t kmem_tcache_retire_lost(size_t *bytes);

/* Threads whose caches this process inherited without the threads, at
 * forks. Each may have been in the middle of an operation that no lock
 * covers (a pop or push and its counting, a large block and its type's
 * count), so the statistics can be off by what they had in flight. */
uint32_t kmem_tcache_lost_at_fork(void);

/* Count n more threads lost at a fork that had no caches to retire
 * (KMEM_DEBUG: no thread has one). */
void kmem_tcache_note_lost(uint32_t n);

#endif /* KMEM_TCACHE_H */
