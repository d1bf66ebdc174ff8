/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.h — kmem's internal constants and tunables, each with its
 * constraint. The geometry shared with the macros (page size, buckets)
 * lives in include/kmem_fastpath.h; this file includes it.
 */
#ifndef KMEM_CONFIG_INTERNAL_H
#define KMEM_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmem.h"

#define KMEM_PAGE_MASK (KMEM_PAGE_SIZE - 1)

/* Largest arena: page indices are 32 bits, and the last values are kept
 * for markers. 8 TiB = 2^31 pages. */
#define KMEM_ARENA_MAX ((uint64_t)8 << 40)
/* Smallest arena kmem accepts after shrinking a refused reservation. */
#define KMEM_ARENA_MIN ((uint64_t)4 << 20)

/* The default reservation: four times the machine's memory, at least this
 * much (address space is cheap; the page descriptors cost only what is
 * touched), and under a limit on address space (ulimit -v) what the limit
 * leaves, less a share kept for the rest of the program (thread stacks,
 * libraries, its own mappings): 1/KMEM_AS_SPARE_FRACTION of it, at least
 * min(KMEM_AS_SPARE_MIN, a quarter). */
#define KMEM_ARENA_DEFAULT_MIN  ((uint64_t)16 << 30)
#define KMEM_ARENA_RAM_FACTOR   4u
#define KMEM_AS_SPARE_FRACTION  32u
#define KMEM_AS_SPARE_MIN       ((uint64_t)32 << 20)

/* Address space is made usable in steps of this many bytes (a power of
 * two), so the arena stays one mapping however it grows. */
#define KMEM_COMMIT_STEP ((size_t)2 << 20)

/* A slab holds at most this many pieces: ku_freehead is one byte. */
#define KMEM_SLAB_MAXPIECES 256

/* Thread caches: each bin keeps at most about this many bytes, and at
 * least / at most this many pieces. One exchange with the shared bucket
 * moves half a bin. */
#define KMEM_TCACHE_BIN_BYTES  (32u << 10)
#define KMEM_TCACHE_BIN_MIN    4u
#define KMEM_TCACHE_BIN_MAX    256u
/* A bin starts small and grows with its refills: the first takes this many
 * pieces, each one after it twice as many as the one before, up to half
 * the bin; the bin holds twice its last refill, and at least its
 * kc_highwat divided by KMEM_TCACHE_ROOM_LEAST_DIV. So a size a thread
 * uses a few times costs a few pieces, not a batch of them, and a thread
 * that only frees a size (a consumer of what others allocate) keeps only
 * that least, given back in halves. */
#define KMEM_TCACHE_FILL_FIRST     4u
#define KMEM_TCACHE_ROOM_LEAST_DIV 4u

/* Free pages kept resident for reuse before the oldest are given back:
 * at least this many bytes, or this fraction (1/n) of the memory in use. */
#define KMEM_DIRTY_MIN_BYTES   ((size_t)64 << 20)
#define KMEM_DIRTY_FRACTION    1u
/* Free pages not reused for this long are given back anyway (tunable:
 * KMEM_DECAY_MS). A second keeps pages that a steady workload reuses
 * within one phase, and returns a finished peak's pages in under two. */
#define KMEM_DIRTY_DECAY_MS    1000u

/* The background reclaimer wakes this often (at most; a fifth of the
 * decay when that is shorter), and starts once the process holds this
 * much idle memory (free pages kept plus empty slabs). */
#define KMEM_BACKGROUND_TICK_MS     200u
#define KMEM_BACKGROUND_START_BYTES ((uint64_t)32 << 20)

/* A bucket's transfer cache holds at most this many pieces, about this
 * many bytes of them, and at least two thread-cache batches. Its storage
 * is static (8 bytes a piece; its pages are resident only as far as a
 * bucket has used them). 16384: CPython's object phases free tens of
 * thousands of 32- and 64-byte objects and make as many again; with 2048
 * most went onto the slabs' lists and came back by walking them, a cache
 * miss a piece (perf: 7% of python_alloc's time in take_from_slabs and
 * kmem_piece_locate). Built without thread caches (freestanding), where
 * it only buffers single frees, it keeps the smaller size it was measured
 * with. */
#if KMEM_THREAD_CACHE
#define KMEM_XFER_MAX_PIECES 16384u
#define KMEM_XFER_BYTES      (2048u << 10)
#else
#define KMEM_XFER_MAX_PIECES 512u
#define KMEM_XFER_BYTES      (256u << 10)
#endif

/* Publishing statistics for other processes (kmemstat): on by default
 * (the build may say otherwise), ten times a second, once the program has
 * run for a second (so that short-lived programs leave nothing behind). */
/* KMEM_DEBUG's checks when the variable is unset (core/alloc/debug.h):
 * none; a build for measuring them sets it (mk/build.mk DEBUG=). */
#ifndef KMEM_DEBUG_DEFAULT
#define KMEM_DEBUG_DEFAULT 0u
#endif

#ifndef KMEM_EXPORT_DEFAULT
#define KMEM_EXPORT_DEFAULT 1
#endif
#ifndef KMEM_EXPORT_DELAY_DEFAULT_MS
#define KMEM_EXPORT_DELAY_DEFAULT_MS 1000u
#endif
#define KMEM_EXPORT_HZ_DEFAULT 10u

/* Empty slabs each bucket keeps through a background pass, ready for reuse
 * without carving. */
#define KMEM_EMPTY_SLABS_KEPT 1u

#endif /* KMEM_CONFIG_INTERNAL_H */
