/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats.c — see stats.h.
 */
#include "core/alloc/stats.h"

#include "core/alloc/debug.h"
#include "core/alloc/own.h"
#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/base/diag.h"
#include "core/tcache/tcache.h"
#include "core/type/type.h"

/* Pieces free but out of the buckets, per bucket: in thread caches, and
 * held back by KMEM_DEBUG=quarantine; and the cached requests. */
static void sum_cached(uint64_t cached[KMEM_NBUCKETS + 1], uint64_t requests[KMEM_NBUCKETS + 1])
{
    kmem_tcache_sum_bins(cached, requests);
    kmem_debug_add_held(cached);
}

static void fill_bucket(unsigned b, uint64_t cached, uint64_t requests,
                        struct kmem_bucket_stats *out)
{
    struct kmem_bucket *kb = &kmem_buckets[b];
    struct kmem_class *c = &kmem_classes[b];
    kmem_lock_acquire(&kb->kb_lock);
    uint64_t slabs = kb->kb_slabs, free = kb->kb_free + kb->kb_xfer;
    kmem_lock_release(&kb->kb_lock);
    uint64_t carved = slabs * c->kc_pieces;
    out->size = c->kc_size;
    out->cached = cached;
    out->free = free + cached;
    /* Caches are read a moment apart from the bucket: never report less
     * than nothing in use. */
    out->inuse = carved > out->free ? carved - out->free : 0;
    out->requests = requests + __atomic_load_n(&kb->kb_calls, __ATOMIC_RELAXED);
    out->highwat = c->kc_highwat;
    out->slabs = slabs;
    out->slab_pages = c->kc_pages;
}

void kmem_collect_bucket(unsigned b, struct kmem_bucket_stats *out)
{
    uint64_t cached[KMEM_NBUCKETS + 1], requests[KMEM_NBUCKETS + 1];
    sum_cached(cached, requests);
    fill_bucket(b, cached[b], requests[b], out);
}

void kmem_collect_arena(struct kmem_arena_stats *out)
{
    uint64_t cached[KMEM_NBUCKETS + 1], requests[KMEM_NBUCKETS + 1];
    sum_cached(cached, requests);
    uint64_t small = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_bucket_stats bs;
        fill_bucket(b, cached[b], requests[b], &bs);
        small += bs.inuse * bs.size;
    }
    kmem_arena_read_stats(out);
    out->small_inuse = small;
    uint64_t memuse;
    kmem_types_totals(&memuse, &out->requested_calls, &out->rounded_calls);
}

/* Copy at most cap - 1 bytes of s and a NUL. */
static void copy_string(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    if (src != NULL)
        for (; i + 1 < cap && src[i] != '\0'; i++)
            dst[i] = src[i];
    for (; i < cap; i++)
        dst[i] = '\0';
}

void kmem_record_type(struct kmem_type *type, struct kmem_export_type *out,
                      struct kmem_record_sums *sums)
{
    struct kmem_type_reading r;
    kmem_type_take_reading(type, &r);
    const struct kmem_type_stats *ts = &r.tr_stats;
    out->et_inuse = ts->inuse;
    out->et_memuse = ts->memuse;
    out->et_maxused = ts->maxused;
    out->et_calls = ts->calls;
    out->et_frees = ts->frees;
    out->et_limit = ts->limit;
    out->et_limblocks = ts->limblocks;
    out->et_requested = ts->requested;
    copy_string(out->et_name, type->ks_shortdesc, sizeof out->et_name);
    copy_string(out->et_description, type->ks_longdesc, sizeof out->et_description);
    if (sums == NULL)
        return;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        sums->rs_pieces[b] += r.tr_pieces[b];
    if (type == kmem_own_type())
        sums->rs_internal += r.tr_large;
    else
        sums->rs_large += r.tr_large;
    sums->rs_requested += ts->requested;
    sums->rs_rounded += r.tr_rounded;
}

void kmem_record_buckets(struct kmem_export_bucket *out, const struct kmem_record_sums *sums)
{
    uint64_t cached[KMEM_NBUCKETS + 1], requests[KMEM_NBUCKETS + 1];
    sum_cached(cached, requests);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
        struct kmem_bucket_stats bs;
        fill_bucket(b, cached[b], requests[b], &bs);
        struct kmem_export_bucket *e = &out[b - 1];
        e->eb_size = bs.size;
        e->eb_inuse = sums != NULL ? sums->rs_pieces[b] : bs.inuse;
        e->eb_free = bs.free;
        e->eb_cached = bs.cached;
        e->eb_requests = bs.requests;
        e->eb_highwat = bs.highwat;
        e->eb_slabs = bs.slabs;
        e->eb_slab_pages = bs.slab_pages;
    }
}

void kmem_record_arena(struct kmem_export_arena *out, const struct kmem_record_sums *sums)
{
    struct kmem_arena_stats as;
    if (sums == NULL) {
        kmem_collect_arena(&as);
    } else {
        kmem_arena_read_stats(&as);
        as.small_inuse = 0;
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
            as.small_inuse += sums->rs_pieces[b] * kmem_classes[b].kc_size;
        as.large_inuse = sums->rs_large;
        as.internal = sums->rs_internal;
        as.requested_calls = sums->rs_requested;
        as.rounded_calls = sums->rs_rounded;
    }
    out->ea_reserved = as.reserved;
    out->ea_page_size = as.page_size;
    out->ea_large_inuse = as.large_inuse;
    out->ea_large_blocks = as.large_blocks;
    out->ea_slab_bytes = as.slab_bytes;
    out->ea_small_inuse = as.small_inuse;
    out->ea_dirty_free = as.dirty_free;
    out->ea_clean_free = as.clean_free;
    out->ea_high_mark = as.high_mark;
    out->ea_metadata = as.metadata;
    out->ea_decommit_calls = as.decommit_calls;
    out->ea_decommit_bytes = as.decommit_bytes;
    out->ea_commit_calls = as.commit_calls;
    out->ea_required = as.required;
    out->ea_requested = as.requested_calls;
    out->ea_rounded = as.rounded_calls;
    out->ea_internal = as.internal;
}

int kmem_check_all(void)
{
    int bad = kmem_arena_check();
    uint64_t cached[KMEM_NBUCKETS + 1], requests[KMEM_NBUCKETS + 1];
    sum_cached(cached, requests);
    bad += kmem_buckets_check(cached);
    bad += kmem_types_check();
    struct kmem_arena_stats as;
    kmem_collect_arena(&as);
    uint64_t memuse, requested, rounded;
    kmem_types_totals(&memuse, &requested, &rounded);
    /* sum over types of memuse == small_inuse + large_inuse + internal */
    uint64_t held = as.small_inuse + as.large_inuse + as.internal;
    if (memuse != held) {
        if (kmem_tcache_lost_at_fork() == 0 && kmem_tcache_repairs_at_fork() == 0) {
            kmem_complain("types' memory in use differs from buckets + large blocks + "
                          "kmem's own", memuse, held);
            bad++;
        } else {
            /* Not a failure: see kmem_tcache_lost_at_fork and
             * kmem_tcache_repairs_at_fork. */
            kmem_complain("types' memory in use differs from buckets + large blocks + "
                          "kmem's own by what was in flight when this process was "
                          "forked (threads lost, bytes)",
                          kmem_tcache_lost_at_fork(),
                          memuse > held ? memuse - held : held - memuse);
        }
    }
    return bad;
}
