/*
 * arena.h — the arena: one reserved range of address space, a descriptor
 * per page, and runs of free pages (find, split, coalesce, give back).
 *
 * Free runs are either dirty (their pages may still be resident) or clean
 * (given back to the system; they read as zero where the platform says
 * so). Runs of the same state coalesce; a dirty run becomes clean when it
 * is purged. Each free run has a record (struct kmem_run) on a size-binned
 * list, so finding a run of n pages looks at a bitmap of non-empty bins,
 * never at the arena.
 *
 * All functions take the arena lock themselves unless named *_locked.
 * Lock order: bucket locks, then the arena lock.
 */
#ifndef KMEM_ARENA_H
#define KMEM_ARENA_H

#include "core/base/config.h"
#include "core/base/lock.h"
#include "core/arena/page.h"

#define KMEM_RUN_DIRTY 0
#define KMEM_RUN_CLEAN 1
#define KMEM_RUN_BINS  168 /* 64 exact sizes, then 4 bins per doubling to 2^32 */
#define KMEM_RUN_BINWORDS ((KMEM_RUN_BINS + 63) / 64)
#define KMEM_NO_PAGE UINT32_MAX

/* A free run of pages. Records are numbered from 1; 0 means none. */
struct kmem_run {
    uint32_t rn_page;   /* first page */
    uint32_t rn_npages; /* length in pages; 0 while the record is unused */
    uint32_t rn_next;   /* bin list, or the unused-record list */
    uint32_t rn_prev;
    uint32_t rn_newer;  /* dirty runs, oldest to newest */
    uint32_t rn_older;
    uint8_t  rn_state;  /* KMEM_RUN_DIRTY / KMEM_RUN_CLEAN */
    uint8_t  rn_bin;
    uint16_t rn_pad;
    uint32_t rn_stamp;  /* when it became dirty, milliseconds (wraps) */
};

/* A range of address space committed on demand, in KMEM_COMMIT_STEP steps. */
struct kmem_commit {
    char  *cm_base;
    size_t cm_done;  /* bytes committed */
    size_t cm_limit; /* bytes reserved */
};

struct kmem_arena {
    kmem_lock ka_lock;
    uintptr_t ka_base;          /* [I] address of page 0 */
    uint32_t ka_npages;         /* [I] pages in the arena */
    uint32_t ka_runs_max;       /* [I] run records that fit */
    struct kmem_page *ka_pages; /* [I] descriptor table */
    struct kmem_run *ka_runs;   /* [I] run records, [0] unused */
    struct kmem_commit ka_commit_pages; /* [L] data pages */
    uint32_t ka_runs_used;      /* [L] records ever taken */
    uint32_t ka_run_unused;     /* [L] first unused record */
    uint32_t ka_high;           /* [L] pages below this have been used */
    uint32_t ka_dirty_oldest;   /* [L] dirty runs by age */
    uint32_t ka_dirty_newest;   /* [L] */
    uint32_t ka_bins[2][KMEM_RUN_BINS];         /* [L] first run of each bin */
    uint64_t ka_binmap[2][KMEM_RUN_BINWORDS];   /* [L] non-empty bins */
    uint64_t ka_free_pages[2];  /* [L] pages in dirty / clean runs */
    uint64_t ka_large_pages;    /* [L] pages of live large blocks */
    uint64_t ka_large_blocks;   /* [L] live large blocks */
    uint64_t ka_slab_pages;     /* [L] pages cut into pieces */
    uint64_t ka_internal_pages; /* [L] kmem's own pages (thread caches' blocks) */
    uint64_t ka_runs_live;      /* [L] run records in use */
    uint32_t ka_runs_unused;    /* [L] records on the unused list */
    uint32_t ka_busy_runs;      /* [L] runs being given back (lock dropped) */
    uint64_t ka_busy_pages;     /* [L] their pages */
    uint64_t ka_decommit_calls; /* [L] */
    uint64_t ka_decommit_bytes; /* [L] */
    uint64_t ka_commit_calls;   /* [L] */
    uint64_t ka_cap_pages;      /* [L] most pages held (KMEM_LIMIT); 0: none */
    uint32_t ka_decay_ms;       /* [A] dirty runs unused this long go back */
    uint64_t ka_dirty_max;      /* [I] most dirty pages kept; 0: the larger of
                                   KMEM_DIRTY_MIN_BYTES and the pages in use */
    bool ka_zeroes;             /* [I] decommitted pages read as zero */
};

extern struct kmem_arena kmem_arena;

/* Lay the arena over a reservation of `size` bytes at `base` (aligned to
 * KMEM_COMMIT_STEP). Returns false if it is too small to be useful. */
bool kmem_arena_init(void *base, size_t size);

static inline struct kmem_page *kmem_page_of(uint32_t page)
{
    return &kmem_arena.ka_pages[page];
}
static inline void *kmem_page_addr(uint32_t page)
{
    return (void *)(kmem_arena.ka_base + ((uintptr_t)page << KMEM_PAGE_SHIFT));
}
/* Page index of an address, or KMEM_NO_PAGE outside the arena. */
static inline uint32_t kmem_page_index(const void *ptr)
{
    uintptr_t off = (uintptr_t)ptr - kmem_arena.ka_base;
    if (off >= ((uintptr_t)kmem_arena.ka_npages << KMEM_PAGE_SHIFT))
        return KMEM_NO_PAGE;
    return (uint32_t)(off >> KMEM_PAGE_SHIFT);
}

/*
 * Take npages contiguous pages whose first page's address is a multiple of
 * align_pages pages (a power of two; 1 for any), and mark them: the first
 * with `head`, each later page i (1..npages-1) with kind `tail_kind` and
 * ku_word i. Returns the first page, or KMEM_NO_PAGE when the arena has no
 * such run or the process-wide cap would be passed. *zeroed tells whether
 * the pages are known to read as zero.
 */
uint32_t kmem_arena_alloc(uint32_t npages, uint32_t align_pages, struct kmem_page head,
                          uint8_t tail_kind, bool *zeroed);

/* How long dirty runs may stay unused before they go back (ms, at least
 * 1), and the most dirty pages kept (0: derived; UINT64_MAX: unchanged). */
void kmem_arena_set_decay(uint32_t ms, uint64_t dirty_max_pages);

/* Cap the pages kmem holds (in use plus free pages kept resident); 0 for
 * none. */
void kmem_arena_set_cap(uint64_t bytes);

/* Free the block of `kind` (KMEM_KIND_LARGE or KMEM_KIND_INTERNAL) whose
 * first page is `page`, checking under the lock that it is one. Returns
 * its page count, or 0 if `page` is not the first page of such a block. */
uint32_t kmem_arena_free_block(uint32_t page, uint8_t kind);

/* Give pages [page, page+npages) back; they become a dirty free run.
 * Arena lock held. */
void kmem_arena_free_locked(uint32_t page, uint32_t npages);

/* Give back `count` slabs of npages pages each, starting at first[i]. With
 * `idle` their pages have been unused a while: first in line to go back to
 * the system. Nothing is given to the system here: the caller releases
 * all it has first (so that neighbours join into fewer, larger runs), then
 * calls kmem_arena_decay() or kmem_arena_purge_all(). */
void kmem_arena_free_slabs(const uint32_t *first, uint32_t count, uint32_t npages, bool idle);

/* Large blocks in place: extend the block at `page` from old to new pages
 * if the pages after it are free (returns false otherwise; *zeroed as for
 * alloc, for the added pages); or shrink it, freeing its tail. */
bool kmem_arena_grow(uint32_t page, uint32_t old_npages, uint32_t new_npages,
                     bool *zeroed);
void kmem_arena_shrink(uint32_t page, uint32_t old_npages, uint32_t new_npages);

/* Give back dirty runs: all of them (returns pages given back). */
uint64_t kmem_arena_purge_all(void);

/* Give back dirty runs unused for the decay time (and the oldest beyond
 * the limit on dirty pages). */
void kmem_arena_decay(void);

/* Pages in dirty runs (a relaxed read, for the reclaimer's threshold). */
uint64_t kmem_arena_dirty_pages(void);

/* Around fork(): take, release, or (in the child) reset the arena lock. */
void kmem_arena_fork(enum kmem_fork_phase phase);

/* The arena's share of kmem_arena_stats (takes the arena lock). */
void kmem_arena_read_stats(struct kmem_arena_stats *out);
/* Check descriptors, run records and bins against each other. Returns the
 * number of failures. Caller holds no lock; takes the arena lock. */
int kmem_arena_check(void);

#endif /* KMEM_ARENA_H */
