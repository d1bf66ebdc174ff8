/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * page.h — what a page descriptor (struct kmem_page, the paper's kmemusage)
 * says, by kind. The struct itself is in include/kmem_fastpath.h because
 * the free macro reads ku_kind.
 *
 *   ku_kind                  ku_word                      other fields
 *   1..KMEM_NBUCKETS         next slab of the bucket's    ku_nfree, ku_freehead:
 *   (first page of a slab)   partial list, page index+1;  the slab's free list
 *                            0 = last or not listed
 *   KMEM_KIND_SLAB_TAIL + b  pages back to the slab's first page
 *   (later page of a slab of bucket b)
 *   KMEM_KIND_LARGE          the block's page count       ku_freehead, ku_nfree:
 *                                                         its type (see below)
 *   KMEM_KIND_LARGE_TAIL     pages back to the block's first page
 *   KMEM_KIND_FREE (0)       first and last page of a free run: its run
 *                            record; every other page: 0
 *   KMEM_KIND_BUSY           first and last page of a free run being given
 *                            back to the system: its page count
 *   KMEM_KIND_INTERNAL       kmem's own memory (a thread cache's block):
 *                            its page count; never a block to free
 *   KMEM_KIND_INTERNAL_TAIL  pages back to its first page
 *
 * Invariant: every page of the arena has exactly one of these meanings at
 * any time the arena lock is free, so a descriptor alone tells whether a
 * pointer is the start of a live block.
 */
#ifndef KMEM_PAGE_H
#define KMEM_PAGE_H

#include "core/base/config.h"

#define KMEM_KIND_FREE       0x00
#define KMEM_KIND_SLAB_TAIL  0x40 /* + the bucket index; see KMEM_TAIL_BIT */
#define KMEM_KIND_LARGE      0xF1
#define KMEM_KIND_LARGE_TAIL 0xF2
#define KMEM_KIND_BUSY       0xF3
#define KMEM_KIND_INTERNAL      0xF4
#define KMEM_KIND_INTERNAL_TAIL 0xF5

_Static_assert(sizeof(struct kmem_page) == 8, "8 bytes of descriptor per page");
_Static_assert(KMEM_NBUCKETS < KMEM_KIND_SLAB_TAIL, "bucket indices fit below the kinds");
_Static_assert(KMEM_KIND_SLAB_TAIL == KMEM_TAIL_BIT, "the free macro tests the tail bit");

/* The first page of a large block records the block's type: the low 24
 * bits of its ks_id in ku_freehead (low 8) and ku_nfree (high 16), which
 * large blocks do not otherwise use; 0 for a type past 2^24 - 1 (not
 * checked). */
#define KMEM_OWNER_MAX 0xFFFFFFu
static inline struct kmem_page kmem_large_head(uint32_t npages, uint32_t owner)
{
    if (owner > KMEM_OWNER_MAX)
        owner = 0;
    struct kmem_page d = { KMEM_KIND_LARGE, (uint8_t)owner, (uint16_t)(owner >> 8), npages };
    return d;
}
static inline uint32_t kmem_large_owner(const struct kmem_page *d)
{
    return d->ku_freehead | (uint32_t)d->ku_nfree << 8;
}

/* The first page of a slab. */
static inline bool kmem_kind_is_slab(unsigned kind)
{
    return kind - 1u < KMEM_NBUCKETS;
}

/* A later page of a slab; its bucket is kind - KMEM_KIND_SLAB_TAIL. */
static inline bool kmem_kind_is_slab_tail(unsigned kind)
{
    return kind - KMEM_KIND_SLAB_TAIL - 1u < KMEM_NBUCKETS;
}

#endif /* KMEM_PAGE_H */
