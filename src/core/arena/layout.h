/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layout.h — the arena's data: the record of a free run, the arena's
 * fields, and the arithmetic between pages and addresses. Included by
 * arena.h (the layer's interface) and by runs.h (its internals).
 *
 * Field annotations: [I] set at start, then read-only; [A] atomic or
 * relaxed loads; [arena] under ka_lock.
 */
#ifndef KMEM_LAYOUT_H
#define KMEM_LAYOUT_H

#include "core/arena/page.h"
#include "core/base/config.h"
#include "core/base/lock.h"

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
    struct kmem_map_entry *ka_map; /* [I] page map: what the fast path reads
                                   of each descriptor (kmem_page_map_entry) */
    struct kmem_run *ka_runs;   /* [I] run records, [0] unused */
    struct kmem_commit ka_commit_pages; /* [arena] data pages */
    uint32_t ka_runs_used;      /* [arena] records ever taken */
    uint32_t ka_run_unused;     /* [arena] first unused record */
    uint32_t ka_high;           /* [arena] pages below this have been used */
    uint32_t ka_dirty_oldest;   /* [arena; read relaxed] dirty runs by age */
    uint32_t ka_dirty_newest;   /* [arena] */
    uint32_t ka_bins[2][KMEM_RUN_BINS];         /* [arena] first run of each bin */
    uint64_t ka_binmap[2][KMEM_RUN_BINWORDS] KMEM_ALIGN64; /* [arena] non-empty bins */
    uint64_t ka_free_pages[2];  /* [arena; read relaxed] pages in dirty / clean runs */
    uint64_t ka_large_pages;    /* [arena] pages of live large blocks */
    uint64_t ka_large_blocks;   /* [arena] live large blocks */
    uint64_t ka_slab_pages;     /* [arena] pages cut into pieces */
    uint64_t ka_internal_pages; /* [arena] kmem's own pages (thread caches' blocks) */
    uint64_t ka_runs_live;      /* [arena] run records in use */
    uint32_t ka_runs_unused;    /* [arena] records on the unused list */
    uint32_t ka_busy_runs;      /* [arena] runs being given back (lock dropped) */
    uint64_t ka_busy_pages;     /* [arena] their pages */
    uint64_t ka_decommit_calls; /* [arena] */
    uint64_t ka_decommit_bytes; /* [arena] */
    uint64_t ka_commit_calls;   /* [arena] */
    uint64_t ka_cap_pages;      /* [arena] most pages held (KMEM_LIMIT); 0: none */
    uint32_t ka_decay_ms;       /* [A] dirty runs unused this long go back */
    uint64_t ka_dirty_max;      /* [I] most dirty pages kept; 0: the larger of
                                   KMEM_DIRTY_MIN_BYTES and the pages in use */
    bool ka_zeroes;             /* [I] decommitted pages read as zero */
};

extern struct kmem_arena kmem_arena;

static inline struct kmem_page *kmem_page_of(uint32_t page)
{
    return &kmem_arena.ka_pages[page];
}

/* The page map holds, for every page p,
 *   ka_map[p] == kmem_page_map_entry(ka_pages[p])
 * whenever the arena lock is free: for a page of a slab its kind, and for
 * a later one the pages back to the first; 0 for every other page
 * (struct kmem_map_entry in include/kmem_fastpath.h). It is what a free's
 * fast path reads (kmem_cache_push_as), kept apart from the descriptors
 * so that it is dense (2 bytes a page) and written only when a slab is
 * made or a page freed: the slab fields of the descriptors (ku_freehead,
 * ku_nfree, ku_word of a first page) change with every piece a slab takes
 * back, and the free of another thread would wait for their cache line.
 * Change a kind or a tail's ku_word only with these: kmem_page_set,
 * kmem_page_set_tails, kmem_page_clear. */
static inline struct kmem_map_entry kmem_page_map_entry(struct kmem_page d)
{
    if (kmem_kind_is_slab(d.ku_kind))
        return (struct kmem_map_entry){ d.ku_kind, 0 };
    if (kmem_kind_is_slab_tail(d.ku_kind))
        return (struct kmem_map_entry){ d.ku_kind, (uint8_t)d.ku_word };
    return (struct kmem_map_entry){ 0, 0 };
}
static inline bool kmem_map_entry_is(struct kmem_map_entry e, struct kmem_page d)
{
    struct kmem_map_entry want = kmem_page_map_entry(d);
    return e.me_kind == want.me_kind && e.me_back == want.me_back;
}
static inline void kmem_page_set(uint32_t page, struct kmem_page d)
{
    kmem_arena.ka_pages[page] = d;
    kmem_arena.ka_map[page] = kmem_page_map_entry(d);
}
/* Free pages first+i, for i in [from, to), become the i-th pages of the
 * block that starts at `first`: kind tail_kind, ku_word i. (Free pages'
 * map entries are 0 already: only a slab's need writing.) */
static inline void kmem_page_set_tails(uint32_t first, uint32_t from, uint32_t to,
                                       uint8_t tail_kind)
{
    struct kmem_page *d = &kmem_arena.ka_pages[first];
    for (uint32_t i = from; i < to; i++)
        d[i] = (struct kmem_page){ tail_kind, 0, 0, i };
    if (kmem_kind_is_slab_tail(tail_kind))
        for (uint32_t i = from; i < to; i++)
            kmem_arena.ka_map[first + i] = (struct kmem_map_entry){ tail_kind, (uint8_t)i };
}
/* Descriptors and map entries of [page, page+npages), a whole block or
 * free pages, to 0 (free). Only a slab has map entries to clear: then
 * its first has one. */
static inline void kmem_page_clear(uint32_t page, uint32_t npages)
{
    __builtin_memset(&kmem_arena.ka_pages[page], 0, (size_t)npages * sizeof(struct kmem_page));
    if (kmem_arena.ka_map[page].me_kind != 0)
        __builtin_memset(&kmem_arena.ka_map[page], 0,
                         (size_t)npages * sizeof(struct kmem_map_entry));
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

#endif /* KMEM_LAYOUT_H */
