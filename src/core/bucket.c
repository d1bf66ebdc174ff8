/*
 * bucket.c — size classes, slabs and their free lists (see bucket.h).
 */
#include "bucket.h"

#include "arena.h"
#include "diag.h"
#include "page.h"
#include "reclaim.h"
#include "tune.h"

struct kmem_class kmem_classes[KMEM_NBUCKETS + 1];
struct kmem_bucket kmem_buckets[KMEM_NBUCKETS + 1];
static uint64_t empty_pages; /* [A] pages of empty slabs, all buckets */

/* A slab of bucket b became empty (+1) or stopped being empty (-1).
 * Bucket lock held. */
static void empty_changed(unsigned b, int delta)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    KMEM_RELAXED_STORE(kb->kb_empty, kb->kb_empty + (uint64_t)(int64_t)delta);
    if (kb->kb_empty < kb->kb_empty_low)
        kb->kb_empty_low = kb->kb_empty;
    __atomic_fetch_add(&empty_pages, (uint64_t)(int64_t)(delta * (int)kmem_classes[b].kc_pages),
                       __ATOMIC_RELAXED);
}

uint64_t kmem_buckets_empty_pages(void)
{
    return __atomic_load_n(&empty_pages, __ATOMIC_RELAXED);
}

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

void kmem_buckets_init(void)
{
    struct kmem_fastpath *fp = &KMEM_ABI(kmem_fastpath);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_class *c = &kmem_classes[b];
        c->kc_size = (uint32_t)kmem_bucket_size(b);
        c->kc_pages = slab_pages_for(c->kc_size);
        c->kc_pieces = c->kc_pages * KMEM_PAGE_SIZE / c->kc_size;
        uint32_t hw = kmem_tune.tu_tcache_bytes / c->kc_size;
        if (hw < KMEM_TCACHE_BIN_MIN)
            hw = KMEM_TCACHE_BIN_MIN;
        if (hw > KMEM_TCACHE_BIN_MAX)
            hw = KMEM_TCACHE_BIN_MAX;
        c->kc_highwat = hw;
        c->kc_batch = hw / 2;
        /* ceil(2^32 / size): offset * magic (mod 2^32) < magic exactly when
         * size divides the offset, for offsets within a slab (checked for
         * every bucket and offset by tests/unit/test_geometry.c). */
        fp->fp_magic[b] = (uint32_t)((((uint64_t)1 << 32) + c->kc_size - 1) / c->kc_size);
    }
    for (unsigned i = 0; i <= 1024 / 16; i++)
        KMEM_RELAXED_STORE(fp->fp_bucket_of[i], (uint8_t)kmem_bucket_index(i * 16));
}

static char *slab_base(uint32_t slab)
{
    return kmem_page_addr(slab);
}

struct kmem_piece_place kmem_piece_locate(unsigned b, uint32_t page, uintptr_t addr)
{
    struct kmem_piece_place pl;
    struct kmem_page *d = kmem_page_of(page);
    if (kmem_kind_is_slab_tail(d->ku_kind))
        page -= d->ku_word;
    uintptr_t off = addr - (uintptr_t)slab_base(page);
    uint32_t size = kmem_classes[b].kc_size;
    pl.pp_slab = page;
    pl.pp_index = (uint32_t)(off / size);
    pl.pp_exact = off % size == 0 && pl.pp_index < kmem_classes[b].kc_pieces;
    return pl;
}

/* Cut a fresh slab for bucket b and put it on the partial list. */
static bool carve(unsigned b)
{
    struct kmem_class *c = &kmem_classes[b];
    struct kmem_page head = { (uint8_t)b, 0, (uint16_t)c->kc_pieces, 0 };
    bool zeroed;
    uint32_t slab = kmem_arena_alloc(c->kc_pages, 1, head, (uint8_t)(KMEM_KIND_SLAB_TAIL + b),
                                     &zeroed);
    if (slab == KMEM_NO_PAGE)
        return false;
    char *base = slab_base(slab);
    for (uint32_t i = 0; i < c->kc_pieces; i++) {
        uintptr_t *w = (uintptr_t *)(base + (size_t)i * c->kc_size);
        w[0] = i + 1;
        w[1] = kmem_free_key(w);
    }
    struct kmem_bucket *kb = &kmem_buckets[b];
    kmem_page_of(slab)->ku_word = kb->kb_partial;
    kb->kb_partial = slab + 1;
    kb->kb_slabs++;
    kb->kb_free += c->kc_pieces;
    empty_changed(b, +1);
    return true;
}

uint32_t kmem_bucket_take(unsigned b, uint32_t n, void **out)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    uint32_t got = 0;
    kmem_lock_acquire(&kb->kb_lock);
    while (got < n) {
        if (kb->kb_partial == 0 && !carve(b))
            break;
        uint32_t slab = kb->kb_partial - 1;
        struct kmem_page *d = kmem_page_of(slab);
        char *base = slab_base(slab);
        if (d->ku_nfree == c->kc_pieces)
            empty_changed(b, -1);
        while (got < n && d->ku_nfree > 0) {
            uintptr_t *w = (uintptr_t *)(base + (size_t)d->ku_freehead * c->kc_size);
            d->ku_freehead = (uint8_t)w[0];
            d->ku_nfree--;
            out[got++] = w;
        }
        if (d->ku_nfree == 0) {
            kb->kb_partial = d->ku_word;
            d->ku_word = 0;
        }
    }
    kb->kb_free -= got;
    kmem_lock_release(&kb->kb_lock);
    return got;
}

void kmem_bucket_give(unsigned b, void *const *pieces, uint32_t n)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    kmem_lock_acquire(&kb->kb_lock);
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t *w = pieces[i];
        uint32_t page = kmem_page_index(w);
        struct kmem_piece_place pl = kmem_piece_locate(b, page, (uintptr_t)w);
        struct kmem_page *d = kmem_page_of(pl.pp_slab);
        w[0] = d->ku_freehead;
        d->ku_freehead = (uint8_t)pl.pp_index;
        if (++d->ku_nfree == 1) {
            d->ku_word = kb->kb_partial;
            kb->kb_partial = pl.pp_slab + 1;
        }
        if (d->ku_nfree == c->kc_pieces)
            empty_changed(b, +1);
    }
    kb->kb_free += n;
    kmem_lock_release(&kb->kb_lock);
    kmem_reclaim_poke();
}

/* Unlink up to `count` empty slabs from bucket b's list and free them, a
 * batch at a time; the pages go back to the arena after the bucket lock
 * is dropped, so that giving them back to the system holds up no one. */
static uint64_t release_empty(unsigned b, uint64_t count, bool idle)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    uint64_t released = 0;
    enum { BATCH = 256 };
    uint32_t batch[BATCH];
    uint32_t n;
    do {
        n = 0;
        kmem_lock_acquire(&kb->kb_lock);
        uint32_t *link = &kb->kb_partial;
        while (*link != 0 && kb->kb_empty > 0 && released + n < count && n < BATCH) {
            uint32_t slab = *link - 1;
            struct kmem_page *d = kmem_page_of(slab);
            if (d->ku_nfree != c->kc_pieces) {
                link = &d->ku_word;
                continue;
            }
            *link = d->ku_word;
            empty_changed(b, -1);
            kb->kb_slabs--;
            kb->kb_free -= c->kc_pieces;
            batch[n++] = slab;
        }
        kmem_lock_release(&kb->kb_lock);
        if (n > 0)
            kmem_arena_free_slabs(batch, n, c->kc_pages, idle);
        released += n;
    } while (n == BATCH && released < count);
    return released;
}

uint64_t kmem_buckets_reclaim(void)
{
    uint64_t bytes = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        if (KMEM_RELAXED_LOAD(kmem_buckets[b].kb_empty) > 0)
            bytes += release_empty(b, UINT64_MAX, false) * kmem_classes[b].kc_pages
                     << KMEM_PAGE_SHIFT;
    return bytes;
}

void kmem_buckets_release_idle(void)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_bucket *kb = &kmem_buckets[b];
        if (KMEM_RELAXED_LOAD(kb->kb_empty) == 0)
            continue;
        kmem_lock_acquire(&kb->kb_lock);
        uint64_t idle = kb->kb_empty_low;
        kb->kb_empty_low = kb->kb_empty; /* the next interval starts now */
        kmem_lock_release(&kb->kb_lock);
        if (idle > KMEM_EMPTY_SLABS_KEPT)
            release_empty(b, idle - KMEM_EMPTY_SLABS_KEPT, true);
    }
}

void kmem_buckets_fork(enum kmem_fork_phase phase)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        kmem_lock_fork(&kmem_buckets[b].kb_lock, phase);
}

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
        for (uint32_t link = kb->kb_partial; link != 0 && bad < 10;) {
            uint32_t slab = link - 1;
            struct kmem_page *d = kmem_page_of(slab);
            if (d->ku_kind != b || d->ku_nfree == 0 || d->ku_nfree > c->kc_pieces) {
                bad += check_fail("bucket: bad slab on the partial list", b, slab);
                break;
            }
            /* Walk the slab's free list: indices in range, keys intact, no
             * piece twice. */
            uint64_t seen[KMEM_SLAB_MAXPIECES / 64] = { 0 };
            uint32_t idx = d->ku_freehead;
            char *base = slab_base(slab);
            for (uint32_t i = 0; i < d->ku_nfree; i++) {
                uintptr_t *w = (uintptr_t *)(base + (size_t)idx * c->kc_size);
                if (idx >= c->kc_pieces || (seen[idx / 64] >> (idx % 64) & 1) ||
                    w[1] != kmem_free_key(w)) {
                    bad += check_fail("bucket: slab free list damaged", b, slab);
                    break;
                }
                seen[idx / 64] |= (uint64_t)1 << (idx % 64);
                idx = (uint32_t)w[0];
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
        if (free != kb->kb_free)
            bad += check_fail("bucket: free pieces disagree with the slabs", free, kb->kb_free);
        if (empty != kb->kb_empty)
            bad += check_fail("bucket: empty slab count", empty, kb->kb_empty);
        if (kb->kb_free + cached[b] > kb->kb_slabs * c->kc_pieces)
            bad += check_fail("bucket: more free pieces than carved",
                              kb->kb_free + cached[b], kb->kb_slabs * c->kc_pieces);
        kmem_lock_release(&kb->kb_lock);
    }
    return bad;
}
