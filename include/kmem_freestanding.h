/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmem_freestanding.h — running kmem without an operating system: over a
 * memory region the caller gives, with the caller's hooks for waiting and
 * for reporting. Link with libkmem-freestanding.a (built without thread
 * caches, so it needs no thread-local storage); its only undefined
 * symbols are memcpy, memset and memmove (and, on a machine without the
 * instructions, libgcc's arithmetic helpers such as __clzdi2; on rv32
 * also the 64-bit __atomic_*_8 functions, which the kernel must supply).
 *
 *     static char heap[64 << 20] __attribute__((aligned(4096)));
 *     static const struct kmem_hooks hooks = { .abort = panic_hook };
 *     kmem_freestanding_init(heap, sizeof heap, &hooks);
 *     ... then the whole <kmem.h> API ...
 *
 * baremetal/demo.c is a whole kernel that does this on qemu's RISC-V
 * virt machine (make baremetal).
 *
 * ---- Interrupts and one CPU ------------------------------------------------
 * kmem's locks are words taken with a compare-and-swap; a lock that is
 * held makes the caller spin briefly, then call wait(word, expected) until
 * wake(word) (kmem re-checks after every return). On one CPU with
 * interrupts, call kmem with interrupts masked, as the 4.3BSD kernel called
 * malloc at splimp: then no lock is ever found held, and the only waits
 * are a KM_WAITOK request at its type's limit, where kmem holds no lock.
 * The wait hook is where the mask is lifted: sleep (wfi, hlt) until an
 * interrupt has changed *word. An interrupt handler may then free (and so
 * wake the waiter) but must never wait: with KM_NOWAIT it never does. The
 * wake hook has nothing to do on one CPU: the sleeper is the code the
 * handler interrupted, and it looks at its word again when the handler
 * returns.
 *
 * ---- Worst-case time -------------------------------------------------------
 * Instructions per call, rv64gc (gcc 12 -O2), counted exactly under qemu
 * -icount over a million random requests and the adversarial sequences of
 * baremetal/bounds.c (make bench-bounds prints them; the figure in
 * brackets is the mean). No operation below loops over the region, a
 * slab's pieces or a list of free runs, except where a size is named.
 *
 *   small request (<= 16 KiB), a free piece at hand   O(1)  479 [302]
 *   small request that carves a slab                 O(1)  1231 [1016]
 *     (a page run from the arena: a bitmap of 168 bins, at most 8 runs of
 *     one list looked at, at most 8 page descriptors and map entries
 *     written; the pieces
 *     are cut one at a time as they are taken, not when it is carved)
 *   small free                                       O(1)  528 [239]
 *   large request of p pages (p >= 5)          O(1) + O(p)  989 for p <= 16,
 *                                             2891 for 256, 33611 for 4096
 *     (about 8 instructions a page: each page's descriptor is written)
 *   large free of p pages                      O(1) + O(p)  1527 for p <= 16,
 *                                             12981 for 4096
 *     (about 3 a page; joining both neighbours is O(1); it gives back at
 *     most 2 free runs, one call of the decommit hook each)
 *   kmem_realloc                       a request, a copy of the smaller
 *     size, a free: 9987 [2393] moving a small block (16 KiB copied); in
 *     place for a large block: O(pages added or removed)
 *   a type with a limit: its counters under the types lock, O(1):
 *     request 7626 [6837], refusal 3481, free 226
 *     (a free wakes: one call of the wake hook when someone waits)
 *   kmem_maintain                    O(buckets + empty slabs released +
 *     dirty runs given back, each released slab's list checked: O(its
 *     pieces)): 702234 with 38 buckets of idle slabs
 *   a request that finds the region full first gives back everything
 *     idle, as kmem_trim: O(pages of the region): 4935743 for 32 MiB
 *     (7900 pages); then it is a request as above
 *   a KM_WAITOK request at its type's limit waits for a free (unbounded)
 *   kmem_check, kmem_stats_print, kmem_trim: O(region)
 *
 * On rv32imac, where the 64-bit counters go through __atomic_*_8 calls: a
 * small request 645 [423], 1443 carving, a small free 622 [272].
 *
 * Measured at kmem 0.1.0, git 994da64 and after: the checks of a free
 * piece's marks (a hand-out refuses a piece changed after it was freed,
 * a slab's list checks each next index) cost about 10 to 25 instructions
 * on each small request and free.
 *
 * Not reached: the aim of at most 150 instructions for every small
 * request and free. Without thread caches a small request goes through
 * five functions of the layered core and takes the bucket's lock; kmem
 * also checks every free pointer (descriptor, piece start, key) and keeps
 * every type's statistics. On x86-64 (callgrind, the same build for the
 * host, one call in each state, before the marks were checked): a small
 * request served by the transfer cache 145, by a slab 251, carving 732;
 * a small free into the transfer cache 195, onto its slab 346; a request and its free, in a loop, 350
 * together on average (674 before the work that bounded them).
 *
 * ---- Worst-case memory -----------------------------------------------------
 * Let L be the most bytes live at any moment, each block counted at its
 * rounded size (kmem_usable_size: its bucket, or its whole pages; a
 * kmem_realloc that moves holds the old and the new block), requests made
 * through kmem_malloc/kmem_realloc. For each bucket c that is used, with
 * pieces of s_c bytes, k_c of them to a slab of p_c pages
 * (kmem_bucket_stats: size, slab_pages), let
 *
 *     sigma_c = floor(floor(L / s_c) / k_c) + 1
 *
 * A slab is carved only when every piece of the bucket's other slabs is
 * live, so bucket c holds at most sigma_c slabs; and before kmem fails a
 * request it gives back every empty slab and joins every free run, so
 * each slab kept then holds a live piece. With x_c slabs of bucket c
 * (x_c <= sigma_c) and y pages of large blocks (each block over
 * KMEM_MAXALLOCSAVE, so at least m = 5 pages; 3 with GEOMETRY=pow2) such
 * that sum_c x_c s_c + 4096 y <= L:
 *
 *     U = the most of  sum_c p_c x_c + y          pages in use
 *     B = the most of  sum_c x_c + y / m          blocks of pages
 *
 * (each a fractional knapsack: fill by the most pages, or blocks, per
 * live byte first; U <= sum_c p_c sigma_c + L / 4096 and
 * B <= sum_c sigma_c + L / (4096 m) are cruder closed forms). The free pages
 * then lie in at most B + 1 runs, so if
 *
 *     P >= U + (B + 1) (r' - 1) + 1
 *
 * one free run has r' pages, where r is the most pages one request takes
 * (ceil(n / 4096) for the largest request n above KMEM_MAXALLOCSAVE; a
 * slab: at most 8 pages, 2 with GEOMETRY=pow2), r' = r for r <= 64 and
 * r + floor(r / 4) above (a run of r' pages is always found:
 * kmem_run_find) — and no request within L fails. P is the arena's pages: kmem_arena_stats'
 * reserved / 4096; a region of M bytes gives at least
 * (M - 20 KiB) / 4122 of them (8 bytes of descriptor, 2 of page map and
 * 16 of run record a page, the tables rounded to pages).
 *
 * With every bucket in use the crude forms give, for l = L / 4096:
 * U <= 39.2 l + 109 and B <= 22.7 l + 38 (1988 powers of two: U <= 11 l +
 * 11, B <= 9.9 l + 10); with small requests only (r = 8, the 4608-byte
 * bucket's slabs), P >= 198 l + 383: about 198 L, where o1heap states
 * 2 L (1 + log2 n).
 * The bound is loose — it charges every block a whole gap of r' - 1
 * pages, where best-fit bins let an adversary waste at most some of
 * them. tests/freestanding/test_bounds.c cuts the arena to exactly the
 * bound and tries the buckets' and the page runs' adversaries, random
 * sequences and every sequence of six steps on a small case, with
 * kmem_check() after every step: none fails, and the most pages any
 * touched was 31% of the bound on the smallest case (13 of 42 pages,
 * 20 KiB live) and 7% with every bucket in use (300 of 4416 pages,
 * 64 KiB live).
 */
#ifndef KMEM_FREESTANDING_H
#define KMEM_FREESTANDING_H

#include "kmem.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kmem_hooks {
    /* Block while *word == expected (may return early). NULL: spin. */
    void (*wait)(uint32_t *word, uint32_t expected);
    /* Wake one waiter on word, or all of them. NULL: nothing. */
    void (*wake)(uint32_t *word, int all);
    /* Print diagnostic text. NULL: say nothing. */
    void (*write_error)(const char *text, size_t len);
    /* Stop after a fatal error; must not return. NULL: a trap instruction. */
    void (*abort)(void);
    /* Monotonic nanoseconds. NULL: no clock (free pages are then given back
     * by count, not by age). */
    uint64_t (*now_ns)(void);
    /* Tell the system a free range of the region is unused. NULL: nothing. */
    void (*decommit)(void *addr, size_t len);
    int decommit_zeroes; /* decommitted memory reads back as zero */
    int region_zeroed;   /* the region is all zero to begin with */
    uint64_t seed;       /* unpredictable bits for the free-list key */
};

/* Start kmem over [region, region+size). The region must stay valid
 * forever; under 1% of it holds page descriptors, the page map and run
 * records. Returns
 * KMEM_OK, KMEM_ERR_BUSY if kmem already started, KMEM_ERR_INVAL for a
 * NULL or too small (< 1 MiB) region or missing hooks. Call it before any
 * other kmem function. */
KMEM_API int kmem_freestanding_init(void *region, size_t size,
                                    const struct kmem_hooks *hooks);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_FREESTANDING_H */
