/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * type.h — types: the registry, each type's statistics, and limits with
 * waiting.
 *
 * A type's figures are the sum of its shared counters (struct kmem_type,
 * updated atomically) and, if it has a slot, of every thread cache's
 * counters in that slot. The fast path counts in the thread's slot; a type
 * with a limit counts only in its shared counters (ks_fast is 0), under
 * the types lock, so that the limit check sees every byte.
 *
 *   memuse = (ks_alloc_bytes - ks_free_bytes)
 *          + (retired.alloc_bytes - retired.free_bytes) of its slot
 *          + sum over live caches and buckets b of
 *            (tn_allocs - tn_frees) * size(b) in its slot
 *
 * and, over all types, sum of memuse == small_inuse + large_inuse +
 * internal (core/alloc/stats.c checks it).
 */
#ifndef KMEM_TYPE_H
#define KMEM_TYPE_H

#include "core/base/config.h"
#include "core/base/lock.h"

void kmem_type_register(struct kmem_type *type);

/* The C library's type ("malloc"). Its slot is always KMEM_SLOT_LIBC,
 * the one whose counts the thread caches also keep in each bin (tb_own),
 * and it is never limited, so the drop-in's fast paths count there
 * without reading the record:
 *
 *     kmem_type_libc.ks_fast == KMEM_LIBC_FAST, at all times
 *     (typed calls that name it count in the row, as for any type).
 *
 * It registers (and is listed) on its first slow path, as every type does;
 * kmem_types_foreach, which the totals are added over, includes it before
 * that too. */
extern struct kmem_type kmem_type_libc;
#define KMEM_SLOT_LIBC KMEM_TSLOT_OWN
#define KMEM_LIBC_FAST ((uint32_t)(KMEM_SLOT_LIBC * sizeof(struct kmem_tcount)))

static inline void kmem_type_ensure(struct kmem_type *type)
{
    if (__atomic_load_n(&type->ks_id, __ATOMIC_ACQUIRE) == 0)
        kmem_type_register(type);
}

static inline bool kmem_type_limited(const struct kmem_type *type)
{
    return KMEM_RELAXED_LOAD(type->ks_limit) != 0;
}

/* What a block is, for the counters: a piece of bucket b (1..), or
 * `bytes` of whole pages (b = 0). */
struct kmem_size {
    unsigned sz_bucket;
    size_t sz_bytes; /* rounded: the bucket's size, or whole pages */
};

/* Count in the shared counters: an allocation (`requested` bytes asked
 * for), a free, or a change of size in place of whole pages. */
void kmem_type_count_alloc(struct kmem_type *type, struct kmem_size size, size_t requested);
void kmem_type_count_free(struct kmem_type *type, struct kmem_size size);
void kmem_type_count_resize(struct kmem_type *type, size_t old_bytes, size_t new_bytes);

/*
 * Admit a block of `size` for a type (an allocation if `is_alloc`, else
 * growth in place by size.sz_bytes of whole pages). Without a limit:
 * KMEM_ADMIT_FREE, nothing counted (the caller counts). With one: the
 * block is counted and the result is KMEM_ADMIT_COUNTED; at the limit,
 * KM_NOWAIT gets KMEM_ADMIT_REFUSED and KM_WAITOK sleeps until frees make
 * room. A KM_WAITOK request larger than the limit itself aborts (naming
 * `who`).
 */
#define KMEM_ADMIT_REFUSED 0
#define KMEM_ADMIT_FREE    1
#define KMEM_ADMIT_COUNTED 2
/* In flags: a refusal is not counted in ks_limblocks (the caller will ask
 * again in a way that counts). */
#define KMEM_ADMIT_QUIET   0x100
int kmem_type_admit_limited(struct kmem_type *type, struct kmem_size size, size_t requested,
                            bool is_alloc, int flags, const char *who);
static inline int kmem_type_admit(struct kmem_type *type, struct kmem_size size,
                                  size_t requested, bool is_alloc, int flags, const char *who)
{
    if (!kmem_type_limited(type))
        return KMEM_ADMIT_FREE;
    return kmem_type_admit_limited(type, size, requested, is_alloc, flags, who);
}

/* Undo an admission whose memory could not be had. */
void kmem_type_unadmit(struct kmem_type *type, struct kmem_size size, bool is_alloc);

/* Sample the type's high-water mark (memuse summed over every cache). */
void kmem_type_sample(struct kmem_type *type);

/* The same at the end of a run of allocations from the calling thread's
 * cache tc, only when the thread's own report says the type may have
 * passed its mark (see type.c). */
struct kmem_tcache;
void kmem_type_sample_run(struct kmem_type *type, struct kmem_tcache *tc);

/* The same, at most once a millisecond per thread, or once a tick of the
 * platform's coarse clock where that is longer (a few milliseconds):
 * summing every cache's counters costs more than the exchanges that call
 * this, and reading a fine clock at each of them did too. */
void kmem_type_sample_soon(struct kmem_type *type);

/* A type's figures at one reading: what kmem_type_stats reports, and the
 * pieces it holds of each bucket and its bytes of whole pages, each
 * counter read once, so that
 *
 *     ts.memuse == sum over b of pieces[b] * size(b) + large
 *
 * exactly, and a reader adding readings up by bucket and by type gets the
 * same totals. Each is at least 0: a type named by frees of another
 * type's pieces would go below (see kmem_types_check). */
struct kmem_type_reading {
    struct kmem_type_stats tr_stats;
    uint64_t tr_pieces[KMEM_NBUCKETS + 1];
    uint64_t tr_large;
    uint64_t tr_rounded; /* rounded bytes of all its allocations */
};
void kmem_type_take_reading(struct kmem_type *type, struct kmem_type_reading *out);

/* Current figures of a type (see kmem_type_stats in kmem.h). */
void kmem_type_read(struct kmem_type *type, struct kmem_type_stats *out);

/* The type whose ks_id is id, or NULL. O(types): for error messages. */
const struct kmem_type *kmem_type_by_id(uint32_t id);

/* The registered type after prev (NULL: the first), oldest first. */
struct kmem_type *kmem_types_next(const struct kmem_type *prev);

/* Call fn for each registered type, oldest first, and for the libc type
 * before it registers. */
void kmem_types_foreach(void (*fn)(struct kmem_type *type, void *arg), void *arg);

/* Check that no type has freed more than it allocated; returns the
 * failures, each reported. */
int kmem_types_check(void);

/* Sum of memuse, requested and rounded bytes over all types, each type
 * as it is (one named by another's frees counts below zero), so that the
 * sum is what the buckets and the arena hold. */
void kmem_types_totals(uint64_t *memuse, uint64_t *requested, uint64_t *rounded);

int kmem_type_set_limit(struct kmem_type *type, size_t bytes);

/* Around fork(): the registry and limit lock (see kmem_lock_fork, whose
 * answer it returns). */
bool kmem_types_fork(enum kmem_fork_phase phase);

#endif /* KMEM_TYPE_H */
