/*
 * stats.c — see stats.h.
 */
#include "core/alloc/stats.h"

#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/base/diag.h"
#include "core/tcache/tcache.h"
#include "core/type/type.h"

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
    kmem_tcache_sum_bins(cached, requests);
    fill_bucket(b, cached[b], requests[b], out);
}

void kmem_collect_arena(struct kmem_arena_stats *out)
{
    uint64_t cached[KMEM_NBUCKETS + 1], requests[KMEM_NBUCKETS + 1];
    kmem_tcache_sum_bins(cached, requests);
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

int kmem_check_all(void)
{
    int bad = kmem_arena_check();
    uint64_t cached[KMEM_NBUCKETS + 1], requests[KMEM_NBUCKETS + 1];
    kmem_tcache_sum_bins(cached, requests);
    bad += kmem_buckets_check(cached);
    bad += kmem_types_check();
    struct kmem_arena_stats as;
    kmem_collect_arena(&as);
    uint64_t memuse, requested, rounded;
    kmem_types_totals(&memuse, &requested, &rounded);
    /* sum over types of memuse == small_inuse + large_inuse + internal */
    uint64_t held = as.small_inuse + as.large_inuse + as.internal;
    if (memuse != held) {
        if (kmem_tcache_lost_at_fork() == 0) {
            kmem_complain("types' memory in use differs from buckets + large blocks + "
                          "kmem's own", memuse, held);
            bad++;
        } else {
            /* Not a failure: see kmem_tcache_lost_at_fork. */
            kmem_complain("types' memory in use differs from buckets + large blocks + "
                          "kmem's own by what other threads had in flight when this "
                          "process was forked (threads lost, bytes)",
                          kmem_tcache_lost_at_fork(),
                          memuse > held ? memuse - held : held - memuse);
        }
    }
    return bad;
}
