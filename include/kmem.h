/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmem.h — the typed allocation interface of kmem.
 *
 * kmem is the general-purpose allocator McKusick and Karels designed for
 * the 4.3BSD kernel, carried to today's machines: an interface shaped like
 * malloc/free (free needs no size: a descriptor per page of the arena
 * records what the page holds), per-size free lists for small requests,
 * whole pages for large ones, and a *type* on every allocation with
 * statistics and an optional limit.
 *
 *     #include <kmem.h>
 *     KMEM_TYPE_DEFINE(M_PCB, "pcb", "protocol control blocks");
 *
 *     struct pcb *p = kmem_malloc(sizeof *p, M_PCB, KM_WAITOK | KM_ZERO);
 *     ...
 *     kmem_free(p, M_PCB);
 *
 * Link with -lkmem (pkg-config --cflags --libs kmem). All functions are
 * safe to call from any thread. Unless stated, a function that takes a
 * pointer kmem did not hand out (or hands one back twice) prints one line
 * naming it on the error output and aborts: kmem never continues on a
 * corrupted heap.
 */
#ifndef KMEM_H
#define KMEM_H

#include <stddef.h>
#include <stdint.h>

#include "kmem_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KMEM_API __attribute__((visibility("default")))
#define KMEM_MALLOC_ATTR(n) __attribute__((malloc, alloc_size(n), warn_unused_result))
#else
#define KMEM_API
#define KMEM_MALLOC_ATTR(n)
#endif

/* ---- flags --------------------------------------------------------------
 * Every request says whether it may wait: exactly one of KM_WAITOK and
 * KM_NOWAIT, optionally with KM_ZERO. Anything else is a programming error
 * (message and abort). */
#define KM_WAITOK 0x0001 /* wait until the request can be met; never NULL */
#define KM_NOWAIT 0x0002 /* return NULL instead of waiting */
#define KM_ZERO   0x0004 /* zero-filled memory */

/* Error codes returned by the int-valued functions. */
#define KMEM_OK          0
#define KMEM_ERR_INVAL (-1) /* a bad argument */
#define KMEM_ERR_BUSY  (-2) /* too late: kmem is already running */
#define KMEM_ERR_NOMEM (-3) /* the system refused memory */

/* ---- types --------------------------------------------------------------
 * A type names a client subsystem. Define one per subsystem at file scope;
 * the variable then works as a `struct kmem_type *`:
 *
 *     KMEM_TYPE_DEFINE(M_NAMEI, "namei", "pathname buffers");  // one .c file
 *     KMEM_TYPE_DECLARE(M_NAMEI);                               // a header
 *
 * No registration call is needed: a type appears in the statistics the
 * first time it is used. The fields are kmem's own; read them through
 * kmem_type_stats(). A type must outlive every use of kmem that names it. */
struct kmem_type;
#define KMEM_TYPE_DEFINE(var, shortdesc, longdesc) \
    struct kmem_type var[1] = { KMEM_TYPE_INITIALIZER(shortdesc, longdesc) }
#define KMEM_TYPE_DECLARE(var) extern struct kmem_type var[1]

/* ---- allocation ---------------------------------------------------------
 * kmem_malloc: `size` bytes of type `type`, at least 16-byte aligned; any
 * size, 0 too (a unique pointer). Requests up to KMEM_MAXALLOCSAVE bytes
 * are rounded up to a bucket size (kmem_bucket_size) and a bucket of size
 * 2^k is aligned to min(2^k, KMEM_PAGE_SIZE); larger ones are rounded up
 * to whole pages and page aligned.
 *
 * KM_NOWAIT: returns NULL when the type is at its limit or memory is
 * exhausted. KM_WAITOK: sleeps until frees of the type make room under its
 * limit, and never returns NULL. A KM_WAITOK request that can never be
 * met — a size beyond the arena or above the type's limit, or an arena
 * that stays exhausted after everything free has been reclaimed — prints
 * a message and aborts.
 *
 * Cost: O(1) when the thread's cache holds a piece of the bucket (no lock,
 * no atomic read-modify-write); otherwise a batch exchange with the shared
 * bucket under its lock. Large requests take the page-run lock; finding a
 * run is O(1) in the arena size. */
KMEM_API void *kmem_malloc(size_t size, struct kmem_type *type, int flags)
    KMEM_MALLOC_ATTR(1);

/* As kmem_malloc, with the block's address a multiple of `align` (a power
 * of two; larger than the page size too). A small block comes from a
 * bucket whose size is a multiple of the alignment; a larger alignment
 * takes whole pages. An alignment that is not a power of two is a
 * programming error (message and abort). */
KMEM_API void *kmem_malloc_aligned(size_t size, size_t align, struct kmem_type *type,
                                   int flags) KMEM_MALLOC_ATTR(1);

/* Give back memory from kmem_malloc/kmem_realloc. NULL is a no-op. `type`
 * must be the type the block was allocated with. A large block (above
 * KMEM_MAXALLOCSAVE) records its type in its page descriptor, so a free
 * (or kmem_realloc) naming another type is reported and aborts. A small
 * piece records nothing beside its bucket, so a wrong type there goes
 * unseen at the free: the block is freed, the statistics move to the
 * wrong type, whose figures stop at zero rather than wrap (and whose
 * limit keeps admitting), and kmem_check() names a type that has freed
 * more than it allocated. With KMEM_DEBUG=redzone a small piece keeps its
 * type as well, and such a free is reported and aborts. */
KMEM_API void kmem_free(void *ptr, struct kmem_type *type);

/* Resize. The contents up to the smaller of the old and new sizes
 * survive; the block may move. ptr NULL acts as kmem_malloc. With
 * KM_NOWAIT a failure returns NULL and leaves the old block intact. KM_ZERO
 * zeroes the bytes beyond the old block's usable size. A size of 0 keeps a
 * minimum-size block (this is not the C library's realloc). A block that
 * moves is held twice for a moment: under a type's limit, the old and the
 * new size must fit together; with KM_WAITOK, when they never can, kmem
 * aborts with a message rather than wait forever. */
KMEM_API void *kmem_realloc(void *ptr, size_t size, struct kmem_type *type,
                            int flags) KMEM_MALLOC_ATTR(2);

/* The usable size of a live block, found from its page descriptor alone:
 * its bucket size or its whole pages. 0 for NULL. */
KMEM_API size_t kmem_usable_size(const void *ptr);

/* ---- limits and statistics ---------------------------------------------- */

/* Cap the memory (rounded sizes) a type may hold; 0 removes the cap.
 * Lowering a limit below current use is allowed: requests then wait or
 * fail until use falls. Returns KMEM_OK. */
KMEM_API int kmem_type_setlimit(struct kmem_type *type, size_t bytes);

struct kmem_type_stats {
    uint64_t inuse;     /* live allocations of the type */
    uint64_t memuse;    /* bytes they hold, rounded to bucket or page size */
    uint64_t maxused;   /* high-water of memuse (sampled, see below) */
    uint64_t calls;     /* allocations ever */
    uint64_t limit;     /* the limit, 0 = none */
    uint64_t limblocks; /* times a caller found the type at its limit */
    uint64_t frees;     /* frees ever */
    uint64_t requested; /* bytes asked for, summed over all its requests */
};
/* Fill *out. Exact when no thread is allocating; while threads run, each
 * thread's counters are read separately, so figures may lag by the
 * operations in flight. maxused is sampled whenever the counters are
 * folded together (thread-cache batch exchanges, statistics reads, limited
 * requests), so a peak shorter than one cache batch can be missed; it is
 * never raised above what the type held at some moment.
 * Returns KMEM_OK, or KMEM_ERR_INVAL for a NULL argument. */
KMEM_API int kmem_type_stats(const struct kmem_type *type,
                             struct kmem_type_stats *out);

/* The types in use, in the order they were first used: NULL gives the
 * first, a type the one after it; NULL at the end. kmem's own memory
 * (thread caches) is the type "kmem". */
KMEM_API struct kmem_type *kmem_type_next(const struct kmem_type *prev);
/* A type's short name and description. */
KMEM_API const char *kmem_type_name(const struct kmem_type *type);
KMEM_API const char *kmem_type_description(const struct kmem_type *type);

struct kmem_bucket_stats {
    uint64_t size;       /* piece size in bytes */
    uint64_t inuse;      /* pieces handed out */
    uint64_t free;       /* pieces free: in the shared bucket + thread caches */
    uint64_t cached;     /* of which held by thread caches */
    uint64_t requests;   /* allocations ever */
    uint64_t highwat;    /* most pieces a thread cache keeps of it */
    uint64_t slabs;      /* slabs (runs of pages cut into pieces) held */
    uint64_t slab_pages; /* pages per slab */
};
/* Buckets are numbered 1..kmem_nbuckets(). Returns KMEM_ERR_INVAL for an
 * index out of range. */
KMEM_API unsigned kmem_nbuckets(void);
KMEM_API int kmem_bucket_stats(unsigned index, struct kmem_bucket_stats *out);

struct kmem_arena_stats {
    uint64_t reserved;        /* bytes of address space reserved for pages */
    uint64_t page_size;       /* KMEM_PAGE_SIZE */
    uint64_t large_inuse;     /* bytes in live large blocks */
    uint64_t large_blocks;    /* live large blocks */
    uint64_t slab_bytes;      /* bytes of pages cut into pieces */
    uint64_t small_inuse;     /* bytes in live pieces */
    uint64_t dirty_free;      /* free pages still resident, kept for reuse */
    uint64_t clean_free;      /* free pages given back, below the high mark */
    uint64_t high_mark;       /* bytes of the arena ever used (the frontier) */
    uint64_t metadata;        /* bytes of page descriptors, page map and run records in use */
    uint64_t decommit_calls;  /* times pages were given back to the system */
    uint64_t decommit_bytes;  /* bytes given back, in total */
    uint64_t commit_calls;    /* times address space was made usable */
    uint64_t required;        /* memory held for the pool: slab_bytes +
                                 large_inuse + internal + dirty_free */
    uint64_t requested_calls; /* bytes asked for, summed over all requests */
    uint64_t rounded_calls;   /* the same requests after rounding */
    uint64_t internal;        /* bytes of kmem's own pages (thread caches'
                                 stacks and counters; the type "kmem") */
};
KMEM_API int kmem_arena_stats(struct kmem_arena_stats *out);

/* Write the tables `vmstat -m` printed in 1988 — by bucket size and by
 * type — and the utilization, through `write` (which receives text with
 * its length and no terminating NUL). flags 0: tables; KMEM_STATS_JSON:
 * the same data as one JSON object. */
typedef void kmem_write_fn(void *arg, const char *text, size_t len);
#define KMEM_STATS_JSON 0x1
KMEM_API void kmem_stats_print(kmem_write_fn *write, void *arg, int flags);

/* ---- life cycle ---------------------------------------------------------- */

/* Zero fields keep their defaults; the environment variables named beside
 * them override both. */
struct kmem_options {
    size_t arena_size;     /* address space to reserve (KMEM_ARENA_SIZE, e.g.
                              "64G"); default 4 x the machine's memory, or
                              what ulimit -v leaves (see kmem_init) */
    uint32_t decay_ms;     /* free pages unused this long go back to the
                              system (KMEM_DECAY_MS); default 1000 */
    uint32_t tcache_bytes; /* bytes a thread's cache keeps per bucket, which
                              bounds what an idle thread holds
                              (KMEM_TCACHE_BYTES); default 32 KiB */
    int background;        /* the background reclaimer (KMEM_BACKGROUND=
                              on|auto|off): 1 from the start, -1 never, 0
                              (default) once 32 MiB of memory lie idle */
    size_t dirty_max;      /* most free pages kept resident before the
                              oldest go back (KMEM_DIRTY_MAX); default
                              max(64 MiB, the memory in use) */
    int export_stats;      /* publish the statistics for other processes
                              to read, kmemstat(1) (KMEM_EXPORT=1|0): 1 on,
                              -1 off, 0 the default (on, where the platform
                              can) */
};
/* Optional: start kmem with options before its first use. The default
 * reservation is four times the machine's memory (at least 16 GiB); under
 * a limit on address space (ulimit -v) it is what the limit leaves, less
 * 1/32 of that (at least 32 MiB, or a quarter of a smaller limit) kept
 * for the rest of the program. Where the system refuses a reservation
 * anyway (valgrind), kmem asks for an eighth less until it is granted. Returns KMEM_OK, KMEM_ERR_BUSY if kmem already
 * started, KMEM_ERR_NOMEM if no reservation could be had. */
KMEM_API int kmem_init(const struct kmem_options *options);

/* Cap the memory kmem holds for the whole process — pages in use plus free
 * pages kept resident — at `bytes` (0: no cap). Past it, KM_NOWAIT requests
 * (and the C library's malloc) get NULL; KM_WAITOK ones abort. Also set by
 * the environment variable KMEM_LIMIT (e.g. "512M") when kmem starts.
 * Returns KMEM_OK. */
KMEM_API int kmem_set_memory_limit(size_t bytes);

/* Give back to the system all memory that is free now: the calling
 * thread's cache, slabs whose pieces are all free, and free page runs.
 * Returns the number of bytes given back. */
KMEM_API size_t kmem_trim(void);

/* Hand the calling thread's cached pieces back to the shared buckets. On
 * POSIX this happens by itself when a thread exits. */
KMEM_API void kmem_thread_flush(void);

/* One pass of what the background reclaimer does every tick: slabs that
 * stayed empty since the last pass go back to the page pool, free pages
 * unused for the decay time go back to the system. For hosts without
 * threads (freestanding), to call now and then. */
KMEM_API void kmem_maintain(void);

/* Change the decay time (see kmem_options.decay_ms). */
KMEM_API void kmem_set_decay_ms(uint32_t ms);

/* Walk the whole heap and check its invariants (page descriptors, free
 * lists, run records, statistics). Returns 0 when all hold; otherwise
 * prints what failed and returns the number of failures. O(arena in use):
 * for tests and debugging. */
KMEM_API int kmem_check(void);

/* ---- the 1988 macros ------------------------------------------------------
 * KMEM_MALLOC(space, cast, size, type, flags) and KMEM_FREE(addr, type)
 * behave as kmem_malloc/kmem_free. When the size is a compile-time constant
 * the bucket index folds to a constant, and the common case is a pop from
 * (or push onto) the thread's cache without a function call. */
#include "kmem_fastpath.h"

#ifdef __cplusplus
}
#endif

#endif /* KMEM_H */
