/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmem_fastpath.h — the few pieces of kmem's internals that the KMEM_MALLOC
 * and KMEM_FREE macros inline: the bucket geometry, the page descriptor,
 * the thread cache and the type record, and the one definition of the
 * thread cache's pop and push, which the library itself uses too. Included
 * by <kmem.h>; not an API.
 *
 * Layouts here may change with any release. The exported symbols carry the
 * geometry and a layout version in their names (KMEM_ABI), so a program
 * compiled against a header that does not match the library fails to link
 * instead of misreading memory.
 *
 * Field annotations say who may write a field (docs/DESIGN.md has the
 * full legend): [I] set once (at start or registration), then read-only;
 * [A] atomic operations only; [O] only the owning thread writes, others
 * read it with a relaxed load; [types], [registry], [bucket], [arena]:
 * under that lock.
 */
#ifndef KMEM_FASTPATH_H
#define KMEM_FASTPATH_H

#ifndef KMEM_H
#error "include <kmem.h>, not kmem_fastpath.h"
#endif

/* ---- geometry -------------------------------------------------------------
 * The page: the unit of the arena and of the page-descriptor table. The
 * cut-off between buckets and whole pages (MAXALLOCSAVE) is where the
 * geometry's sizes stop beating whole pages: two pages for the 1988
 * powers of two (2.5 pages would take 4 as a power of two, 3 as pages),
 * four for quarter steps, whose 2.5 and 3.5 pages beat 3 and 4 (above,
 * 5, 6, 7, 8 pages are whole pages anyway). The smallest piece is 16
 * bytes, which keeps every piece 16-byte aligned. */
#define KMEM_PAGE_SHIFT   12
#define KMEM_PAGE_SIZE    ((size_t)1 << KMEM_PAGE_SHIFT)
#define KMEM_MINALLOC     16

/* Buckets are numbered from 1 (0 marks "no bucket" in page descriptors). */
#if KMEM_THREAD_CACHE
#define KMEM_ABI_CACHE_(name) name
#else
#define KMEM_ABI_CACHE_(name) name##_nc
#endif

#if KMEM_CLASSES_PER_DOUBLING == 1
/* The 1988 geometry: powers of two, 16 .. 8192. */
#define KMEM_NBUCKETS 10
#define KMEM_MAXALLOCSAVE (2 * KMEM_PAGE_SIZE)
#define KMEM_ABI(name) KMEM_ABI_CACHE_(name##_p2v6)

static inline unsigned kmem_bucket_index(size_t size)
{
    return size <= 16 ? 1u : 61u - (unsigned)__builtin_clzll(size - 1);
}

static inline size_t kmem_bucket_size(unsigned index)
{
    return (size_t)8 << index;
}
#elif KMEM_CLASSES_PER_DOUBLING == 4
/* Four sizes per doubling: 16, 32, 48, 64, then 2^e * (5/4, 6/4, 7/4, 8/4)
 * up to 16384; and from 4096 on, a fifth size in each doubling, 2^e * 9/8
 * (4608, 9216): a page or two of payload with a header in front, a
 * common request (SQLite's page cache asks for 4368 bytes, CPython's
 * parser arenas for 8224) that the next quarter step would round up by a
 * sixth to a quarter. Every size is a multiple of 16; the powers of two
 * are kept, so a request of exactly 2^k is still served from a
 * 2^k-aligned piece. */
#define KMEM_NBUCKETS 38
#define KMEM_MAXALLOCSAVE (4 * KMEM_PAGE_SIZE)
#define KMEM_ABI(name) KMEM_ABI_CACHE_(name##_q4v8)

static inline unsigned kmem_bucket_index(size_t size)
{
    if (size <= 64)
        return size <= 16 ? 1u : (unsigned)((size + 15) >> 4);
    unsigned e = 63u - (unsigned)__builtin_clzll(size - 1); /* 2^e < size */
    unsigned index = 4u * e - 23u + (unsigned)((size - 1) >> (e - 2)); /* quarter steps */
    /* Past 4096, the 9/8 sizes below: one in each doubling from 4096 up to
     * 2^e, and this doubling's own when size is past it. */
    if (e >= 12)
        index += e - 12u + (size > (size_t)9 << (e - 3));
    return index;
}

static inline size_t kmem_bucket_size(unsigned index)
{
    if (index <= 4)
        return (size_t)16 * index;
    if (index <= 28) {
        unsigned j = index - 5, e = 6 + j / 4;
        return ((size_t)1 << e) + (size_t)(j % 4 + 1) * ((size_t)1 << (e - 2));
    }
    unsigned j = index - 29, e = 12 + j / 5, step = j % 5; /* 9/8, then quarters */
    return ((size_t)1 << e) + (step == 0 ? (size_t)1 << (e - 3) : (size_t)step << (e - 2));
}
#else
#error "KMEM_CLASSES_PER_DOUBLING must be 1 or 4"
#endif

/* Thread-cache counters kept per type, for this many types (slot 0 unused);
 * later types are counted in shared counters instead. */
#define KMEM_TYPE_SLOTS 16

/* 64-bit counters updated atomically start on an 8-byte boundary: a
 * 32-bit ABI (i386) aligns uint64_t to 4 in structs, and a locked
 * cmpxchg8b that straddles two cache lines is a bus lock (Linux traps and
 * slows it down). Put on the first such field of a struct; the ones after
 * it follow on 8-byte boundaries. */
#define KMEM_ALIGN64 __attribute__((aligned(8)))

#define KMEM_RELAXED_LOAD(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define KMEM_RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* A thread cache's fields are written only by their thread; statistics
 * readers in other threads load them with KMEM_RELAXED_LOAD and accept a
 * value a moment old (aligned 64-bit words are never torn on the machines
 * kmem supports). Plain stores let the compiler use one add-to-memory
 * instruction; under ThreadSanitizer they are atomic, so that it sees the
 * readers' intent. */
#if defined(__SANITIZE_THREAD__)
#define KMEM_TSAN_ 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KMEM_TSAN_ 1
#endif
#endif
#ifdef KMEM_TSAN_
#define KMEM_OWNER_STORE(x, v) KMEM_RELAXED_STORE(x, v)
#define KMEM_OWNER_ADD(x, v)   KMEM_RELAXED_STORE(x, (x) + (v))
#else
#define KMEM_OWNER_STORE(x, v) ((void)((x) = (v)))
#define KMEM_OWNER_ADD(x, v)   ((void)((x) += (v)))
#endif

/* ---- the type record ------------------------------------------------------
 * A type's counters that are not held in thread caches; the true figure is
 * these plus its slot in every thread's cache (src/core/type/type.c). What
 * the type holds is kept by bucket (pieces) and in whole pages (bytes), as
 * net counts, so that a reader can add a type's memory up by bucket and
 * the buckets' by type from the same values. */
struct kmem_type {
    const char *ks_shortdesc;    /* [I] name in the statistics */
    const char *ks_longdesc;     /* [I] one-line description */
    uint32_t ks_fast;            /* [A] where the fast path counts this type:
                                    ks_slot * sizeof(struct kmem_tcount);
                                    0: on the slow path */
    uint32_t ks_slot;            /* [I] thread-cache counter slot, 0: none */
    uint32_t ks_id;              /* [I] registration number, from 1; 0 until
                                    the type is first used */
    uint32_t ks_waiters;         /* [A] KM_WAITOK callers asleep at the limit */
    struct kmem_type *ks_next;   /* [types] list of registered types */
    uint64_t ks_limit KMEM_ALIGN64; /* [A] bytes, 0 = none */
    uint64_t ks_calls;           /* [A] allocations counted here */
    uint64_t ks_frees;           /* [A] frees counted here */
    uint64_t ks_alloc_bytes;     /* [A] their rounded bytes, summed */
    uint64_t ks_req_bytes;       /* [A] the bytes they asked for, summed */
    uint64_t ks_large;           /* [A] bytes of whole pages held now */
    uint64_t ks_held;            /* [A] bytes held now, counted here: pieces
                                    (rounded) and whole pages */
    uint64_t ks_maxused;         /* [A] high-water of memuse */
    uint64_t ks_limblocks;       /* [A] requests that found the limit */
    int64_t ks_estimate;         /* [A] memuse as of the last exact sample,
                                    plus what threads' caches reported since
                                    (src/core/type/type.c) */
    uint64_t ks_pieces[KMEM_NBUCKETS + 1]; /* [A] pieces of each bucket held
                                    now, counted here ([0] unused) */
};
#define KMEM_TYPE_INITIALIZER(shortdesc, longdesc) \
    { (shortdesc), (longdesc), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, { 0 } }

/* ---- the page descriptor (the paper's kmemusage), 8 bytes a page ---------- */
struct kmem_page {
    uint8_t  ku_kind;     /* 1..KMEM_NBUCKETS: first page of a slab of that
                             bucket; KMEM_TAIL_BIT | bucket: a later page
                             of one (ku_word: pages back to the first); 0:
                             free or never used; others:
                             src/core/arena/page.h */
    uint8_t  ku_freehead; /* slab: index of the first piece on its free list */
    uint16_t ku_nfree;    /* slab: pieces on its free list */
    uint32_t ku_word;     /* depends on ku_kind, see src/core/arena/page.h */
};

#define KMEM_TAIL_BIT 0x40

/* ---- the page map: what a free's fast path reads of a descriptor ----------
 * One entry a page, in a table of its own (src/core/arena/layout.h says
 * why and keeps it equal to the descriptors). */
struct kmem_map_entry {
    uint8_t me_kind; /* a slab's page: the descriptor's ku_kind; any other
                        page: 0 */
    uint8_t me_back; /* a later page of a slab: pages back to its first
                        (its ku_word); 0 for every other page */
};

/* ---- the thread cache -------------------------------------------------------
 * Each bin is a stack of free pieces in [tb_low, tb_sp), at most the
 * bucket's kc_highwat of them. A pop and a push move one pointer and write
 * nothing into other pieces. A push fails when tb_sp reaches tb_limit:
 * normally the stack's end, but tb_low right after a refill, so that the
 * first free after a run of allocations takes the slow path once and
 * samples the type's high-water mark there (src/core/tcache/tcache.c sets
 * and restores it).
 *
 * Below every stack lies a guard: tb_low[-1] points at a piece that never
 * carries a free key. So a pop needs no test for an empty bin: the top
 * piece of an empty one is the guard's, which fails the key test that
 * every pop makes anyway, and the caller takes the slow path. Before the
 * cache is set up (and after it is closed) every bin is an empty stack on
 * a guard of the library's own, with tb_limit == tb_sp: pops and pushes
 * fail alike.
 *
 * Every pointer field is [O]. */
/* What this thread's cache did for one type slot in one bucket. */
struct kmem_tcount {
    uint64_t tn_allocs KMEM_ALIGN64; /* allocations */
    uint64_t tn_frees;     /* frees */
    uint64_t tn_req_bytes; /* bytes requested by those allocations */
};
struct kmem_tbin {
    void **tb_sp;                /* next free slot */
    void **tb_low;               /* empty when tb_sp == tb_low */
    void **tb_limit;             /* a push needs tb_sp < tb_limit */
    struct kmem_tcount *tb_counts; /* [slot] for this bucket */
    struct kmem_tcount tb_own;   /* more counts of slot KMEM_TSLOT_OWN, kept
                                    on the bin's own cache line: the C
                                    library's calls count here */
    uint32_t tb_fill;            /* [O] pieces the next refill takes
                                    (src/core/tcache/tcache.h) */
    uint32_t tb_pad;             /* a bin is 64 bytes */
};
/* The slot whose figure is its row's counts plus every bin's tb_own. */
#define KMEM_TSLOT_OWN 1u
struct kmem_tcache {
    struct kmem_tbin tc_bins[KMEM_NBUCKETS + 1];    /* [0] unused */
    struct kmem_tcache *tc_next, *tc_prev;          /* [registry] live caches */
    void *tc_block;                                 /* [O] the stacks and counters */
    uint32_t tc_block_pages;                        /* [O] its size in pages */
    uint32_t tc_state;                              /* [O] src/core/tcache/tcache.h */
    uint32_t tc_sampled;                            /* [O] when it last sampled high-water
                                                       marks, in 2^20 ns */
    int64_t tc_reported[KMEM_TYPE_SLOTS];           /* [O] bytes its counts held per slot
                                                       when it last reported them */
};

/* Read-only after initialization. */
struct kmem_fastpath {
    uint16_t fp_bin_of[1024 / 16 + 1];      /* where in a thread cache the bin of
                                               sizes up to 1 KiB lies, by
                                               (size + 15) / 16: bucket *
                                               sizeof(struct kmem_tbin); first,
                                               so that its address is the
                                               object's */
    uintptr_t fp_base;                      /* first page of the arena */
    uintptr_t fp_size;                      /* bytes of pages; 0 before init */
    const struct kmem_map_entry *fp_map;    /* the page map: an entry a page */
    uintptr_t fp_secret;                    /* [A] free key = secret ^ address */
    uint32_t fp_magic[256];                 /* by page kind: ceil(2^32 / size) for a
                                               slab's first page, 0 for others */
    uint32_t fp_limit[256];                 /* by page kind: offset * magic (mod 2^32)
                                               is below this exactly for the offsets
                                               of the slab's pieces (kmem_piece_at);
                                               0 for pages that are not a slab's first */
};

extern KMEM_API struct kmem_fastpath KMEM_ABI(kmem_fastpath);
#ifdef KMEM_BUILDING
/* Inside the library the same object under a hidden name, reached without
 * a load from the global offset table. */
extern __attribute__((visibility("hidden"))) struct kmem_fastpath kmem_fastpath_local;
#define KMEM_FASTPATH_ kmem_fastpath_local
#else
#define KMEM_FASTPATH_ KMEM_ABI(kmem_fastpath)
#endif
#if KMEM_THREAD_CACHE
extern KMEM_API __thread struct kmem_tcache KMEM_ABI(kmem_tcache)
    __attribute__((tls_model("initial-exec")));
#else
/* Built without thread caches (no thread-local storage, as in a kernel):
 * this one stays empty and every request takes the locked path. */
extern KMEM_API struct kmem_tcache KMEM_ABI(kmem_tcache);
#endif

/* ---- sizes to buckets ---------------------------------------------------------
 * Where the bin for a request of `size` bytes lies in a thread cache, in
 * bytes from tc_bins: its bucket * sizeof(struct kmem_tbin); 0 (bin 0)
 * for one beyond KMEM_MAXALLOCSAVE. Bin 0 of every cache stays empty, so
 * a pop from it fails without a test of its own. Folded to a constant
 * when the size is one; else, up to 1 KiB (the common case), one read of
 * a table filled when kmem starts (perhaps while another thread already
 * reads it: 0 before) and no comparison against the cut-off. The table
 * holds offsets, not bucket numbers, to spare the pop a multiplication. */
static inline size_t kmem_request_bin(size_t size)
{
    const size_t bin = sizeof(struct kmem_tbin);
    if (__builtin_constant_p(size))
        return size <= KMEM_MAXALLOCSAVE ? kmem_bucket_index(size) * bin : 0u;
    if (__builtin_expect(size <= 1024, 1))
        return KMEM_RELAXED_LOAD(KMEM_FASTPATH_.fp_bin_of[(size + 15) >> 4]);
    return size <= KMEM_MAXALLOCSAVE ? kmem_bucket_index(size) * bin : 0u;
}

/* The bucket of a request of `size` bytes; 0 beyond KMEM_MAXALLOCSAVE. */
static inline unsigned kmem_request_bucket(size_t size)
{
    return (unsigned)(kmem_request_bin(size) / sizeof(struct kmem_tbin));
}

/* ---- free pieces ----------------------------------------------------------------
 * A free piece carries a key in its second word: its address mixed with a
 * secret. A piece handed out has 0 there. Each move of a piece checks the
 * word it expects: a free finds no key (else: a double free), a hand-out
 * finds the key (else the piece was written after it was freed, or is
 * listed twice: reported, never handed out). A slab's free list and its
 * fresh pieces have marks of their own, key ^ 1 and key ^ 2
 * (src/core/bucket/bucket.h). */
static inline uintptr_t kmem_piece_key(const void *piece)
{
    /* Atomic (a plain load on the machines kmem supports): a pop reads
     * the secret to check the guard of an empty bin (kmem_tbin_take), also
     * before kmem is started, while another thread may be starting it. */
    return KMEM_RELAXED_LOAD(KMEM_FASTPATH_.fp_secret) ^ (uintptr_t)piece;
}

/* ---- the thread cache's pop and push ----------------------------------------------
 * The only code that moves a bin's stack pointer one piece; the fast paths
 * below, the typed API, the C library front end and the slow paths all go
 * through it. */

/* Take the top piece of a bin; NULL, leaving the bin as it is, when the
 * bin is empty (the top is the guard's piece) or when its top piece no
 * longer carries its key (the library's slow path tells the two apart and
 * reports the second). */
static inline void *kmem_tbin_take(struct kmem_tbin *bin)
{
    void **sp = bin->tb_sp - 1;
    uintptr_t *piece = (uintptr_t *)*sp;
    if (__builtin_expect(piece[1] != kmem_piece_key(piece), 0))
        return 0;
    KMEM_OWNER_STORE(bin->tb_sp, sp);
    /* The next pop reads the next piece, which another thread may have
     * freed: its line is then in that thread's CPU's cache, and the pop
     * would wait for it (perf on prodcons -t 4: four fifths of malloc's
     * samples on that read). Ask for it now. sp[-1] is always readable
     * (at worst it is the guard), and a prefetch never faults. */
    __builtin_prefetch(sp[-1], 1);
    piece[1] = 0; /* no longer carries the free key */
    return piece;
}

/* Put a free piece on a bin that has room: the key first, so that the
 * piece is never in the bin without it. */
static inline void kmem_tbin_put(struct kmem_tbin *bin, void *piece, uintptr_t key)
{
    void **sp = bin->tb_sp;
    ((uintptr_t *)piece)[1] = key;
    *sp = piece;
    KMEM_OWNER_STORE(bin->tb_sp, sp + 1);
}

static inline struct kmem_tcount *kmem_tcount_at(struct kmem_tbin *bin, uint32_t fast)
{
    return (struct kmem_tcount *)((char *)bin->tb_counts + fast);
}

/* Pop a piece from the thread's cache into *out, from the bin `at` bytes
 * into tc_bins (kmem_request_bin), counting it in the bin's own counters
 * (`own`: the C library's type) or at the type's ks_fast; 0 when the bin
 * is empty or the type is counted on the slow path (ks_fast 0: a limit,
 * or no slot). */
static inline int kmem_cache_pop_as(size_t at, size_t request, const struct kmem_type *type,
                                    int own, void **out)
{
    if (!KMEM_THREAD_CACHE)
        return 0; /* built without caches: the bins stay empty */
    struct kmem_tbin *bin = (struct kmem_tbin *)((char *)KMEM_ABI(kmem_tcache).tc_bins + at);
    uint32_t fast = own ? 0 : KMEM_RELAXED_LOAD(type->ks_fast);
    if (!own && fast == 0)
        return 0;
    void *piece = kmem_tbin_take(bin); /* NULL also when the bin is empty */
    if (piece == 0)
        return 0;
    *out = piece;
    struct kmem_tcount *count = own ? &bin->tb_own : kmem_tcount_at(bin, fast);
    KMEM_OWNER_ADD(count->tn_allocs, 1);
    KMEM_OWNER_ADD(count->tn_req_bytes, request);
    return 1;
}

/* The same for `type`, from the bin of bucket `index`. */
static inline int kmem_cache_pop(unsigned index, size_t request,
                                 struct kmem_type *type, void **out)
{
    return kmem_cache_pop_as(index * sizeof(struct kmem_tbin), request, type, 0, out);
}

/* A request of `size` bytes from the thread's cache: the common case of
 * every allocation. 0 sends the caller to its slow path. */
static inline int kmem_cache_alloc(size_t size, struct kmem_type *type, void **out)
{
    return kmem_cache_pop_as(kmem_request_bin(size), size, type, 0, out);
}

/* Whether a piece of a slab of page kind `kind` starts `in_slab` bytes
 * into it. With m = fp_magic = ceil(2^32 / size) = (2^32 + e) / size, the
 * k-th piece's offset gives (k * size) * m = k * e (mod 2^32), small, and
 * every offset that is not a multiple of size gives at least m (checked
 * by tests/api/test_geometry.c). So one product and one comparison
 * against fp_limit = pieces * e (m when e is 0, a power of two with no
 * unused tail) accept exactly the offsets of the slab's pieces, not the
 * piece that would start in its unused tail. */
static inline int kmem_piece_at(const struct kmem_fastpath *fp, size_t kind, uint32_t in_slab)
{
    return in_slab * fp->fp_magic[kind] < fp->fp_limit[kind];
}

/* Push `ptr` onto the thread's cache if it is the start of a live piece
 * and the bin has room, counting the free in the bin's own counters
 * (`own`) or at the type's ks_fast, read only once the pointer is known
 * to be a piece; return 0 to send the caller to its slow path (which also
 * reports bad pointers, double frees and a NULL type). The page's entry
 * in the page map alone says whether ptr starts a piece, and of which
 * bucket: two bytes a page, apart from the descriptors (whose slab fields
 * change as the slab takes pieces back, on any thread). */
static inline int kmem_cache_push_as(void *ptr, const struct kmem_type *type, int own)
{
    if (!KMEM_THREAD_CACHE)
        return 0; /* built without caches: the slow path checks the pointer */
    const struct kmem_fastpath *fp = &KMEM_FASTPATH_;
    uintptr_t off = (uintptr_t)ptr - fp->fp_base;
    if (off >= fp->fp_size)
        return 0;
    const struct kmem_map_entry *entry = &fp->fp_map[off >> KMEM_PAGE_SHIFT];
    size_t index = entry->me_kind;
    uint32_t in_slab = (uint32_t)(off & (KMEM_PAGE_SIZE - 1));
    /* Fails for pages that are not a slab's first (limit 0) and for
     * addresses that are not the start of a piece. */
    if (!kmem_piece_at(fp, index, in_slab)) {
        if (!(index & KMEM_TAIL_BIT))
            return 0;
        /* A later page of a slab of several: the offset is from the
         * slab's first page. */
        index &= KMEM_TAIL_BIT - 1;
        if (!kmem_piece_at(fp, index, in_slab + ((uint32_t)entry->me_back << KMEM_PAGE_SHIFT)))
            return 0;
    }
    uintptr_t key = kmem_piece_key(ptr);
    if (((const uintptr_t *)ptr)[1] == key)
        return 0; /* already free, in a cache (on a slab's list or fresh, its
                     mark is another: the slow path's checks find it later) */
    uint32_t fast = own ? 0 : KMEM_RELAXED_LOAD(type->ks_fast);
    struct kmem_tbin *bin = &KMEM_ABI(kmem_tcache).tc_bins[index];
    if (bin->tb_sp >= bin->tb_limit || (!own && fast == 0))
        return 0;
    kmem_tbin_put(bin, ptr, key);
    struct kmem_tcount *count = own ? &bin->tb_own : kmem_tcount_at(bin, fast);
    KMEM_OWNER_ADD(count->tn_frees, 1);
    return 1;
}

/* The same for `type`: 0 also when the type is counted on the slow path. */
static inline int kmem_cache_push(void *ptr, struct kmem_type *type)
{
    return kmem_cache_push_as(ptr, type, 0);
}

#define KMEM_MALLOC(space, cast, size, type, flags)                          \
    do {                                                                     \
        size_t kmem_size_ = (size);                                          \
        int kmem_flags_ = (flags);                                           \
        struct kmem_type *kmem_type_ = (type);                               \
        void *kmem_p_;                                                       \
        if (!(kmem_type_ != 0 &&                                             \
              (kmem_flags_ == KM_WAITOK || kmem_flags_ == KM_NOWAIT) &&      \
              kmem_cache_alloc(kmem_size_, kmem_type_, &kmem_p_)))           \
            kmem_p_ = kmem_malloc(kmem_size_, kmem_type_, kmem_flags_);      \
        (space) = (cast)kmem_p_;                                             \
    } while (0)

#define KMEM_FREE(addr, type)                                                \
    do {                                                                     \
        void *kmem_a_ = (void *)(addr);                                      \
        struct kmem_type *kmem_t_ = (type);                                  \
        if (kmem_t_ == 0 || !kmem_cache_push(kmem_a_, kmem_t_))              \
            kmem_free(kmem_a_, kmem_t_);                                     \
    } while (0)

#endif /* KMEM_FASTPATH_H */
