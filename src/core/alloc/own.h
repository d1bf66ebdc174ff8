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

/* kmem took `bytes` (whole pages; `needed` of them used) for itself, or
 * gave `bytes` back. */
void kmem_own_count_take(size_t bytes, size_t needed);
void kmem_own_count_give(size_t bytes);

#endif /* KMEM_OWN_H */
