/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bucket.c — slabs and their free lists, the transfer caches in front of
 * them, releasing empty slabs, and rebuilding a bucket in a fork child
 * (see bucket.h). The size classes are classes.c; the checker, check.c.
 */
#include "core/bucket/bucket.h"

#include "core/arena/arena.h"
#include "core/base/diag.h"
#include "core/arena/page.h"

struct kmem_bucket kmem_buckets[KMEM_NBUCKETS + 1];
static uint64_t empty_pages; /* [A] pages of empty slabs, all buckets */
static int new_slab_fill = -1; /* [init] kmem_buckets_fill_new_slabs */

void kmem_buckets_fill_new_slabs(int byte)
{
    new_slab_fill = byte;
}

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
    const struct kmem_class *c = &kmem_classes[b];
    uint32_t off = (uint32_t)(addr - (uintptr_t)slab_base(page));
    pl.pp_slab = page;
    pl.pp_index = kmem_slab_piece_index(c, off);
    pl.pp_exact = kmem_slab_piece_starts(c, off);
    return pl;
}

/* Take a new slab for bucket b, all of its pieces fresh (see bucket.h),
 * and put it on the partial list. */
static bool carve(unsigned b)
{
    struct kmem_class *c = &kmem_classes[b];
    struct kmem_page head = { (uint8_t)b, 0, (uint16_t)c->kc_pieces, 0 };
    bool zeroed;
    kmem_buckets_lend(b, c->kc_pages); /* what others hold idle, before the heap grows */
    uint32_t slab = kmem_arena_alloc(c->kc_pages, 1, head, (uint8_t)(KMEM_KIND_SLAB_TAIL + b),
                                     &zeroed);
    if (slab == KMEM_NO_PAGE)
        return false;
    if (new_slab_fill >= 0)
        __builtin_memset(slab_base(slab), new_slab_fill, (size_t)c->kc_pages << KMEM_PAGE_SHIFT);
    if (KMEM_THREAD_CACHE) {
        /* A fresh piece freed by mistake must be caught on the cache's
         * fast path, which knows only the second word. */
        char *base = slab_base(slab);
        for (uint32_t i = 0; i < c->kc_pieces; i++) {
            uintptr_t *w = (uintptr_t *)(base + (size_t)i * c->kc_size);
            w[1] = kmem_fresh_mark(w);
        }
    }
    struct kmem_bucket *kb = &kmem_buckets[b];
    kb->kb_fresh = slab + 1;
    kb->kb_fresh_next = 0;
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

/* Take n pieces off the slabs (carving as needed). Bucket lock held. Out
 * of line, so that a request served by the transfer cache saves no
 * registers for it. */
static __attribute__((noinline)) uint32_t take_from_slabs(unsigned b, uint32_t n, void **out)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    uint32_t got = 0;
    while (got < n) {
        /* A new slab only when there is nothing else to give. */
        if (kb->kb_partial == 0 && (got > 0 || !carve(b)))
            break;
        uint32_t slab = kb->kb_partial - 1;
        struct kmem_page *d = kmem_page_of(slab);
        char *base = slab_base(slab);
        if (d->ku_nfree == c->kc_pieces)
            empty_changed(b, -1);
        uint32_t fresh = c->kc_pieces - kmem_slab_fresh_from(b, slab);
        /* The free list first (its pieces are warm), then fresh pieces. */
        while (got < n && d->ku_nfree > fresh) {
            uintptr_t *w = (uintptr_t *)(base + (size_t)d->ku_freehead * c->kc_size);
            uint32_t next = (uint32_t)(w[0] & 0xff);
            if (w[1] != kmem_slab_mark(w) || w[0] != kmem_slab_link(w, next) ||
                next >= c->kc_pieces)
                kmem_bad_free_block("slab free list", w, c->kc_size,
                                    "is damaged (a write past the end of the block before "
                                    "it, or after it was freed), so it is not handed out");
            w[1] = kmem_piece_key(w);
            d->ku_freehead = (uint8_t)next;
            d->ku_nfree--;
            out[got++] = w;
        }
        while (got < n && fresh > 0) {
            uintptr_t *w = (uintptr_t *)(base + (size_t)kb->kb_fresh_next++ * c->kc_size);
            if (KMEM_THREAD_CACHE && w[1] != kmem_fresh_mark(w))
                kmem_bad_free_block("slab", w, c->kc_size,
                                    "was never handed out but was freed (or written), so "
                                    "it is not handed out");
            w[1] = kmem_piece_key(w);
            d->ku_nfree--;
            fresh--;
            out[got++] = w;
        }
        if (fresh == 0 && kb->kb_fresh == slab + 1)
            kb->kb_fresh = 0; /* all cut */
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

void *kmem_bucket_take_one(unsigned b)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    void *piece;
    kmem_lock_acquire(&kb->kb_lock);
    uint32_t n = kb->kb_xfer;
    if (n > 0) {
        piece = kb->kb_xfer_pieces[n - 1];
        xfer_set(kb, n - 1);
    } else if (take_from_slabs(b, 1, &piece) == 0) {
        piece = NULL;
    }
    kmem_lock_release(&kb->kb_lock);
    return piece;
}

bool kmem_slab_list_intact(unsigned b, uint32_t slab)
{
    const struct kmem_class *c = &kmem_classes[b];
    const struct kmem_page *d = kmem_page_of(slab);
    uint32_t cut = kmem_slab_fresh_from(b, slab), fresh = c->kc_pieces - cut;
    if (fresh > d->ku_nfree)
        return false;
    uint32_t listed = d->ku_nfree - fresh;
    uint64_t seen[KMEM_SLAB_MAXPIECES / 64] = { 0 };
    uint32_t idx = d->ku_freehead;
    char *base = slab_base(slab);
    for (uint32_t i = 0; i < listed; i++) {
        const uintptr_t *w = (const uintptr_t *)(base + (size_t)idx * c->kc_size);
        if (idx >= cut || (seen[idx / 64] >> (idx % 64) & 1) || w[1] != kmem_slab_mark(w) ||
            w[0] != kmem_slab_link(w, (uint32_t)(w[0] & 0xff)))
            return false;
        seen[idx / 64] |= (uint64_t)1 << (idx % 64);
        idx = (uint32_t)(w[0] & 0xff);
    }
    return true;
}

/* Put n pieces back on their slabs. Bucket lock held. Out of line, as
 * take_from_slabs. */
static __attribute__((noinline)) void give_to_slabs(unsigned b, void *const *pieces, uint32_t n)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t *w = pieces[i];
        uint32_t page = kmem_page_index(w);
        struct kmem_piece_place pl = kmem_piece_locate(b, page, (uintptr_t)w);
        struct kmem_page *d = kmem_page_of(pl.pp_slab);
        uintptr_t key = kmem_piece_key(w);
        if (d->ku_nfree >= c->kc_pieces)
            kmem_bad_free_block("returning blocks to their slab", w, c->kc_size,
                                "is one more than its slab holds (a double free)");
        if (w[1] != key)
            kmem_bad_free_block("returning blocks to their slab", w, c->kc_size,
                                w[1] == kmem_slab_mark(w)
                                    ? "is already on its slab's free list (a double free)"
                                    : "was changed after it was freed (a write after free, "
                                      "or a second free of it)");
        w[0] = kmem_slab_link(w, d->ku_freehead);
        w[1] = kmem_slab_mark(w);
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

/* Whether a piece of bucket b is fresh (never handed out). Bucket lock
 * held. */
static bool is_fresh(unsigned b, const void *piece)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    if (kb->kb_fresh == 0)
        return false;
    const struct kmem_class *c = &kmem_classes[b];
    const char *base = slab_base(kb->kb_fresh - 1), *p = piece;
    return p >= base + (size_t)kb->kb_fresh_next * c->kc_size &&
           p < base + ((size_t)c->kc_pages << KMEM_PAGE_SHIFT);
}

int kmem_bucket_give_one(unsigned b, void *piece)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    kmem_lock_acquire(&kb->kb_lock);
    uint32_t n = kb->kb_xfer;
    int what = KMEM_GIVE_XFER;
    if (!KMEM_THREAD_CACHE && is_fresh(b, piece)) {
        what = KMEM_GIVE_FRESH;
    } else if (n == kmem_classes[b].kc_xfer) {
        give_to_slabs(b, &piece, 1);
        what = KMEM_GIVE_SLAB;
    } else {
        kb->kb_xfer_pieces[n] = piece;
        xfer_set(kb, n + 1);
    }
    kmem_lock_release(&kb->kb_lock);
    return what;
}

/* Put the transfer cache's oldest `count` pieces back on their slabs, so
 * that slabs can empty. */
static void flush_xfer_locked(unsigned b, uint32_t count)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    if (count > kb->kb_xfer)
        count = kb->kb_xfer;
    give_to_slabs(b, kb->kb_xfer_pieces, count);
    __builtin_memmove(kb->kb_xfer_pieces, kb->kb_xfer_pieces + count,
                      (kb->kb_xfer - count) * sizeof(void *));
    xfer_set(kb, kb->kb_xfer - count);
}

static void flush_xfer(unsigned b, uint32_t count)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    kmem_lock_acquire(&kb->kb_lock);
    flush_xfer_locked(b, count);
    kmem_lock_release(&kb->kb_lock);
}

/* Unlink up to `count` (at most `max`) empty slabs from bucket b's list
 * into slabs[]; how many. Bucket lock held. */
static uint32_t unlink_empty(unsigned b, uint64_t count, uint32_t *slabs, uint32_t max)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    uint32_t n = 0;
    uint32_t *link = &kb->kb_partial;
    while (*link != 0 && kb->kb_empty > 0 && n < count && n < max) {
        uint32_t slab = *link - 1;
        struct kmem_page *d = kmem_page_of(slab);
        if (d->ku_nfree != c->kc_pieces) {
            link = &d->ku_word;
            continue;
        }
        /* A piece listed twice would make a slab look empty with one
         * still out: its pages must not go while it is used. */
        if (!kmem_slab_list_intact(b, slab))
            kmem_bad_free_block("releasing an empty slab", slab_base(slab), c->kc_size,
                                "starts a slab whose free list is damaged (a double "
                                "free, or a write after free)");
        *link = d->ku_word;
        if (kb->kb_fresh == slab + 1)
            kb->kb_fresh = 0;
        empty_changed(b, -1);
        kb->kb_slabs--;
        kb->kb_free -= c->kc_pieces;
        slabs[n++] = slab;
    }
    return n;
}

enum { RELEASE_BATCH = 256 };

/* Unlink up to `count` empty slabs from bucket b's list and free them, a
 * batch at a time; the pages go back to the arena after the bucket lock
 * is dropped, so that giving them back to the system holds up no one. */
static uint64_t release_empty(unsigned b, uint64_t count, bool idle)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    uint64_t released = 0;
    uint32_t batch[RELEASE_BATCH];
    uint32_t n;
    do {
        kmem_lock_acquire(&kb->kb_lock);
        n = unlink_empty(b, count - released, batch, RELEASE_BATCH);
        kmem_lock_release(&kb->kb_lock);
        if (n > 0)
            kmem_arena_free_slabs(batch, n, kmem_classes[b].kc_pages, idle);
        released += n;
    } while (n == RELEASE_BATCH && released < count);
    return released;
}

/* Whether bucket kb holds pieces in its transfer cache or more empty
 * slabs than it keeps (relaxed reads: a hint). */
static bool holds_idle(const struct kmem_bucket *kb)
{
    return KMEM_RELAXED_LOAD(kb->kb_xfer) > 0 ||
           KMEM_RELAXED_LOAD(kb->kb_empty) > KMEM_EMPTY_SLABS_KEPT;
}

static bool others_hold_idle(unsigned except)
{
    for (unsigned o = 1; o <= KMEM_NBUCKETS; o++)
        if (o != except && holds_idle(&kmem_buckets[o]))
            return true;
    return false;
}

void kmem_buckets_lend(unsigned except, uint32_t npages)
{
    /* Hosted only: built without thread caches (freestanding), carving
     * keeps its stated bound. */
    if (!KMEM_THREAD_CACHE || !others_hold_idle(except) || kmem_arena_has_dirty_run(npages))
        return;
    for (unsigned o = 1; o <= KMEM_NBUCKETS; o++) {
        struct kmem_bucket *kb = &kmem_buckets[o];
        /* Never waiting: the caller may hold bucket `except`'s lock, and
         * a bucket in use now is not idle. */
        if (o == except || !holds_idle(kb) || !kmem_lock_try(&kb->kb_lock))
            continue;
        flush_xfer_locked(o, kb->kb_xfer);
        uint32_t batch[RELEASE_BATCH];
        uint32_t n = kb->kb_empty > KMEM_EMPTY_SLABS_KEPT
                         ? unlink_empty(o, kb->kb_empty - KMEM_EMPTY_SLABS_KEPT, batch,
                                        RELEASE_BATCH)
                         : 0;
        kmem_lock_release(&kb->kb_lock);
        if (n > 0)
            kmem_arena_free_slabs(batch, n, kmem_classes[o].kc_pages, false);
    }
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
        if (KMEM_RELAXED_LOAD(kb->kb_xfer) == 0 && KMEM_RELAXED_LOAD(kb->kb_empty) == 0)
            continue;
        kmem_lock_acquire(&kb->kb_lock);
        /* Pieces that sat in the transfer cache all interval go back to
         * their slabs. A slab that this empties was idle all interval too
         * (its last pieces were among them), so it counts as idle now,
         * not one interval later:
         *
         *     idle slabs = fewest empty during the interval
         *                + slabs emptied by flushing idle pieces. */
        uint32_t idle_pieces = kb->kb_xfer_low;
        uint64_t empty_before = kb->kb_empty;
        if (idle_pieces > 0)
            flush_xfer_locked(b, idle_pieces);
        kb->kb_xfer_low = kb->kb_xfer;
        uint64_t idle = kb->kb_empty_low + (kb->kb_empty - empty_before);
        kb->kb_empty_low = kb->kb_empty; /* the next interval starts now */
        kmem_lock_release(&kb->kb_lock);
        if (idle > KMEM_EMPTY_SLABS_KEPT)
            release_empty(b, idle - KMEM_EMPTY_SLABS_KEPT, true);
    }
}

/*
 * A fork() child whose parent's fork skipped bucket b's lock (its thread
 * was stopped inside the bucket, or another thread held the lock too long
 * to wait for): the lists and counts may be half changed, so they are
 * rebuilt from the slabs themselves. A slab is a first page of kind b
 * with all its tails (the arena is already whole, kmem_arena_fork); its
 * free pieces are those that carry the slab mark or the fresh mark (or,
 * built without thread caches, lie past the fresh cut), each relinked.
 * The transfer cache is dropped: its pieces, and those the interrupted
 * operation had in hand, stay out of use in the child (they carry the
 * free key, which no list takes for free); a piece is never listed twice.
 */
void kmem_bucket_rebuild(unsigned b)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    const struct kmem_class *c = &kmem_classes[b];
    uint32_t old_fresh = kb->kb_fresh, old_fresh_next = kb->kb_fresh_next;
    __atomic_fetch_sub(&empty_pages, kb->kb_empty * c->kc_pages, __ATOMIC_RELAXED);
    kb->kb_partial = 0;
    kb->kb_fresh = 0;
    kb->kb_fresh_next = 0;
    kb->kb_slabs = 0;
    kb->kb_free = 0;
    KMEM_RELAXED_STORE(kb->kb_empty, 0);
    kb->kb_empty_low = 0;
    xfer_set(kb, 0);
    kb->kb_xfer_low = 0;
    uint32_t high = kmem_arena_high_mark();
    for (uint32_t slab = 0; slab < high; slab++) {
        struct kmem_page *d = kmem_page_of(slab);
        if (d->ku_kind != b)
            continue;
        uint32_t p = 1;
        while (p < c->kc_pages && slab + p < high &&
               d[p].ku_kind == KMEM_KIND_SLAB_TAIL + b && d[p].ku_word == p)
            p++;
        if (p < c->kc_pages)
            continue; /* never finished: its pages stay out of use */
        char *base = slab_base(slab);
        uint32_t head = 0, nfree = 0;
        for (uint32_t i = c->kc_pieces; i-- > 0;) {
            uintptr_t *w = (uintptr_t *)(base + (size_t)i * c->kc_size);
            bool fresh = KMEM_THREAD_CACHE ? w[1] == kmem_fresh_mark(w)
                                           : old_fresh == slab + 1 && i >= old_fresh_next;
            if (!fresh && w[1] != kmem_slab_mark(w))
                continue;
            w[0] = kmem_slab_link(w, head);
            w[1] = kmem_slab_mark(w);
            head = i;
            nfree++;
        }
        d->ku_freehead = (uint8_t)head;
        d->ku_nfree = (uint16_t)nfree;
        d->ku_word = 0;
        if (nfree > 0) {
            d->ku_word = kb->kb_partial;
            kb->kb_partial = slab + 1;
        }
        kb->kb_slabs++;
        kb->kb_free += nfree;
        if (nfree == c->kc_pieces)
            empty_changed(b, +1);
        slab += c->kc_pages - 1;
    }
    kb->kb_empty_low = kb->kb_empty;
}

bool kmem_buckets_fork(enum kmem_fork_phase phase)
{
    bool any = false;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        if (kmem_lock_fork(&kmem_buckets[b].kb_lock, phase)) {
            any = true;
            if (phase == KMEM_FORK_CHILD)
                kmem_bucket_rebuild(b);
        }
    return any;
}
