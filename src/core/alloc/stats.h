/*
 * stats.h — reading the figures of every layer together: per bucket, for
 * the arena, and the cross-layer check that they add up.
 */
#ifndef KMEM_STATS_H
#define KMEM_STATS_H

#include "core/base/config.h"

/* Bucket b (1..KMEM_NBUCKETS). */
void kmem_collect_bucket(unsigned b, struct kmem_bucket_stats *out);

/* The arena, with the small-piece and request totals filled in. */
void kmem_collect_arena(struct kmem_arena_stats *out);

/* Every layer's own check, then: the types' memory in use equals the
 * pieces handed out plus the large blocks. Returns the failures. */
int kmem_check_all(void);

#endif /* KMEM_STATS_H */
