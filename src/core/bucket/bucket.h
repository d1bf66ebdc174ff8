/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bucket.h — buckets: the size classes, the slabs (runs of pages cut into
 * pieces of one size) that serve them, and each slab's free list.
 *
 * In front of the slabs, each bucket keeps a transfer cache: an array of
 * free pieces that thread caches hand in and take out whole batches of,
 * without touching the slabs (so a piece freed by one thread reaches the
 * thread that allocates next for a copy of pointers). Only when it is full
 * or empty are pieces put back on, or taken off, their slabs.
 *
 * A slab's free list lives in its pieces (the first word of a free piece
 * is the index of the next, with a check mixed in above it: see
 * kmem_slab_link) and in its first page's descriptor (ku_nfree,
 * ku_freehead). Slabs with free pieces are chained through ku_word on the
 * bucket's partial list; pieces are taken from the first slab on it, so a
 * slab leaves the list from the front when its last piece is taken and
 * joins at the front when a piece comes back to a full slab.
 *
 * A new slab is not cut up when it is carved: its pieces are *fresh* —
 * free, counted in ku_nfree, on no free list — and are taken in address
 * order from kb_fresh_next, one step each, once its free list is empty.
 * So taking a piece is O(1) whatever the slab holds (carving used to
 * write all of up to 256 pieces). Only the slab carved last can have
 * fresh pieces: a slab is carved only when no slab has a free piece.
 * And a take carves at most one slab, and none once it has a piece: a
 * thread cache asking for a whole fill gets less rather than make the
 * heap grow by more than a slab for pieces that may never be used (in a
 * single thread, a bucket's slabs then exceed its most pieces ever in
 * use by at most one slab, whatever the fills).
 *
 * Invariants, per bucket (under kb_lock):
 *   kb_slabs * kc_pieces == pieces handed out + pieces in thread caches
 *                           + kb_xfer + kb_free
 *   kb_free == sum of ku_nfree over the slabs on the partial list
 *   kb_empty == slabs on the list with ku_nfree == kc_pieces
 *   a slab's free list holds ku_nfree pieces, less its fresh ones
 *     (kc_pieces - kb_fresh_next for the slab kb_fresh, none for others)
 *
 * Every free piece has a mark in its second word, which is how a double
 * free is caught: the free key (kmem_piece_key) while it is in a thread
 * cache or the transfer cache, key ^ 1 while it is on its slab's free
 * list, key ^ 2 while it is fresh (carve writes it: a free of one is
 * caught on the cache's fast path, which takes key ^ 0..3 for "free").
 * Built without thread caches, fresh pieces are not written: the key is
 * written as each is taken, and a free of a fresh piece is caught under
 * the bucket lock (kmem_bucket_give_one).
 *
 * Nothing kmem reads from a free piece is followed unchecked, so that a
 * write after free, an overflow into a free neighbour or a second free
 * is reported, never turned into a piece handed out twice:
 *   going onto a slab's list:  word 1 == key   (== key ^ 1: double free)
 *   taken off it:              word 1 == key ^ 1, word 0 == kmem_slab_link
 *                              of its own next index, next < kc_pieces
 *   a fresh piece taken:       word 1 == key ^ 2 (with thread caches)
 *   handed out by a cache:     word 1 == key   (kmem_tbin_take)
 *   a piece onto a slab's list: ku_nfree < kc_pieces before it
 *   an empty slab released:    its list holds every piece not fresh,
 *                              each once (kmem_slab_list_intact): a
 *                              piece listed twice cannot give back the
 *                              pages of a slab that still has one out
 */
#ifndef KMEM_BUCKET_H
#define KMEM_BUCKET_H

#include "core/arena/arena.h"
#include "core/base/config.h"
#include "core/base/lock.h"

/* Word 1 of a piece on its slab's free list, and of a fresh one. */
static inline uintptr_t kmem_slab_mark(const void *piece)
{
    return kmem_piece_key(piece) ^ 1;
}
static inline uintptr_t kmem_fresh_mark(const void *piece)
{
    return kmem_piece_key(piece) ^ 2;
}

/* Whether word 1 of a piece holds one of the three marks of a free piece
 * (the key, the slab list's, a fresh piece's): a free of it is a second
 * one. */
static inline bool kmem_piece_marked_free(const void *piece)
{
    return (((const uintptr_t *)piece)[1] ^ kmem_piece_key(piece)) <= 3;
}

/* Word 0 of a piece on its slab's free list: the next piece's index in
 * the low byte, above it a check made of the piece's key and that index.
 * Changing the index alone (a one-byte overflow from the piece before)
 * always breaks the check: the products of two keys that differ by less
 * than 2^8 differ below bit 56 (bit 24 in 32 bits). */
static inline uintptr_t kmem_slab_link(const void *piece, uint32_t next)
{
    uintptr_t check = (kmem_piece_key(piece) ^ next) * (uintptr_t)0x9E3779B97F4A7C15ull;
    return check << 8 | next;
}

struct kmem_class {
    uint32_t kc_size;    /* piece size */
    uint32_t kc_pages;   /* pages per slab */
    uint32_t kc_pieces;  /* pieces per slab, at most KMEM_SLAB_MAXPIECES */
    uint32_t kc_highwat; /* most pieces a thread cache keeps */
    uint32_t kc_batch;   /* most pieces moved per exchange with a thread
                            cache: highwat / 2 */
    uint32_t kc_fill_first; /* what a thread cache's first refill takes */
    uint32_t kc_room_least; /* the least a thread cache's bin holds */
    uint32_t kc_xfer;    /* pieces the bucket's transfer cache holds at most */
    uint32_t kc_magic;   /* ceil(2^32 / kc_size): see kmem_piece_starts */
};

struct kmem_bucket {
    kmem_lock kb_lock;
    uint32_t kb_partial;  /* [bucket] first slab with free pieces: page + 1; 0 none */
    uint32_t kb_fresh;    /* [bucket] the slab (page + 1) whose pieces from
                             kb_fresh_next on are fresh; 0 none */
    uint32_t kb_fresh_next; /* [bucket] its first fresh piece */
    uint64_t kb_slabs KMEM_ALIGN64; /* [bucket] slabs held */
    uint64_t kb_free;     /* [bucket] pieces on slab free lists */
    uint64_t kb_empty;    /* [bucket; read relaxed] slabs whose pieces are all free */
    uint64_t kb_empty_low; /* [bucket] fewest empty slabs since the last reclaim
                              pass: that many stayed empty throughout */
    uint64_t kb_calls;    /* [A] allocations not counted by a thread cache */
    uint32_t kb_xfer;     /* [bucket; read relaxed] pieces in the transfer cache */
    uint32_t kb_xfer_low; /* [bucket] fewest there since the last reclaim pass */
    void **kb_xfer_pieces; /* [I] the transfer cache, kc_xfer pieces */
} __attribute__((aligned(64)));

extern struct kmem_class kmem_classes[KMEM_NBUCKETS + 1];
extern struct kmem_bucket kmem_buckets[KMEM_NBUCKETS + 1];

/* Fill kmem_classes (and the fast path's tables); a thread cache keeps
 * about tcache_bytes per bucket. */
void kmem_buckets_init(uint32_t tcache_bytes);

/* Fill each new slab with `byte` before its pieces are handed out (-1:
 * not filled): KMEM_DEBUG=junk, so that every free piece holds junk. */
void kmem_buckets_fill_new_slabs(int byte);

/* The bucket's lock, for a caller that must change its own state in the
 * same step as the bucket's (a thread cache's stack pointer: fork() must
 * never see a batch both in the bucket and in the cache). */
static inline void kmem_bucket_lock(unsigned b)
{
    kmem_lock_acquire(&kmem_buckets[b].kb_lock);
}
static inline void kmem_bucket_unlock(unsigned b)
{
    kmem_lock_release(&kmem_buckets[b].kb_lock);
}

/*
 * Take up to n pieces of bucket b into out[], carving a new slab only if
 * none is free (and then one); each still carries the free key. Returns
 * how many were taken: fewer than n when more would have taken a second
 * new slab, or a first one after pieces already free; 0 when the arena is
 * exhausted. The caller holds the bucket lock (a
 * thread cache's refill).
 */
uint32_t kmem_bucket_take_locked(unsigned b, uint32_t n, void **out);

/* Return n pieces of bucket b, each carrying the free key. Returns how
 * many went back onto their slabs (past the transfer cache), which may
 * leave memory idle for the reclaimer. The caller holds the bucket lock. */
uint32_t kmem_bucket_give_locked(unsigned b, void *const *pieces, uint32_t n);

/* One piece, taking the lock (a build without thread caches, where every
 * small request and free comes here). take returns NULL when the arena
 * is exhausted. give returns what it did with the piece: */
#define KMEM_GIVE_XFER  0 /* into the transfer cache */
#define KMEM_GIVE_SLAB  1 /* onto its slab (the transfer cache was full) */
#define KMEM_GIVE_FRESH 2 /* nothing: the piece is fresh, never handed out */
void *kmem_bucket_take_one(unsigned b);
int kmem_bucket_give_one(unsigned b, void *piece);

/* Release every slab whose pieces are all free (after emptying the
 * transfer caches onto their slabs). */
void kmem_buckets_reclaim(void);

/* Release the slabs that stayed empty since the last call (keeping
 * KMEM_EMPTY_SLABS_KEPT per bucket): the background reclaimer's pass. */
void kmem_buckets_release_idle(void);

/* Memory is about to be taken from the arena for npages pages (a slab of
 * bucket `except`, whose lock the caller may hold, or a large block:
 * except 0), and the arena has no resident free run for it: the other
 * buckets whose locks are free give their transfer caches' pieces back to
 * their slabs, and their empty slabs beyond KMEM_EMPTY_SLABS_KEPT back to
 * the arena, so that the heap reuses what is idle before it grows.
 * Built without thread caches (freestanding) it does nothing, so that
 * carving keeps its stated bound. */
void kmem_buckets_lend(unsigned except, uint32_t npages);

/* Pages of empty slabs held by all buckets (a relaxed read). */
uint64_t kmem_buckets_empty_pages(void);

/* Where offset `off` of a slab of class c falls, with no division: the
 * offset (below 2^15) times kc_magic = ceil(2^32 / size) has the piece's
 * index, off / size, in its high half, and its low half is below the
 * magic exactly when size divides off (checked for every class and
 * offset by tests/internal/test_classes.c). */
static inline uint32_t kmem_slab_piece_index(const struct kmem_class *c, uint32_t off)
{
    return (uint32_t)(((uint64_t)off * c->kc_magic) >> 32);
}
static inline bool kmem_slab_piece_starts(const struct kmem_class *c, uint32_t off)
{
    return off * c->kc_magic < c->kc_magic && off < c->kc_pieces * c->kc_size;
}

/* The slab a piece lies in: its first page, and the piece's index. */
struct kmem_piece_place {
    uint32_t pp_slab;  /* first page of the slab */
    uint32_t pp_index; /* piece index within the slab */
    bool pp_exact;     /* the address is the start of that piece */
};
struct kmem_piece_place kmem_piece_locate(unsigned b, uint32_t page, uintptr_t addr);

/* Whether addr, in page `page` of a slab of bucket b, is the start of one
 * of its pieces: pp_exact of kmem_piece_locate, without the index. The
 * bucket's own copy of the magic: the fast path's table may be another
 * object in a program that links the shared library and copies its data
 * (a copy relocation). */
static inline bool kmem_piece_starts(unsigned b, uint32_t page, uintptr_t addr)
{
    const struct kmem_page *d = kmem_page_of(page);
    if (kmem_kind_is_slab_tail(d->ku_kind))
        page -= d->ku_word;
    uint32_t off = (uint32_t)(addr - (uintptr_t)kmem_page_addr(page));
    return kmem_slab_piece_starts(&kmem_classes[b], off);
}

/* The index of the first fresh piece of a slab of bucket b (kc_pieces if
 * it has none: only the slab kb_fresh has). Bucket lock held. */
static inline uint32_t kmem_slab_fresh_from(unsigned b, uint32_t slab)
{
    const struct kmem_bucket *kb = &kmem_buckets[b];
    return kb->kb_fresh == slab + 1 ? kb->kb_fresh_next : kmem_classes[b].kc_pieces;
}

/* Whether the free list of a slab of bucket b holds its free pieces but
 * the fresh ones, each once and below the first fresh one, marks and
 * links intact. Bucket lock held. */
bool kmem_slab_list_intact(unsigned b, uint32_t slab);

/* Around fork(): every bucket lock (see kmem_lock_fork; the answer is
 * whether any bucket answered yes). In the child, a bucket whose lock
 * was skipped is rebuilt from its slabs (kmem_bucket_rebuild). */
bool kmem_buckets_fork(enum kmem_fork_phase phase);
void kmem_bucket_rebuild(unsigned b);

/* Check each bucket's lists and counters (see the invariants above);
 * `cached[b]` is the number of pieces thread caches hold. */
int kmem_buckets_check(const uint64_t cached[KMEM_NBUCKETS + 1]);

#endif /* KMEM_BUCKET_H */
