/*
 * bucket.c — size classes, slabs and their free lists (see bucket.h).
 */
#include "core/bucket/bucket.h"

#include "core/arena/arena.h"
#include "core/base/diag.h"
#include "core/arena/page.h"

struct kmem_class kmem_classes[KMEM_NBUCKETS + 1];
struct kmem_bucket kmem_buckets[KMEM_NBUCKETS + 1];
static void *xfer_storage[KMEM_NBUCKETS + 1][KMEM_XFER_MAX_PIECES];
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
        w[1] = kmem_piece_key(w);
    }
    struct kmem_bucket *kb = &kmem_buckets[b];
    kmem_page_of(slab)->ku_word = kb->kb_partial;
    kb->kb_partial = slab + 1;
    kb->kb_slabs++;
    kb->kb_free += c->kc_pieces;
    empty_changed(b, +1);
    return true;
}

/* The transfer cache's count changed. Bucket lock held. */
static void xfer_set(struct kmem_bucket *kb, uint32_t count)
{
    KMEM_RELAXED_STORE(kb->kb_xfer, count);
    if (count < kb->kb_xfer_low)
        kb->kb_xfer_low = count;
}

/* Take n pieces off the slabs (carving as needed). Bucket lock held. */
static uint32_t take_from_slabs(unsigned b, uint32_t n, void **out)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    uint32_t got = 0;
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
    return got;
}

uint32_t kmem_bucket_take_locked(unsigned b, uint32_t n, void **out)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    /* The most recently handed-in pieces first: they are the warmest. */
    uint32_t from_xfer = kb->kb_xfer < n ? kb->kb_xfer : n;
    uint32_t left = kb->kb_xfer - from_xfer;
    __builtin_memcpy(out, kb->kb_xfer_pieces + left, from_xfer * sizeof(void *));
    xfer_set(kb, left);
    return from_xfer + take_from_slabs(b, n - from_xfer, out + from_xfer);
}

uint32_t kmem_bucket_take(unsigned b, uint32_t n, void **out)
{
    kmem_bucket_lock(b);
    uint32_t got = kmem_bucket_take_locked(b, n, out);
    kmem_bucket_unlock(b);
    return got;
}

/* Put n pieces back on their slabs. Bucket lock held. */
static void give_to_slabs(unsigned b, void *const *pieces, uint32_t n)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
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
}

uint32_t kmem_bucket_give_locked(unsigned b, void *const *pieces, uint32_t n)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    uint32_t room = kmem_classes[b].kc_xfer - kb->kb_xfer;
    uint32_t to_xfer = room < n ? room : n;
    __builtin_memcpy(kb->kb_xfer_pieces + kb->kb_xfer, pieces, to_xfer * sizeof(void *));
    xfer_set(kb, kb->kb_xfer + to_xfer);
    if (to_xfer < n)
        give_to_slabs(b, pieces + to_xfer, n - to_xfer);
    return n - to_xfer;
}

uint32_t kmem_bucket_give(unsigned b, void *const *pieces, uint32_t n)
{
    kmem_bucket_lock(b);
    uint32_t to_slabs = kmem_bucket_give_locked(b, pieces, n);
    kmem_bucket_unlock(b);
    return to_slabs;
}

/* Put the transfer cache's oldest `count` pieces back on their slabs, so
 * that slabs can empty. */
static void flush_xfer(unsigned b, uint32_t count)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    kmem_lock_acquire(&kb->kb_lock);
    if (count > kb->kb_xfer)
        count = kb->kb_xfer;
    give_to_slabs(b, kb->kb_xfer_pieces, count);
    __builtin_memmove(kb->kb_xfer_pieces, kb->kb_xfer_pieces + count,
                      (kb->kb_xfer - count) * sizeof(void *));
    xfer_set(kb, kb->kb_xfer - count);
    kmem_lock_release(&kb->kb_lock);
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

void kmem_buckets_reclaim(void)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        if (KMEM_RELAXED_LOAD(kmem_buckets[b].kb_xfer) > 0)
            flush_xfer(b, UINT32_MAX);
        if (KMEM_RELAXED_LOAD(kmem_buckets[b].kb_empty) > 0)
            release_empty(b, UINT64_MAX, false);
    }
}

void kmem_buckets_release_idle(void)
{
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_bucket *kb = &kmem_buckets[b];
        /* Pieces that sat in the transfer cache all interval go back to
         * their slabs, which may then be empty. */
        if (KMEM_RELAXED_LOAD(kb->kb_xfer) > 0) {
            kmem_lock_acquire(&kb->kb_lock);
            uint32_t idle = kb->kb_xfer_low;
            kb->kb_xfer_low = kb->kb_xfer;
            kmem_lock_release(&kb->kb_lock);
            if (idle > 0)
                flush_xfer(b, idle);
        }
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
                    w[1] != kmem_piece_key(w)) {
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
