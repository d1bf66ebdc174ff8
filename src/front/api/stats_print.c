/*
 * stats_print.c — kmem_stats_print: the two tables `vmstat -m` printed in
 * 1988 (by bucket size, by type) and the utilization, as text or as JSON.
 * Both forms are written from the same figures, gathered first.
 */
#include "core/alloc/init.h"
#include "core/alloc/stats.h"
#include "core/type/type.h"
#include "core/base/text.h"

struct report {
    struct kmem_text *rp_out;
    bool rp_json;
    bool rp_first;
};

/* ---- by bucket ------------------------------------------------------------ */

static bool bucket_shown(const struct kmem_bucket_stats *bs)
{
    return bs->requests != 0 || bs->slabs != 0;
}

static void buckets_text(struct kmem_text *t)
{
    kmem_text_str(t, "Memory statistics by bucket size\n");
    kmem_text_str(t, "    Size   In Use     Free   Requests  HighWater\n");
    for (unsigned b = 1; b <= kmem_nbuckets(); b++) {
        struct kmem_bucket_stats bs;
        kmem_collect_bucket(b, &bs);
        if (!bucket_shown(&bs))
            continue;
        kmem_text_u64(t, bs.size, 8);
        kmem_text_u64(t, bs.inuse, 9);
        kmem_text_u64(t, bs.free, 9);
        kmem_text_u64(t, bs.requests, 11);
        kmem_text_u64(t, bs.highwat, 11);
        kmem_text_char(t, '\n');
    }
}

static void buckets_json(struct kmem_text *t)
{
    kmem_text_str(t, "\"buckets\":[");
    bool first = true;
    for (unsigned b = 1; b <= kmem_nbuckets(); b++) {
        struct kmem_bucket_stats bs;
        kmem_collect_bucket(b, &bs);
        if (!bucket_shown(&bs))
            continue;
        kmem_text_str(t, first ? "\n  {\"size\":" : ",\n  {\"size\":");
        first = false;
        kmem_text_u64(t, bs.size, 0);
        kmem_text_str(t, ",\"inuse\":");
        kmem_text_u64(t, bs.inuse, 0);
        kmem_text_str(t, ",\"free\":");
        kmem_text_u64(t, bs.free, 0);
        kmem_text_str(t, ",\"cached\":");
        kmem_text_u64(t, bs.cached, 0);
        kmem_text_str(t, ",\"requests\":");
        kmem_text_u64(t, bs.requests, 0);
        kmem_text_str(t, ",\"highwat\":");
        kmem_text_u64(t, bs.highwat, 0);
        kmem_text_str(t, ",\"slabs\":");
        kmem_text_u64(t, bs.slabs, 0);
        kmem_text_str(t, ",\"slab_pages\":");
        kmem_text_u64(t, bs.slab_pages, 0);
        kmem_text_char(t, '}');
    }
    kmem_text_str(t, "],\n");
}

/* ---- by type -------------------------------------------------------------- */

static void type_row(struct kmem_type *type, void *arg)
{
    struct report *rp = arg;
    struct kmem_text *t = rp->rp_out;
    struct kmem_type_stats ts;
    kmem_type_read(type, &ts);
    if (!rp->rp_json) {
        kmem_text_pad(t, type->ks_shortdesc, 12);
        kmem_text_u64(t, ts.inuse, 8);
        kmem_text_kbytes(t, ts.memuse, 9);
        kmem_text_kbytes(t, ts.maxused, 9);
        if (ts.limit != 0)
            kmem_text_kbytes(t, ts.limit, 9);
        else
            kmem_text_pad(t, "-", 9);
        kmem_text_u64(t, ts.limblocks, 8);
        kmem_text_u64(t, ts.calls, 11);
        kmem_text_char(t, '\n');
        return;
    }
    kmem_text_str(t, rp->rp_first ? "\n  {\"name\":" : ",\n  {\"name\":");
    rp->rp_first = false;
    kmem_text_json_str(t, type->ks_shortdesc);
    kmem_text_str(t, ",\"description\":");
    kmem_text_json_str(t, type->ks_longdesc != NULL ? type->ks_longdesc : "");
    kmem_text_str(t, ",\"inuse\":");
    kmem_text_u64(t, ts.inuse, 0);
    kmem_text_str(t, ",\"memuse\":");
    kmem_text_u64(t, ts.memuse, 0);
    kmem_text_str(t, ",\"maxused\":");
    kmem_text_u64(t, ts.maxused, 0);
    kmem_text_str(t, ",\"limit\":");
    kmem_text_u64(t, ts.limit, 0);
    kmem_text_str(t, ",\"limblocks\":");
    kmem_text_u64(t, ts.limblocks, 0);
    kmem_text_str(t, ",\"calls\":");
    kmem_text_u64(t, ts.calls, 0);
    kmem_text_str(t, ",\"frees\":");
    kmem_text_u64(t, ts.frees, 0);
    kmem_text_str(t, ",\"requested\":");
    kmem_text_u64(t, ts.requested, 0);
    kmem_text_char(t, '}');
}

/* ---- utilization ------------------------------------------------------------ */

/* a / b in units of 1/10000, 0 when b is 0. */
static uint64_t ratio(uint64_t a, uint64_t b)
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

static void utilization_of(const struct kmem_arena_stats *as, struct utilization *u)
{
    u->inuse = as->small_inuse + as->large_inuse + as->internal;
    u->required = as->required;
    u->inuse_ratio = ratio(u->inuse, u->required);
    u->request_ratio = ratio(as->requested_calls, as->rounded_calls);
    /* Pieces carry no header, so the size each live block was asked for is
     * not kept; the paper's requested/required is estimated from the live
     * rounded bytes and the requested/rounded ratio of all requests. */
    u->estimate_ratio = u->inuse_ratio * u->request_ratio / 10000;
}

static void utilization_text(struct kmem_text *t, const struct kmem_arena_stats *as)
{
    struct utilization u;
    utilization_of(as, &u);
    kmem_text_str(t, "Utilization\n  in use ");
    kmem_text_u64(t, u.inuse, 0);
    kmem_text_str(t, " bytes (rounded sizes) of required ");
    kmem_text_u64(t, u.required, 0);
    kmem_text_str(t, " (slabs ");
    kmem_text_u64(t, as->slab_bytes, 0);
    kmem_text_str(t, ", large blocks ");
    kmem_text_u64(t, as->large_inuse, 0);
    kmem_text_str(t, ", kmem's own ");
    kmem_text_u64(t, as->internal, 0);
    kmem_text_str(t, ", free pages kept ");
    kmem_text_u64(t, as->dirty_free, 0);
    kmem_text_str(t, "): ");
    kmem_text_fixed(t, u.inuse_ratio / 10, 1, 0);
    kmem_text_str(t, "%\n  requested / rounded over all requests: ");
    kmem_text_fixed(t, u.request_ratio / 10, 1, 0);
    kmem_text_str(t, "%\n  requested / required (estimated): ");
    kmem_text_fixed(t, u.estimate_ratio / 10, 1, 0);
    kmem_text_str(t, "%\n");
}

static void utilization_json(struct kmem_text *t, const struct kmem_arena_stats *as)
{
    struct utilization u;
    utilization_of(as, &u);
    kmem_text_str(t, "\"arena\":{\"reserved\":");
    kmem_text_u64(t, as->reserved, 0);
    kmem_text_str(t, ",\"page_size\":");
    kmem_text_u64(t, as->page_size, 0);
    kmem_text_str(t, ",\"slab_bytes\":");
    kmem_text_u64(t, as->slab_bytes, 0);
    kmem_text_str(t, ",\"small_inuse\":");
    kmem_text_u64(t, as->small_inuse, 0);
    kmem_text_str(t, ",\"large_inuse\":");
    kmem_text_u64(t, as->large_inuse, 0);
    kmem_text_str(t, ",\"large_blocks\":");
    kmem_text_u64(t, as->large_blocks, 0);
    kmem_text_str(t, ",\"internal\":");
    kmem_text_u64(t, as->internal, 0);
    kmem_text_str(t, ",\"dirty_free\":");
    kmem_text_u64(t, as->dirty_free, 0);
    kmem_text_str(t, ",\"clean_free\":");
    kmem_text_u64(t, as->clean_free, 0);
    kmem_text_str(t, ",\"high_mark\":");
    kmem_text_u64(t, as->high_mark, 0);
    kmem_text_str(t, ",\"metadata\":");
    kmem_text_u64(t, as->metadata, 0);
    kmem_text_str(t, ",\"decommit_calls\":");
    kmem_text_u64(t, as->decommit_calls, 0);
    kmem_text_str(t, ",\"decommit_bytes\":");
    kmem_text_u64(t, as->decommit_bytes, 0);
    kmem_text_str(t, "},\n\"utilization\":{\"inuse\":");
    kmem_text_u64(t, u.inuse, 0);
    kmem_text_str(t, ",\"required\":");
    kmem_text_u64(t, u.required, 0);
    kmem_text_str(t, ",\"inuse_over_required\":");
    kmem_text_fixed(t, u.inuse_ratio, 4, 0);
    kmem_text_str(t, ",\"requested_over_rounded\":");
    kmem_text_fixed(t, u.request_ratio, 4, 0);
    kmem_text_str(t, ",\"requested_over_required_estimate\":");
    kmem_text_fixed(t, u.estimate_ratio, 4, 0);
    kmem_text_str(t, "}}\n");
}

KMEM_API void kmem_stats_print(kmem_write_fn *write, void *arg, int flags)
{
    if (write == NULL || !kmem_ensure_init())
        return;
    char buf[1024];
    struct kmem_text t;
    kmem_text_init(&t, buf, sizeof buf, write, arg);
    struct report rp = { &t, (flags & KMEM_STATS_JSON) != 0, true };
    struct kmem_arena_stats as;
    kmem_collect_arena(&as);
    if (rp.rp_json) {
        kmem_text_str(&t, "{\n");
        buckets_json(&t);
        kmem_text_str(&t, "\"types\":[");
        kmem_types_foreach(type_row, &rp);
        kmem_text_str(&t, "],\n");
        utilization_json(&t, &as);
    } else {
        buckets_text(&t);
        kmem_text_str(&t, "\nMemory statistics by type\n");
        kmem_text_str(&t, "        Type   InUse   MemUse  HighUse    Limit  Blocks   Requests\n");
        kmem_types_foreach(type_row, &rp);
        kmem_text_char(&t, '\n');
        utilization_text(&t, &as);
    }
    kmem_text_flush(&t);
}
