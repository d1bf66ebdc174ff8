/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_classes.c — the bucket table kmem_buckets_init fills
 * (core/bucket/classes): each bucket's slab size and piece count, the
 * thread-cache and transfer-cache sizes derived from the cache budget, the
 * fast path's size-to-bucket table, and the multiply that finds a piece in
 * its slab, against the rules stated in core/base/config.h and bucket.h,
 * recomputed here.
 */
#include "core/bucket/bucket.h"

#include "harness.h"

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Pages per slab by the rule: the fewest (up to 8) that waste at most a
 * 64th at the end, else the least wasteful of those that keep a slab at
 * most KMEM_SLAB_MAXPIECES pieces. */
static uint32_t ref_pages(uint32_t size)
{
    uint32_t first = (size + 4095) / 4096, best = first;
    double best_waste = 2;
    for (uint32_t p = first; p <= 8; p++) {
        uint32_t bytes = p * 4096;
        if (bytes / size > KMEM_SLAB_MAXPIECES)
            break;
        double waste = (double)(bytes % size) / bytes;
        if (waste <= 1.0 / 64)
            return p;
        if (waste < best_waste - 1e-12) {
            best_waste = waste;
            best = p;
        }
    }
    return best;
}

static void check_table(uint32_t tcache_bytes)
{
    kmem_buckets_init(tcache_bytes);
    uint32_t prev = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        const struct kmem_class *c = &kmem_classes[b];
        CHECK_EQ(c->kc_size, kmem_bucket_size(b));
        CHECK(c->kc_size > prev && c->kc_size % 16 == 0, "bucket %u: size %u after %u", b,
              c->kc_size, prev);
        prev = c->kc_size;
        CHECK_EQ(c->kc_pages, ref_pages(c->kc_size));
        CHECK_EQ(c->kc_pieces, c->kc_pages * 4096 / c->kc_size);
        CHECK(c->kc_pieces >= 1 && c->kc_pieces <= KMEM_SLAB_MAXPIECES,
              "bucket %u: %u pieces a slab", b, c->kc_pieces);
        if ((c->kc_size & (c->kc_size - 1)) == 0 && c->kc_size <= 4096)
            CHECK(c->kc_pages == 1, "bucket %u: a power of two up to a page takes one page", b);
        uint32_t hw = clamp(tcache_bytes / c->kc_size, KMEM_TCACHE_BIN_MIN, KMEM_TCACHE_BIN_MAX);
        CHECK_EQ(c->kc_highwat, hw);
        CHECK_EQ(c->kc_batch, hw / 2);
        uint32_t xfer = KMEM_XFER_BYTES / c->kc_size;
        if (xfer < 2 * c->kc_batch)
            xfer = 2 * c->kc_batch;
        CHECK_EQ(c->kc_xfer, xfer > KMEM_XFER_MAX_PIECES ? KMEM_XFER_MAX_PIECES : xfer);
        CHECK(c->kc_xfer >= c->kc_batch, "bucket %u: transfer cache below a batch", b);
        uint64_t magic = (((uint64_t)1 << 32) + c->kc_size - 1) / c->kc_size;
        CHECK_EQ(KMEM_ABI(kmem_fastpath).fp_magic[b], magic);
        /* The multiply that stands for a division, at every offset of a
         * slab: the piece's index, and whether it starts there. */
        uint32_t bytes = c->kc_pages * KMEM_PAGE_SIZE, wrong = 0;
        for (uint32_t off = 0; off < bytes; off++) {
            bool starts = off % c->kc_size == 0 && off / c->kc_size < c->kc_pieces;
            if (kmem_slab_piece_index(c, off) != off / c->kc_size ||
                kmem_slab_piece_starts(c, off) != starts) {
                if (wrong++ == 0)
                    CHECK(0, "bucket %u (%u bytes), offset %u: index %u, starts %d", b,
                          c->kc_size, off, kmem_slab_piece_index(c, off),
                          (int)kmem_slab_piece_starts(c, off));
            }
        }
    }
    CHECK_EQ(prev, KMEM_MAXALLOCSAVE);
    /* The table the fast path reads for variable sizes agrees with the
     * formula the macros fold, for every small size. */
    for (size_t n = 0; n <= KMEM_MAXALLOCSAVE; n++)
        if (kmem_request_bucket(n) != kmem_bucket_index(n)) {
            CHECK(0, "size %zu: table says bucket %u, formula %u", n, kmem_request_bucket(n),
                  kmem_bucket_index(n));
            break;
        }
}

int main(void)
{
    check_table(KMEM_TCACHE_BIN_BYTES); /* the default */
    check_table(1024);                  /* every bin at its minimum */
    check_table(4u << 20);              /* every bin at its maximum */
    printf("%u buckets, %u classes per doubling\n", KMEM_NBUCKETS, KMEM_CLASSES_PER_DOUBLING);
    return test_finish("classes");
}
