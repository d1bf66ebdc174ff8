/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * show.c — see show.h.
 */
#include "front/kmemstat/show.h"

#include <string.h>

#include "core/report/report.h"

static void to_file(void *arg, const char *text, size_t len)
{
    fwrite(text, 1, len, (FILE *)arg);
}

struct type_walk {
    const struct record *tw_record;
    uint32_t tw_next;
};

static bool next_type(void *arg, struct kmem_export_type *out, const char **name,
                      const char **description)
{
    struct type_walk *w = arg;
    if (w->tw_next >= w->tw_record->rc_header->eh_ntypes)
        return false;
    const struct kmem_export_type *t = &w->tw_record->rc_types[w->tw_next++];
    *out = *t;
    *name = t->et_name;
    *description = t->et_description;
    return true;
}

void show_report(FILE *out, const struct record *r, bool json)
{
    char buf[4096];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, to_file, out);
    struct type_walk w = { r, 0 };
    struct kmem_report rep = { &r->rc_header->eh_arena, r->rc_buckets,
                               r->rc_header->eh_nbuckets, next_type, &w };
    kmem_report_print(&t, &rep, json);
    kmem_text_flush(&t);
}

/* A label value: backslash, quote and newline escaped. */
static void label(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void labels(FILE *out, const struct record *r)
{
    fprintf(out, "pid=\"%ld\",command=", r->rc_pid);
    /* The program's name: the command line's first word. */
    char name[KMEM_EXPORT_COMMAND_LEN];
    snprintf(name, sizeof name, "%s", r->rc_header->eh_command);
    char *space = strchr(name, ' ');
    if (space != NULL)
        *space = '\0';
    label(out, name);
}

struct metric {
    const char *name, *kind, *help;
};

static const struct metric type_metrics[] = {
    { "kmem_type_inuse", "gauge", "Live allocations of the type." },
    { "kmem_type_memuse_bytes", "gauge", "Bytes the type's live allocations hold (rounded)." },
    { "kmem_type_maxused_bytes", "gauge", "High-water mark of the type's memuse (sampled)." },
    { "kmem_type_limit_bytes", "gauge", "The type's limit; 0: none." },
    { "kmem_type_allocations_total", "counter", "Allocations of the type." },
    { "kmem_type_frees_total", "counter", "Frees of the type." },
    { "kmem_type_limit_blocks_total", "counter", "Requests that found the type at its limit." },
    { "kmem_type_requested_bytes_total", "counter", "Bytes asked for, summed over requests." },
};

static const struct metric bucket_metrics[] = {
    { "kmem_bucket_inuse", "gauge", "Pieces of the bucket handed out." },
    { "kmem_bucket_free", "gauge", "Free pieces of the bucket (slabs and thread caches)." },
    { "kmem_bucket_requests_total", "counter", "Allocations from the bucket." },
};

static const struct metric arena_metrics[] = {
    { "kmem_inuse_bytes", "gauge", "Bytes in live blocks: pieces, large blocks, kmem's own." },
    { "kmem_required_bytes", "gauge", "Bytes held for the pool: slabs, large blocks, kmem's own, free pages kept." },
    { "kmem_free_kept_bytes", "gauge", "Free pages kept resident for reuse." },
    { "kmem_reserved_bytes", "gauge", "Address space reserved." },
    { "kmem_decommitted_bytes_total", "counter", "Bytes given back to the system." },
};

static void help_lines(FILE *out, const struct metric *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m[i].name, m[i].help, m[i].name, m[i].kind);
}

void show_prometheus(FILE *out, const struct record *r, bool help)
{
    const struct kmem_export_header *h = r->rc_header;
    const struct kmem_export_arena *a = &h->eh_arena;
    if (help) {
        help_lines(out, arena_metrics, sizeof arena_metrics / sizeof arena_metrics[0]);
        help_lines(out, type_metrics, sizeof type_metrics / sizeof type_metrics[0]);
        help_lines(out, bucket_metrics, sizeof bucket_metrics / sizeof bucket_metrics[0]);
    }
    unsigned long long arena_values[] = { record_inuse(r), a->ea_required, a->ea_dirty_free,
                                          a->ea_reserved, a->ea_decommit_bytes };
    for (size_t i = 0; i < sizeof arena_values / sizeof arena_values[0]; i++) {
        fprintf(out, "%s{", arena_metrics[i].name);
        labels(out, r);
        fprintf(out, "} %llu\n", arena_values[i]);
    }
    for (uint32_t k = 0; k < h->eh_ntypes; k++) {
        const struct kmem_export_type *t = &r->rc_types[k];
        unsigned long long v[] = { t->et_inuse, t->et_memuse, t->et_maxused, t->et_limit,
                                   t->et_calls, t->et_frees, t->et_limblocks,
                                   t->et_requested };
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            fprintf(out, "%s{", type_metrics[i].name);
            labels(out, r);
            fputs(",type=", out);
            label(out, t->et_name);
            fprintf(out, "} %llu\n", v[i]);
        }
    }
    for (uint32_t k = 0; k < h->eh_nbuckets; k++) {
        const struct kmem_export_bucket *b = &r->rc_buckets[k];
        if (b->eb_requests == 0 && b->eb_slabs == 0)
            continue;
        unsigned long long v[] = { b->eb_inuse, b->eb_free, b->eb_requests };
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            fprintf(out, "%s{", bucket_metrics[i].name);
            labels(out, r);
            fprintf(out, ",size=\"%llu\"} %llu\n", (unsigned long long)b->eb_size, v[i]);
        }
    }
}
