/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.h — the statistics as people read them: the two tables `vmstat
 * -m` printed in 1988 (by bucket size, by type) and the utilization, as
 * text or as one JSON object (the schema of KMEM_STATS_JSON, docs/
 * stats-json.md), written from records in the layout of <kmem_export.h>.
 * The same code prints a program's own figures (kmem_stats_print) and
 * another process's (kmemstat), so the two look alike. It reads nothing
 * but what it is given: no allocator state, no C library.
 */
#ifndef KMEM_REPORT_H
#define KMEM_REPORT_H

#include <stdbool.h>

#include "core/base/text.h"
#include "kmem_export.h"

/* What to print. The types come one at a time, so that a caller without
 * room for all of them at once can fill each in turn. */
struct kmem_report {
    const struct kmem_export_arena *rp_arena;
    const struct kmem_export_bucket *rp_buckets;
    unsigned rp_nbuckets;
    /* Fill *out with the next type and return true; false after the
     * last. *name and *description: the strings to print (the record's
     * own, or longer ones a caller has). */
    bool (*rp_next_type)(void *arg, struct kmem_export_type *out, const char **name,
                         const char **description);
    void *rp_arg;
};

/* Write the tables (json false) or the JSON object (json true). */
void kmem_report_print(struct kmem_text *t, const struct kmem_report *r, bool json);

/* a / b in units of 1/10000, 0 when b is 0 (for the utilization lines). */
uint64_t kmem_report_ratio(uint64_t a, uint64_t b);

#endif /* KMEM_REPORT_H */
