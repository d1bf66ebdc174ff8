/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kmem_freestanding.h — running kmem without an operating system: over a
 * memory region the caller gives, with the caller's hooks for waiting and
 * for reporting. Link with libkmem-freestanding.a (built without thread
 * caches, so it needs no thread-local storage); its only undefined
 * symbols are memcpy, memset and memmove.
 *
 *     static char heap[64 << 20] __attribute__((aligned(4096)));
 *     static const struct kmem_hooks hooks = { .abort = panic_hook };
 *     kmem_freestanding_init(heap, sizeof heap, &hooks);
 *     ... then the whole <kmem.h> API ...
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
 * forever; about 1% of it holds page descriptors and run records. Returns
 * KMEM_OK, KMEM_ERR_BUSY if kmem already started, KMEM_ERR_INVAL for a
 * NULL or too small (< 1 MiB) region or missing hooks. Call it before any
 * other kmem function. */
KMEM_API int kmem_freestanding_init(void *region, size_t size,
                                    const struct kmem_hooks *hooks);

#ifdef __cplusplus
}
#endif

#endif /* KMEM_FREESTANDING_H */
