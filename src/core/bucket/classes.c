/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * classes.c — the size classes: each bucket's piece size, the pages of its
 * slabs, what a thread cache and the transfer cache keep of it, and the
 * fast path's tables (see bucket.h).
 */
#include "core/bucket/bucket.h"

struct kmem_class kmem_classes[KMEM_NBUCKETS + 1];
static void *xfer_storage[KMEM_NBUCKETS + 1][KMEM_XFER_MAX_PIECES];

/* A slab's later pages count back to its first in one byte of the page map
 * (src/core/arena/layout.h). */
_Static_assert(KMEM_MAXALLOCSAVE <= 8 * KMEM_PAGE_SIZE, "slabs of at most 8 pages");

/* Pages per slab: the fewest (up to 8) that waste at most 1/64 of the slab
 * at the end, else the least wasteful. Powers of two up to a page waste
 * nothing in one page, as in 1988. */
static uint32_t slab_pages_for(uint32_t size)
{
    uint32_t first = (size + KMEM_PAGE_SIZE - 1) / KMEM_PAGE_SIZE;
    uint32_t best = first, best_waste = UINT32_MAX;
    for (uint32_t p = first; p <= 8; p++) {
        uint32_t bytes = p * KMEM_PAGE_SIZE;
        if (bytes / size > KMEM_SLAB_MAXPIECES)
            break;
        uint32_t waste = bytes % size;
        if (waste * 64 <= bytes)
            return p;
        if (waste * 1024 / bytes < best_waste) {
            best_waste = waste * 1024 / bytes;
            best = p;
        }
    }
    return best;
}

void kmem_buckets_init(uint32_t tcache_bytes)
{
    struct kmem_fastpath *fp = &KMEM_ABI(kmem_fastpath);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_class *c = &kmem_classes[b];
        c->kc_size = (uint32_t)kmem_bucket_size(b);
        c->kc_pages = slab_pages_for(c->kc_size);
        c->kc_pieces = c->kc_pages * KMEM_PAGE_SIZE / c->kc_size;
        uint32_t hw = tcache_bytes / c->kc_size;
        if (hw < KMEM_TCACHE_BIN_MIN)
            hw = KMEM_TCACHE_BIN_MIN;
        if (hw > KMEM_TCACHE_BIN_MAX)
            hw = KMEM_TCACHE_BIN_MAX;
        c->kc_highwat = hw;
        c->kc_batch = hw / 2;
        c->kc_fill_first = c->kc_batch < KMEM_TCACHE_FILL_FIRST ? c->kc_batch
                                                                : KMEM_TCACHE_FILL_FIRST;
        c->kc_room_least = hw / KMEM_TCACHE_ROOM_LEAST_DIV;
        if (c->kc_room_least < 2 * c->kc_fill_first)
            c->kc_room_least = 2 * c->kc_fill_first;
        uint32_t xfer = KMEM_XFER_BYTES / c->kc_size;
        if (xfer < 2 * c->kc_batch)
            xfer = 2 * c->kc_batch;
        if (xfer > KMEM_XFER_MAX_PIECES)
            xfer = KMEM_XFER_MAX_PIECES;
        c->kc_xfer = xfer;
        kmem_buckets[b].kb_xfer_pieces = xfer_storage[b];
        /* ceil(2^32 / size): offset * magic (mod 2^32) < magic exactly when
         * size divides the offset, for offsets within a slab (checked for
         * every bucket and offset by tests/unit/test_geometry.c). */
        c->kc_magic = (uint32_t)((((uint64_t)1 << 32) + c->kc_size - 1) / c->kc_size);
        fp->fp_magic[b] = c->kc_magic;
        /* e = magic * size - 2^32, below size; the k-th piece gives k * e
         * (see kmem_piece_at). pieces * e < a slab's bytes < magic. */
        uint32_t e = (uint32_t)((uint64_t)c->kc_magic * c->kc_size - ((uint64_t)1 << 32));
        fp->fp_limit[b] = e != 0 ? c->kc_pieces * e : c->kc_magic;
    }
    for (unsigned i = 0; i <= 1024 / 16; i++)
        KMEM_RELAXED_STORE(fp->fp_bin_of[i],
                           (uint16_t)(kmem_bucket_index(i * 16) * sizeof(struct kmem_tbin)));
}
