/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.c — see report.h.
 */
#include "core/report/report.h"

/* ---- by bucket ------------------------------------------------------------ */

static bool bucket_shown(const struct kmem_export_bucket *b)
{
    return b->eb_requests != 0 || b->eb_slabs != 0;
}

static void buckets_text(struct kmem_text *t, const struct kmem_report *r)
{
    kmem_text_str(t, "Memory statistics by bucket size\n");
    kmem_text_str(t, "    Size   In Use     Free   Requests  HighWater\n");
    for (unsigned i = 0; i < r->rp_nbuckets; i++) {
        const struct kmem_export_bucket *b = &r->rp_buckets[i];
        if (!bucket_shown(b))
            continue;
        kmem_text_u64(t, b->eb_size, 8);
        kmem_text_u64(t, b->eb_inuse, 9);
        kmem_text_u64(t, b->eb_free, 9);
        kmem_text_u64(t, b->eb_requests, 11);
        kmem_text_u64(t, b->eb_highwat, 11);
        kmem_text_char(t, '\n');
    }
}

/* ,"name":value */
static void field(struct kmem_text *t, const char *name, uint64_t v)
{
    kmem_text_str(t, ",\"");
    kmem_text_str(t, name);
    kmem_text_str(t, "\":");
    kmem_text_u64(t, v, 0);
}

static void buckets_json(struct kmem_text *t, const struct kmem_report *r)
{
    kmem_text_str(t, "\"buckets\":[");
    bool first = true;
    for (unsigned i = 0; i < r->rp_nbuckets; i++) {
        const struct kmem_export_bucket *b = &r->rp_buckets[i];
        if (!bucket_shown(b))
            continue;
        kmem_text_str(t, first ? "\n  {\"size\":" : ",\n  {\"size\":");
        first = false;
        kmem_text_u64(t, b->eb_size, 0);
        field(t, "inuse", b->eb_inuse);
        field(t, "free", b->eb_free);
        field(t, "cached", b->eb_cached);
        field(t, "requests", b->eb_requests);
        field(t, "highwat", b->eb_highwat);
        field(t, "slabs", b->eb_slabs);
        field(t, "slab_pages", b->eb_slab_pages);
        kmem_text_char(t, '}');
    }
    kmem_text_str(t, "],\n");
}

/* ---- by type -------------------------------------------------------------- */

static void type_text(struct kmem_text *t, const struct kmem_export_type *ty, const char *name)
{
    kmem_text_pad(t, name, 12);
    kmem_text_u64(t, ty->et_inuse, 8);
    kmem_text_kbytes(t, ty->et_memuse, 9);
    kmem_text_kbytes(t, ty->et_maxused, 9);
    if (ty->et_limit != 0)
        kmem_text_kbytes(t, ty->et_limit, 9);
    else
        kmem_text_pad(t, "-", 9);
    kmem_text_u64(t, ty->et_limblocks, 8);
    kmem_text_u64(t, ty->et_calls, 11);
    kmem_text_char(t, '\n');
}

static void type_json(struct kmem_text *t, const struct kmem_export_type *ty, const char *name,
                      const char *description, bool first)
{
    kmem_text_str(t, first ? "\n  {\"name\":" : ",\n  {\"name\":");
    kmem_text_json_str(t, name);
    kmem_text_str(t, ",\"description\":");
    kmem_text_json_str(t, description);
    field(t, "inuse", ty->et_inuse);
    field(t, "memuse", ty->et_memuse);
    field(t, "maxused", ty->et_maxused);
    field(t, "limit", ty->et_limit);
    field(t, "limblocks", ty->et_limblocks);
    field(t, "calls", ty->et_calls);
    field(t, "frees", ty->et_frees);
    field(t, "requested", ty->et_requested);
    kmem_text_char(t, '}');
}

static void types(struct kmem_text *t, const struct kmem_report *r, bool json)
{
    struct kmem_export_type ty;
    const char *name, *description;
    bool first = true;
    while (r->rp_next_type(r->rp_arg, &ty, &name, &description)) {
        if (name == NULL)
            name = "?";
        if (description == NULL)
            description = "";
        if (json)
            type_json(t, &ty, name, description, first);
        else
            type_text(t, &ty, name);
        first = false;
    }
}

/* ---- utilization ------------------------------------------------------------ */

uint64_t kmem_report_ratio(uint64_t a, uint64_t b)
{
    while (a > UINT64_MAX / 20000) {
        a >>= 1;
        b >>= 1;
    }
    if (b == 0)
        return 0;
    return (a * 10000 + b / 2) / b;
}

struct utilization {
    uint64_t inuse, required, inuse_ratio, request_ratio, estimate_ratio;
};

static void utilization_of(const struct kmem_export_arena *a, struct utilization *u)
{
    u->inuse = a->ea_small_inuse + a->ea_large_inuse + a->ea_internal;
    u->required = a->ea_required;
    u->inuse_ratio = kmem_report_ratio(u->inuse, u->required);
    u->request_ratio = kmem_report_ratio(a->ea_requested, a->ea_rounded);
    /* Pieces carry no header, so the size each live block was asked for is
     * not kept; the paper's requested/required is estimated from the live
     * rounded bytes and the requested/rounded ratio of all requests.
     * Each ratio is at most 1 in a program's own figures, but a record
     * read from outside may say anything: saturate rather than wrap. */
    u->estimate_ratio = u->request_ratio != 0 && u->inuse_ratio > UINT64_MAX / u->request_ratio
                            ? UINT64_MAX / 10000
                            : u->inuse_ratio * u->request_ratio / 10000;
}

static void utilization_text(struct kmem_text *t, const struct kmem_export_arena *a)
{
    struct utilization u;
    utilization_of(a, &u);
    kmem_text_str(t, "Utilization\n  in use ");
    kmem_text_u64(t, u.inuse, 0);
    kmem_text_str(t, " bytes (rounded sizes) of required ");
    kmem_text_u64(t, u.required, 0);
    kmem_text_str(t, " (slabs ");
    kmem_text_u64(t, a->ea_slab_bytes, 0);
    kmem_text_str(t, ", large blocks ");
    kmem_text_u64(t, a->ea_large_inuse, 0);
    kmem_text_str(t, ", kmem's own ");
    kmem_text_u64(t, a->ea_internal, 0);
    kmem_text_str(t, ", free pages kept ");
    kmem_text_u64(t, a->ea_dirty_free, 0);
    kmem_text_str(t, "): ");
    kmem_text_fixed(t, u.inuse_ratio / 10, 1, 0);
    kmem_text_str(t, "%\n  requested / rounded over all requests: ");
    kmem_text_fixed(t, u.request_ratio / 10, 1, 0);
    kmem_text_str(t, "%\n  requested / required (estimated): ");
    kmem_text_fixed(t, u.estimate_ratio / 10, 1, 0);
    kmem_text_str(t, "%\n");
}

static void utilization_json(struct kmem_text *t, const struct kmem_export_arena *a)
{
    struct utilization u;
    utilization_of(a, &u);
    kmem_text_str(t, "\"arena\":{\"reserved\":");
    kmem_text_u64(t, a->ea_reserved, 0);
    field(t, "page_size", a->ea_page_size);
    field(t, "slab_bytes", a->ea_slab_bytes);
    field(t, "small_inuse", a->ea_small_inuse);
    field(t, "large_inuse", a->ea_large_inuse);
    field(t, "large_blocks", a->ea_large_blocks);
    field(t, "internal", a->ea_internal);
    field(t, "dirty_free", a->ea_dirty_free);
    field(t, "clean_free", a->ea_clean_free);
    field(t, "high_mark", a->ea_high_mark);
    field(t, "metadata", a->ea_metadata);
    field(t, "decommit_calls", a->ea_decommit_calls);
    field(t, "decommit_bytes", a->ea_decommit_bytes);
    kmem_text_str(t, "},\n\"utilization\":{\"inuse\":");
    kmem_text_u64(t, u.inuse, 0);
    field(t, "required", u.required);
    kmem_text_str(t, ",\"inuse_over_required\":");
    kmem_text_fixed(t, u.inuse_ratio, 4, 0);
    kmem_text_str(t, ",\"requested_over_rounded\":");
    kmem_text_fixed(t, u.request_ratio, 4, 0);
    kmem_text_str(t, ",\"requested_over_required_estimate\":");
    kmem_text_fixed(t, u.estimate_ratio, 4, 0);
    kmem_text_str(t, "}}\n");
}

void kmem_report_print(struct kmem_text *t, const struct kmem_report *r, bool json)
{
    if (json) {
        kmem_text_str(t, "{\n");
        buckets_json(t, r);
        kmem_text_str(t, "\"types\":[");
        types(t, r, true);
        kmem_text_str(t, "],\n");
        utilization_json(t, r->rp_arena);
    } else {
        buckets_text(t, r);
        kmem_text_str(t, "\nMemory statistics by type\n");
        kmem_text_str(t, "        Type   InUse   MemUse  HighUse    Limit  Blocks   Requests\n");
        types(t, r, false);
        kmem_text_char(t, '\n');
        utilization_text(t, r->rp_arena);
    }
}
