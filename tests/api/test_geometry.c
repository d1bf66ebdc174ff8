/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_geometry.c — bucket index, usable size and alignment for every size
 * up to two pages past the cut-off (MAXALLOCSAVE), against a reference
 * computed here independently of kmem's formulas; the fast path's
 * divisibility test for every offset;
 * and "a request for exactly a bucket size costs exactly that size".
 */
#include <kmem.h>

#include "harness.h"

KMEM_TYPE_DEFINE(M_GEOM, "geometry", "geometry test");

/* The reference list of bucket sizes, built by the rule in DESIGN.md
 * rather than by kmem's formula: powers of two from 16 (1988), or with
 * four classes per doubling, multiples of 16 up to 64 and then
 * 2^e * {5,6,7,8}/4, with 2^e * 9/8 before them from 4096 on. */
static size_t ref_sizes[64];
static unsigned ref_count;

static void build_reference(void)
{
#if KMEM_CLASSES_PER_DOUBLING == 1
    for (size_t s = 16; s <= KMEM_MAXALLOCSAVE; s *= 2)
        ref_sizes[ref_count++] = s;
#else
    for (size_t s = 16; s <= 64; s += 16)
        ref_sizes[ref_count++] = s;
    for (size_t base = 64; base < KMEM_MAXALLOCSAVE; base *= 2) {
        if (base >= 4096)
            ref_sizes[ref_count++] = base * 9 / 8;
        for (size_t k = 5; k <= 8; k++)
            ref_sizes[ref_count++] = base * k / 4;
    }
#endif
}

/* Reference: index (1-based) of the smallest bucket that holds n bytes. */
static unsigned ref_index(size_t n)
{
    for (unsigned i = 0; i < ref_count; i++)
        if (ref_sizes[i] >= n)
            return i + 1;
    return 0;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static int is_power_of_two(size_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int main(void)
{
    build_reference();
    CHECK_EQ(ref_count, KMEM_NBUCKETS);
    CHECK_EQ(kmem_nbuckets(), KMEM_NBUCKETS);

    /* Index and size functions, every size up to two pages past the cut-off. */
    for (size_t n = 0; n <= KMEM_MAXALLOCSAVE + 2 * KMEM_PAGE_SIZE; n++) {
        size_t rounded;
        if (n <= KMEM_MAXALLOCSAVE) {
            unsigned want = ref_index(n);
            CHECK(kmem_bucket_index(n) == want, "size %zu: index %u, want %u", n,
                  kmem_bucket_index(n), want);
            rounded = ref_sizes[want - 1];
            CHECK(kmem_bucket_size(kmem_bucket_index(n)) == rounded,
                  "size %zu: bucket size %zu, want %zu", n,
                  kmem_bucket_size(kmem_bucket_index(n)), rounded);
        } else {
            rounded = (n + KMEM_PAGE_SIZE - 1) / KMEM_PAGE_SIZE * KMEM_PAGE_SIZE;
        }

        void *p = kmem_malloc(n, M_GEOM, KM_NOWAIT);
        REQUIRE(p != NULL, "size %zu: allocation failed", n);
        size_t usable = kmem_usable_size(p);
        CHECK(usable == rounded, "size %zu: usable %zu, want %zu", n, usable, rounded);
        uintptr_t a = (uintptr_t)p;
        CHECK(a % 16 == 0, "size %zu: %p not 16-byte aligned", n, p);
        if (n > KMEM_MAXALLOCSAVE)
            CHECK(a % KMEM_PAGE_SIZE == 0, "size %zu: large block %p not page aligned", n, p);
        else if (is_power_of_two(rounded))
            CHECK(a % min_size(rounded, KMEM_PAGE_SIZE) == 0,
                  "size %zu: piece of %zu at %p not aligned to %zu", n, rounded, p,
                  min_size(rounded, KMEM_PAGE_SIZE));
        memset(p, 0x5a, n);
        kmem_free(p, M_GEOM);
    }

    /* The free path's piece test (kmem_piece_at): offset * magic <
     * limit exactly when the offset is the start of one of the slab's
     * pieces (a multiple of the size, not in the slab's unused tail), for
     * every offset up to 8 pages; and offset * magic < magic exactly when
     * the size divides the offset, which is what makes the one
     * comparison enough. */
    const struct kmem_fastpath *fp = &KMEM_ABI(kmem_fastpath);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        uint32_t magic = fp->fp_magic[b];
        size_t size = kmem_bucket_size(b);
        struct kmem_bucket_stats bs;
        CHECK(kmem_bucket_stats(b, &bs) == KMEM_OK, "bucket %u: stats", b);
        size_t end = bs.slab_pages * KMEM_PAGE_SIZE / size * size; /* past the last piece */
        CHECK(fp->fp_magic[KMEM_TAIL_BIT | b] == 0 && fp->fp_limit[KMEM_TAIL_BIT | b] == 0,
              "bucket %u: tail pages pass the first test", b);
        for (uint32_t off = 0; off < 8 * KMEM_PAGE_SIZE; off++) {
            int divides = (uint32_t)(off * magic) < magic;
            int piece = kmem_piece_at(fp, b, off);
            int exact = off % size == 0;
            if (divides != exact || (off < bs.slab_pages * KMEM_PAGE_SIZE &&
                                     piece != (exact && off < end))) {
                CHECK(0, "bucket %u (size %zu) offset %u: divides %d, piece %d", b, size, off,
                      divides, piece);
                break;
            }
        }
    }

    /* Pages of any other kind (free, large, a slab's later pages) never
     * pass the first test, whatever the offset. */
    for (unsigned kind = 0; kind < 256; kind++) {
        if (kind >= 1 && kind <= KMEM_NBUCKETS)
            continue;
        for (uint32_t off = 0; off < KMEM_PAGE_SIZE; off += 16)
            if (kmem_piece_at(fp, kind, off)) {
                CHECK(0, "page kind %u passes the piece test at offset %u", kind, off);
                break;
            }
    }

    /* Exactly a bucket size costs exactly that size; many pieces of one
     * size do not overlap and keep the alignment rule. */
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        size_t size = kmem_bucket_size(b);
        struct kmem_type_stats before, after;
        kmem_type_stats(M_GEOM, &before);
        enum { N = 300 };
        static char *ptrs[N];
        for (int i = 0; i < N; i++) {
            ptrs[i] = kmem_malloc(size, M_GEOM, KM_WAITOK);
            memset(ptrs[i], i & 0xff, size);
        }
        kmem_type_stats(M_GEOM, &after);
        CHECK(after.memuse - before.memuse == (uint64_t)N * size,
              "bucket %u: %d pieces of %zu cost %" PRIu64 " bytes", b, N, size,
              after.memuse - before.memuse);
        for (int i = 0; i < N; i++) {
            CHECK(kmem_usable_size(ptrs[i]) == size, "piece usable size");
            for (size_t j = 0; j < size; j += 61)
                if ((unsigned char)ptrs[i][j] != (i & 0xff)) {
                    CHECK(0, "bucket %u piece %d overwritten at %zu", b, i, j);
                    break;
                }
            if (is_power_of_two(size))
                CHECK((uintptr_t)ptrs[i] % min_size(size, KMEM_PAGE_SIZE) == 0,
                      "alignment of a %zu-byte piece", size);
        }
        for (int i = 0; i < N; i++)
            kmem_free(ptrs[i], M_GEOM);
    }

    CHECK_EQ(kmem_check(), 0);
    return test_finish("geometry");
}
