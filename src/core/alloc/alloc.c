/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alloc.c — allocation, free and resize across the layers (see alloc.h).
 *
 * The common cases are inlined from kmem_fastpath.h (kmem_cache_pop and
 * kmem_cache_push); everything here is the slow path: refilling or
 * draining a thread cache, types that are counted in shared counters
 * (limited types, types beyond the cache's slots), large blocks, and the
 * checks that turn a bad pointer into a message.
 */
#include "core/alloc/alloc.h"

#include "core/alloc/debug.h"
#include "core/alloc/init.h"
#include "core/alloc/reclaim.h"
#include "core/alloc/threads.h"
#include "core/arena/arena.h"
#include "core/arena/page.h"
#include "core/base/diag.h"
#include "core/bucket/bucket.h"
#include "core/tcache/tcache.h"
#include "core/type/type.h"
#include "platform/platform.h"

/* ---- what a pointer is -------------------------------------------------- */

struct block {
    bool     bl_small;
    unsigned bl_bucket; /* small: its bucket */
    uint32_t bl_page;   /* large: its first page */
    uint32_t bl_npages; /* large: its pages */
    size_t   bl_size;   /* usable bytes */
};

/* A large block freed (or resized) with another type than its own. */
static _Noreturn void wrong_type(const char *who, const void *ptr,
                                 const struct kmem_type *type, uint32_t owner)
{
    const struct kmem_type *own = kmem_type_by_id(owner);
    kmem_bad_pointer2(who, ptr, type, "block was allocated with type ",
                      own != NULL ? own->ks_shortdesc : "?");
}

/* Find the live block starting at ptr, or report and abort. With
 * `owned`, a large block must belong to `type` (small pieces do not record
 * their type). */
static struct block classify(const void *ptr, const struct kmem_type *type,
                             bool owned, const char *who)
{
    struct block blk = { false, 0, 0, 0, 0 };
    uint32_t page = kmem_page_index(ptr);
    if (page == KMEM_NO_PAGE)
        kmem_bad_pointer(who, ptr, type, "pointer was not allocated by kmem (outside its arena)");
    const struct kmem_page *d = kmem_page_of(page);
    unsigned kind = d->ku_kind;
    if (kmem_kind_is_slab_tail(kind))
        kind -= KMEM_KIND_SLAB_TAIL;
    if (kmem_kind_is_slab(kind)) {
        if (!kmem_piece_starts(kind, page, (uintptr_t)ptr))
            kmem_bad_pointer(who, ptr, type, "pointer is not the start of a block");
        if (kmem_piece_marked_free(ptr)) {
            if (kmem_debug & KMEM_DEBUG_TRACE)
                kmem_debug_double_free(who, ptr, kmem_classes[kind].kc_size, type);
            kmem_bad_pointer(who, ptr, type, "block is already free (double free)");
        }
        blk.bl_small = true;
        blk.bl_bucket = kind;
        blk.bl_size = kmem_classes[kind].kc_size;
    } else if (kind == KMEM_KIND_LARGE) {
        if (ptr != kmem_page_addr(page))
            kmem_bad_pointer(who, ptr, type, "pointer is not the start of a block");
        uint32_t owner = kmem_large_owner(d);
        if (owned && owner != 0 && owner != KMEM_RELAXED_LOAD(type->ks_id))
            wrong_type(who, ptr, type, owner);
        blk.bl_page = page;
        blk.bl_npages = d->ku_word;
        blk.bl_size = (size_t)d->ku_word << KMEM_PAGE_SHIFT;
    } else if (kind == KMEM_KIND_LARGE_TAIL) {
        kmem_bad_pointer(who, ptr, type, "pointer is inside a large block, not at its start");
    } else if (kind == KMEM_KIND_INTERNAL || kind == KMEM_KIND_INTERNAL_TAIL) {
        kmem_bad_pointer(who, ptr, type,
                         "pointer is in kmem's own memory (a thread cache), not a block");
    } else if (kind == KMEM_KIND_FREE || kind == KMEM_KIND_BUSY) {
        kmem_bad_pointer(who, ptr, type,
                         "pointer is in free pages (already freed, or never allocated)");
    } else {
        kmem_bad_pointer(who, ptr, type, "page descriptor is damaged");
    }
    return blk;
}

/* KMEM_DEBUG=guard: the pages after each large block's own. */
static uint32_t guard_pages(void)
{
    return (kmem_debug & KMEM_DEBUG_GUARD) ? 1 : 0;
}

/* The bytes of a live block the program may use: the piece, or the large
 * block's pages but its guard; with KMEM_DEBUG=redzone, the size it asked
 * for, the redzone checked. */
static size_t usable_of(const struct block *blk, const void *ptr, const struct kmem_type *type,
                        const char *who)
{
    size_t usable = blk->bl_small ? blk->bl_size
                                  : (size_t)(blk->bl_npages - guard_pages()) << KMEM_PAGE_SHIFT;
    if (kmem_debug & KMEM_DEBUG_REDZONE)
        return kmem_debug_asked(ptr, usable, type, who);
    return usable;
}

/* ---- allocation --------------------------------------------------------- */

static struct kmem_size piece_size(unsigned b)
{
    struct kmem_size s = { b, kmem_classes[b].kc_size };
    return s;
}

static struct kmem_size pages_size(size_t bytes)
{
    struct kmem_size s = { 0, bytes };
    return s;
}

size_t kmem_max_request(void)
{
    return (size_t)kmem_arena.ka_npages << KMEM_PAGE_SHIFT;
}

static void *exhausted(size_t size, struct kmem_type *type, int flags, const char *who)
{
    if (flags & KM_WAITOK)
        kmem_bad_request(who, size, type,
                         "out of memory: the arena is exhausted and KM_WAITOK cannot be met");
    return NULL;
}

/* What a hand-out found in a piece that should carry its free key. */
#define KMEM_WRITTEN_AFTER_FREE                                                       \
    "was changed after it was freed (a write after free, or a second free of it), so " \
    "it is not handed out"

/* A piece of bucket b from the thread cache (or, without one, straight
 * from the bucket), counted for the type unless `counted` already. */
static void *take_piece(unsigned b, size_t size, struct kmem_type *type, bool counted,
                        const char *who)
{
    struct kmem_tcache *tc = kmem_thread_cache();
    void *piece;
    if (tc != NULL) {
        struct kmem_tbin *bin = &tc->tc_bins[b];
        if (bin->tb_sp == bin->tb_low) {
            if (!kmem_tcache_refill(tc, b))
                return NULL;
            kmem_reclaim_poke(); /* a slow path: the background thread may be due */
        }
        if (!counted && kmem_cache_pop(b, size, type, &piece))
            return piece;
        piece = kmem_tbin_take(bin);
        if (piece == NULL)
            kmem_bad_free_block(who, bin->tb_sp[-1], kmem_classes[b].kc_size,
                                KMEM_WRITTEN_AFTER_FREE);
    } else if ((piece = kmem_bucket_take_one(b)) == NULL) {
        return NULL;
    } else {
        if (kmem_debug_without_caches())
            kmem_reclaim_poke(); /* as a refill would: no cache, no refills */
        uintptr_t *w = piece;
        if (w[1] != kmem_piece_key(w))
            kmem_bad_free_block(who, w, kmem_classes[b].kc_size, KMEM_WRITTEN_AFTER_FREE);
        w[1] = 0;
    }
    /* Counted here rather than by a cache: the bucket's requests and the
     * type's shared counters. */
    __atomic_fetch_add(&kmem_buckets[b].kb_calls, 1, __ATOMIC_RELAXED);
    if (!counted)
        kmem_type_count_alloc(type, piece_size(b), size);
    return piece;
}

/* A piece of bucket b for `size` bytes. kmem has started (the callers
 * make sure first: the bucket depends on KMEM_DEBUG). */
static void *alloc_small(unsigned b, size_t size, struct kmem_type *type, int flags,
                         const char *who)
{
    kmem_type_ensure(type);
    size_t rounded = kmem_classes[b].kc_size;
    int admit = kmem_type_admit(type, piece_size(b), size, true, flags, who);
    if (admit == KMEM_ADMIT_REFUSED)
        return NULL;
    void *p = take_piece(b, size, type, admit == KMEM_ADMIT_COUNTED, who);
    if (p == NULL) {
        kmem_reclaim_all();
        p = take_piece(b, size, type, admit == KMEM_ADMIT_COUNTED, who);
    }
    if (p == NULL) {
        if (admit == KMEM_ADMIT_COUNTED)
            kmem_type_unadmit(type, piece_size(b), true);
        return exhausted(size, type, flags, who);
    }
    if (kmem_debug & KMEM_DEBUG_JUNK)
        kmem_debug_check_junk(p, rounded, who);
    if (flags & KM_ZERO)
        __builtin_memset(p, 0, rounded);
    if (kmem_debug & KMEM_DEBUG_REDZONE)
        kmem_debug_arm(p, size, rounded, type);
    return p;
}

/* Whole pages; the first page's address a multiple of align_pages pages
 * (and, with KMEM_DEBUG, room for the redzone and a guard page after).
 * kmem has started, as for alloc_small. */
static void *alloc_large(size_t size, uint32_t align_pages, struct kmem_type *type,
                         int flags, const char *who)
{
    size_t need = kmem_debug_request(size);
    if (need > kmem_max_request() - ((size_t)guard_pages() << KMEM_PAGE_SHIFT)) {
        if (flags & KM_WAITOK)
            kmem_bad_request(who, size, type,
                             "request is larger than the arena; KM_WAITOK can never be met");
        return NULL;
    }
    uint32_t npages = (uint32_t)((need + KMEM_PAGE_MASK) >> KMEM_PAGE_SHIFT) + guard_pages();
    size_t rounded = (size_t)npages << KMEM_PAGE_SHIFT;
    size_t usable = (size_t)(npages - guard_pages()) << KMEM_PAGE_SHIFT;
    kmem_type_ensure(type);
    int admit = kmem_type_admit(type, pages_size(rounded), size, true, flags, who);
    if (admit == KMEM_ADMIT_REFUSED)
        return NULL;
    struct kmem_page head = kmem_large_head(npages, KMEM_RELAXED_LOAD(type->ks_id));
    bool zeroed = false;
    kmem_buckets_lend(0, npages); /* reuse what the buckets hold idle first */
    uint32_t page = kmem_arena_alloc(npages, align_pages, head, KMEM_KIND_LARGE_TAIL, &zeroed);
    if (page == KMEM_NO_PAGE) {
        kmem_reclaim_all();
        page = kmem_arena_alloc(npages, align_pages, head, KMEM_KIND_LARGE_TAIL, &zeroed);
    }
    if (page == KMEM_NO_PAGE) {
        if (admit == KMEM_ADMIT_COUNTED)
            kmem_type_unadmit(type, pages_size(rounded), true);
        return exhausted(size, type, flags, who);
    }
    if (admit == KMEM_ADMIT_FREE)
        kmem_type_count_alloc(type, pages_size(rounded), size);
    kmem_reclaim_poke();
    void *p = kmem_page_addr(page);
    if ((flags & KM_ZERO) && !zeroed)
        __builtin_memset(p, 0, usable);
    if (kmem_debug & KMEM_DEBUG_REDZONE)
        kmem_debug_arm(p, size, usable, type);
    if (guard_pages() != 0) /* without one if the system refuses */
        (void)kmem_os_protect((char *)p + usable, KMEM_PAGE_SIZE, false);
    return p;
}

__attribute__((noinline)) void *kmem_alloc_slow(size_t size, struct kmem_type *type,
                                                 int flags, const char *who)
{
    /* Started first: KMEM_DEBUG, read then, may make the request larger. */
    if (!kmem_ensure_init())
        return exhausted(size, type, flags, who);
    size_t need = kmem_debug_request(size);
    if (need <= KMEM_MAXALLOCSAVE)
        return alloc_small(kmem_bucket_index(need), size, type, flags, who);
    return alloc_large(size, 1, type, flags, who);
}

void *kmem_alloc_aligned(size_t size, size_t align, struct kmem_type *type, int flags,
                         const char *who)
{
    if (align <= KMEM_MINALLOC)
        return kmem_alloc(size, type, flags, who);
    if (!kmem_ensure_init()) /* first: see kmem_alloc_slow */
        return exhausted(size, type, flags, who);
    size_t need = kmem_debug_request(size);
    if (need <= KMEM_MAXALLOCSAVE && align <= KMEM_PAGE_SIZE) {
        /* Slabs are page aligned, so a bucket whose size is a multiple of
         * the alignment has only aligned pieces. */
        unsigned b = kmem_bucket_index(need > align ? need : align);
        while (b <= KMEM_NBUCKETS && kmem_bucket_size(b) % align != 0)
            b++;
        if (b <= KMEM_NBUCKETS) {
            void *p;
            if (!(flags & KM_ZERO) && kmem_cache_pop(b, size, type, &p))
                return p;
            return alloc_small(b, size, type, flags, who);
        }
    }
    /* The arena's size is known only once kmem has started (above). */
    if (align > kmem_max_request()) {
        if (flags & KM_WAITOK)
            kmem_bad_request(who, size, type, "alignment is larger than the arena");
        return NULL;
    }
    uint32_t align_pages = align > KMEM_PAGE_SIZE ? (uint32_t)(align >> KMEM_PAGE_SHIFT) : 1;
    /* Whole pages, even for a small size: a one-page large block is as
     * good as any other. */
    return alloc_large(size != 0 ? size : 1, align_pages, type, flags, who);
}

/* ---- free ----------------------------------------------------------------- */

static void free_small(void *ptr, unsigned b, struct kmem_type *type, const char *who)
{
    struct kmem_tcache *tc = kmem_thread_cache();
    if (tc == NULL) {
        uintptr_t *w = ptr, word1 = w[1];
        w[1] = kmem_piece_key(ptr);
        int what = kmem_bucket_give_one(b, ptr);
        if (what == KMEM_GIVE_FRESH) {
            w[1] = word1;
            kmem_bad_pointer(who, ptr, type, "block is already free (double free)");
        }
        if (what == KMEM_GIVE_SLAB)
            kmem_reclaim_poke();
        kmem_type_count_free(type, piece_size(b));
        return;
    }
    unsigned what = kmem_tcache_make_room(tc, b);
    if (what & KMEM_TC_RUN_ENDED)
        kmem_type_sample_run(type, tc);
    if (what & KMEM_TC_DRAINED)
        kmem_type_sample_soon(type);
    if (what & KMEM_TC_TO_SLABS)
        kmem_reclaim_poke();
    if (kmem_cache_push(ptr, type))
        return;
    /* A type counted on the slow path (a limit, or no slot). */
    kmem_tbin_put(&tc->tc_bins[b], ptr, kmem_piece_key(ptr));
    kmem_type_count_free(type, piece_size(b));
}

/* KMEM_DEBUG=quarantine: the piece is counted free and marked so (a second
 * free of it is a double free), and held back; the oldest held piece goes
 * back to its bucket instead, its junk checked. */
static void free_held(void *ptr, unsigned b, struct kmem_type *type)
{
    ((uintptr_t *)ptr)[1] = kmem_piece_key(ptr);
    kmem_type_count_free(type, piece_size(b));
    unsigned out_b;
    uintptr_t *out = kmem_debug_hold(ptr, b, &out_b);
    if (out == NULL)
        return;
    if (kmem_debug & KMEM_DEBUG_JUNK)
        kmem_debug_check_junk(out, kmem_classes[out_b].kc_size, "leaving the quarantine");
    if (kmem_bucket_give_one(out_b, out) == KMEM_GIVE_SLAB)
        kmem_reclaim_poke();
}

__attribute__((noinline)) void kmem_dealloc_slow(void *ptr, struct kmem_type *type,
                                                  const char *who)
{
    if (ptr == NULL)
        return;
    struct block blk = classify(ptr, type, true, who);
    kmem_type_ensure(type);
    if (kmem_debug != 0) {
        (void)usable_of(&blk, ptr, type, who); /* checks the redzone */
        if (blk.bl_small && (kmem_debug & (KMEM_DEBUG_JUNK | KMEM_DEBUG_TRACE)))
            kmem_debug_free_piece(ptr, blk.bl_size);
        if (blk.bl_small && (kmem_debug & KMEM_DEBUG_QUARANTINE)) {
            free_held(ptr, blk.bl_bucket, type);
            return;
        }
        if (!blk.bl_small && guard_pages() != 0)
            (void)kmem_os_protect((char *)ptr + blk.bl_size - KMEM_PAGE_SIZE, KMEM_PAGE_SIZE,
                                  true);
    }
    if (blk.bl_small) {
        free_small(ptr, blk.bl_bucket, type, who);
        return;
    }
    /* Checked again under the arena lock: two threads freeing one block. */
    if (kmem_arena_free_block(blk.bl_page, KMEM_KIND_LARGE) == 0)
        kmem_bad_pointer(who, ptr, type, "block is already free (double free)");
    kmem_type_count_free(type, pages_size(blk.bl_size));
    kmem_reclaim_poke();
}

/* ---- resize --------------------------------------------------------------- */

enum resized { RESIZED, RESIZE_NO_ROOM, RESIZE_REFUSED };

/* Resize a large block without moving it. RESIZE_NO_ROOM: the pages after
 * it are taken (or, for a KM_WAITOK caller, the limit has no room now: the
 * caller moves the block, waiting there); RESIZE_REFUSED: a KM_NOWAIT
 * caller is at the type's limit, and moving would need even more. */
static enum resized resize_in_place(const struct block *blk, size_t size,
                                    struct kmem_type *type, int flags, const char *who)
{
    uint32_t npages = (uint32_t)((size + KMEM_PAGE_MASK) >> KMEM_PAGE_SHIFT);
    size_t old_bytes = blk->bl_size, new_bytes = (size_t)npages << KMEM_PAGE_SHIFT;
    if (npages == blk->bl_npages)
        return RESIZED;
    if (npages < blk->bl_npages) {
        kmem_arena_shrink(blk->bl_page, blk->bl_npages, npages);
        kmem_type_count_resize(type, old_bytes, new_bytes);
        return RESIZED;
    }
    /* Never wait here; a waiting caller waits once, in the move. */
    int quiet = (flags & KM_WAITOK) ? KMEM_ADMIT_QUIET : 0;
    int admit = kmem_type_admit(type, pages_size(new_bytes - old_bytes), 0, false,
                                KM_NOWAIT | quiet, who);
    if (admit == KMEM_ADMIT_REFUSED)
        return (flags & KM_WAITOK) ? RESIZE_NO_ROOM : RESIZE_REFUSED;
    bool zeroed = false;
    if (!kmem_arena_grow(blk->bl_page, blk->bl_npages, npages, &zeroed)) {
        if (admit == KMEM_ADMIT_COUNTED)
            kmem_type_unadmit(type, pages_size(new_bytes - old_bytes), false);
        return RESIZE_NO_ROOM;
    }
    if (admit == KMEM_ADMIT_FREE)
        kmem_type_count_resize(type, old_bytes, new_bytes);
    if ((flags & KM_ZERO) && !zeroed)
        __builtin_memset((char *)kmem_page_addr(blk->bl_page) + old_bytes, 0,
                         new_bytes - old_bytes);
    return RESIZED;
}

/* The bytes a request of `size` holds. */
static size_t rounded_size(size_t size)
{
    if (size <= KMEM_MAXALLOCSAVE)
        return kmem_bucket_size(kmem_bucket_index(size));
    return (size + KMEM_PAGE_MASK) & ~(size_t)KMEM_PAGE_MASK;
}

void *kmem_resize(void *ptr, size_t size, struct kmem_type *type, int flags,
                  const char *who)
{
    if (ptr == NULL)
        return kmem_alloc(size, type, flags, who);
    struct block blk = classify(ptr, type, true, who);
    kmem_type_ensure(type);
    /* With KMEM_DEBUG a block always moves: a stale pointer to the old
     * place then reads junk, and the redzone is made anew. */
    size_t old = usable_of(&blk, ptr, type, who);
    if (kmem_debug == 0 && blk.bl_small && size <= KMEM_MAXALLOCSAVE &&
        kmem_bucket_index(size) == blk.bl_bucket)
        return ptr;
    if (kmem_debug == 0 && !blk.bl_small && size > KMEM_MAXALLOCSAVE &&
        size <= kmem_max_request()) {
        enum resized r = resize_in_place(&blk, size, type, flags, who);
        if (r == RESIZED)
            return ptr;
        if (r == RESIZE_REFUSED)
            return NULL;
    }
    /* Moving holds the old and the new block at once. */
    uint64_t limit = KMEM_RELAXED_LOAD(type->ks_limit);
    if ((flags & KM_WAITOK) && limit != 0 && size <= kmem_max_request() &&
        blk.bl_size + rounded_size(size) > limit)
        kmem_bad_request(who, size, type,
                         "moving the block needs the old and the new one at once, more than "
                         "the type's limit; KM_WAITOK can never be met");
    void *q = kmem_alloc(size, type, flags & ~KM_ZERO, who);
    if (q == NULL)
        return NULL;
    __builtin_memcpy(q, ptr, old < size ? old : size);
    if (flags & KM_ZERO) {
        size_t usable = kmem_block_usable(q, type, who);
        if (usable > old)
            __builtin_memset((char *)q + old, 0, usable - old);
    }
    kmem_dealloc(ptr, type, who);
    return q;
}

size_t kmem_block_usable(const void *ptr, const struct kmem_type *type, const char *who)
{
    if (ptr == NULL)
        return 0;
    struct block blk = classify(ptr, type, false, who);
    return usable_of(&blk, ptr, type, who);
}
