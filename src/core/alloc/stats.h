/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.h — reading the figures of every layer together: per bucket, for
 * the arena, as records in the layout of <kmem_export.h> for printing and
 * publishing, and the cross-layer check that they add up.
 */
#ifndef KMEM_STATS_H
#define KMEM_STATS_H

#include "core/base/config.h"
#include "kmem_export.h"

/* Bucket b (1..KMEM_NBUCKETS). */
void kmem_collect_bucket(unsigned b, struct kmem_bucket_stats *out);

/* The arena, with the small-piece and request totals filled in. */
void kmem_collect_arena(struct kmem_arena_stats *out);

/* What the type records read so far hold: the pieces of each bucket,
 * the bytes of whole pages (kmem's own apart), and their request totals.
 * Buckets and arena records made from these add up with the types
 * exactly (see kmem_export.h). */
struct kmem_record_sums {
    uint64_t rs_pieces[KMEM_NBUCKETS + 1];
    uint64_t rs_large, rs_internal, rs_requested, rs_rounded;
};

/* The record of one type, each of its counters read once; its holdings
 * are added into *sums (which may be NULL). */
void kmem_record_type(struct kmem_type *type, struct kmem_export_type *out,
                      struct kmem_record_sums *sums);

/* The KMEM_NBUCKETS bucket records (out[b - 1] for bucket b) and the arena
 * record. With sums, the pieces and bytes in use are the types' (so that
 * they add up with the type records); without, what the buckets and the
 * arena count themselves (equal once the program is quiet). */
void kmem_record_buckets(struct kmem_export_bucket *out, const struct kmem_record_sums *sums);
void kmem_record_arena(struct kmem_export_arena *out, const struct kmem_record_sums *sums);

/* Every layer's own check, then: the types' memory in use equals the
 * pieces handed out plus the large blocks. Returns the failures. */
int kmem_check_all(void);

#endif /* KMEM_STATS_H */
