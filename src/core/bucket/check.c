/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check.c — kmem_buckets_check: each bucket's partial list, its slabs'
 * free lists, its fresh pieces and its transfer cache against the
 * bucket's counts (the invariants in bucket.h).
 */
#include "core/arena/arena.h"
#include "core/base/diag.h"
#include "core/bucket/bucket.h"

static int check_fail(const char *what, uint64_t a, uint64_t b)
{
    kmem_complain(what, a, b);
    return 1;
}

int kmem_buckets_check(const uint64_t cached[KMEM_NBUCKETS + 1])
{
    int bad = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_bucket *kb = &kmem_buckets[b];
        struct kmem_class *c = &kmem_classes[b];
        kmem_lock_acquire(&kb->kb_lock);
        uint64_t free = 0, empty = 0, listed = 0;
        bool fresh_listed = false;
        if (kb->kb_fresh != 0 && kb->kb_fresh_next >= c->kc_pieces)
            bad += check_fail("bucket: slab with fresh pieces has none", b, kb->kb_fresh_next);
        for (uint32_t link = kb->kb_partial; link != 0 && bad < 10;) {
            uint32_t slab = link - 1;
            struct kmem_page *d = kmem_page_of(slab);
            if (d->ku_kind != b || d->ku_nfree == 0 || d->ku_nfree > c->kc_pieces) {
                bad += check_fail("bucket: bad slab on the partial list", b, slab);
                break;
            }
            /* Walk the slab's free list (its free pieces but the fresh
             * ones): indices in range and below the fresh ones, marks
             * and links intact, no piece twice. */
            uint32_t fresh = c->kc_pieces - kmem_slab_fresh_from(b, slab);
            if (link == kb->kb_fresh)
                fresh_listed = true;
            if (fresh > d->ku_nfree) {
                bad += check_fail("bucket: more fresh pieces than free ones", fresh, d->ku_nfree);
                break;
            }
            if (!kmem_slab_list_intact(b, slab)) {
                bad += check_fail("bucket: slab free list damaged", b, slab);
                break;
            }
            free += d->ku_nfree;
            empty += d->ku_nfree == c->kc_pieces;
            listed++;
            link = d->ku_word;
            if (listed > kb->kb_slabs) {
                bad += check_fail("bucket: partial list loops", b, listed);
                break;
            }
        }
        if (kb->kb_fresh != 0 && !fresh_listed && bad == 0)
            bad += check_fail("bucket: slab with fresh pieces is not on the partial list", b,
                              kb->kb_fresh - 1);
        if (free != kb->kb_free)
            bad += check_fail("bucket: free pieces disagree with the slabs", free, kb->kb_free);
        if (empty != kb->kb_empty)
            bad += check_fail("bucket: empty slab count", empty, kb->kb_empty);
        for (uint32_t i = 0; i < kb->kb_xfer; i++) {
            uintptr_t *w = kb->kb_xfer_pieces[i];
            uint32_t page = kmem_page_index(w);
            if (page == KMEM_NO_PAGE || w[1] != kmem_piece_key(w) ||
                !kmem_piece_locate(b, page, (uintptr_t)w).pp_exact) {
                bad += check_fail("bucket: transfer cache holds a bad piece", b, i);
                break;
            }
        }
        if (kb->kb_free + kb->kb_xfer + cached[b] > kb->kb_slabs * c->kc_pieces)
            bad += check_fail("bucket: more free pieces than carved",
                              kb->kb_free + kb->kb_xfer + cached[b], kb->kb_slabs * c->kc_pieces);
        kmem_lock_release(&kb->kb_lock);
    }
    return bad;
}
