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
