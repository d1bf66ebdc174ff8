/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * own.h — kmem's own memory (the thread caches' blocks of stacks and
 * counters, arena pages of kind KMEM_KIND_INTERNAL), counted under a type
 * of its own, "kmem", so that the types' figures add up to the arena's:
 *
 *     sum over types of memuse == small_inuse + large_inuse + internal
 */
#ifndef KMEM_OWN_H
#define KMEM_OWN_H

#include "core/base/config.h"

/* The type "kmem". */
struct kmem_type *kmem_own_type(void);

/* Whole pages for kmem's own use (arena pages of kind
 * KMEM_KIND_INTERNAL), `bytes` rounded up; NULL if there are none. Given
 * back with the same size. */
void *kmem_own_alloc(size_t bytes);
void kmem_own_free(void *block, size_t bytes);

/* kmem took `bytes` (whole pages; `needed` of them used) for itself, or
 * gave `bytes` back (for pages other layers took, as the thread caches'). */
void kmem_own_count_take(size_t bytes, size_t needed);
void kmem_own_count_give(size_t bytes);

#endif /* KMEM_OWN_H */
