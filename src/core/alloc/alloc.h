/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alloc.h — allocation, free and resize, in terms of the layers below:
 * thread caches and buckets for small requests, page runs for large ones,
 * and the type's counters and limit for both. The front ends (kmem_* API,
 * C library malloc) add only argument checks and their own error
 * conventions. `who` names the public function for messages.
 */
#ifndef KMEM_ALLOC_H
#define KMEM_ALLOC_H

#include "core/base/config.h"

/* Largest request that could ever be met (the arena's size). 0 before init. */
size_t kmem_max_request(void);

/* The slow paths, kept out of line so that the fast ones below stay small. */
void *kmem_alloc_slow(size_t size, struct kmem_type *type, int flags, const char *who);
void kmem_dealloc_slow(void *ptr, struct kmem_type *type, const char *who);

/* flags: KM_WAITOK or KM_NOWAIT, optionally KM_ZERO (checked by callers). */
static inline void *kmem_alloc(size_t size, struct kmem_type *type, int flags,
                               const char *who)
{
    void *p;
    if (!(flags & KM_ZERO) && kmem_cache_alloc(size, type, &p))
        return p;
    return kmem_alloc_slow(size, type, flags, who);
}

/* NULL is a no-op. */
static inline void kmem_dealloc(void *ptr, struct kmem_type *type, const char *who)
{
    if (!kmem_cache_push(ptr, type))
        kmem_dealloc_slow(ptr, type, who);
}

/* align: a power of two (up to KMEM_MINALLOC, any request is aligned
 * already: kmem_alloc). Small pieces come from a bucket whose size is a
 * multiple of align; larger alignments take whole pages. */
void *kmem_alloc_aligned(size_t size, size_t align, struct kmem_type *type, int flags,
                         const char *who);
void *kmem_resize(void *ptr, size_t size, struct kmem_type *type, int flags,
                  const char *who);
/* Usable size of a live block; aborts for a pointer that is not one. */
size_t kmem_block_usable(const void *ptr, const struct kmem_type *type, const char *who);

#endif /* KMEM_ALLOC_H */
