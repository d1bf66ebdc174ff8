/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats_print.c — kmem_stats_print: the program's own figures, gathered
 * as records (core/alloc/stats.h) and written by the same report code
 * that kmemstat uses for another process (core/report).
 */
#include "core/alloc/init.h"
#include "core/alloc/stats.h"
#include "core/report/report.h"
#include "core/type/type.h"

/* The registered types, oldest first, each read as it is printed. */
static bool next_type(void *arg, struct kmem_export_type *out, const char **name,
                      const char **description)
{
    struct kmem_type **at = arg;
    struct kmem_type *type = kmem_types_next(*at);
    if (type == NULL)
        return false;
    *at = type;
    kmem_record_type(type, out, NULL);
    *name = type->ks_shortdesc;
    *description = type->ks_longdesc;
    return true;
}

KMEM_API void kmem_stats_print(kmem_write_fn *write, void *arg, int flags)
{
    if (write == NULL || !kmem_ensure_init())
        return;
    char buf[1024];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, write, arg);
    struct kmem_export_bucket buckets[KMEM_NBUCKETS];
    struct kmem_export_arena arena;
    kmem_record_buckets(buckets, NULL);
    kmem_record_arena(&arena, NULL);
    struct kmem_type *at = NULL;
    struct kmem_report r = { &arena, buckets, KMEM_NBUCKETS, next_type, &at };
    kmem_report_print(&t, &r, (flags & KMEM_STATS_JSON) != 0);
    kmem_text_flush(&t);
}
