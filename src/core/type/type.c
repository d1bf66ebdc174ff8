/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * type.c — the type registry, per-type counters and limits (see type.h).
 */
#include "core/type/type.h"

#include "platform/platform.h"
#include "core/base/diag.h"
#include "core/base/lock.h"
#include "core/tcache/tcache.h"

static kmem_lock types_lock = KMEM_LOCK_INIT;
struct kmem_type kmem_type_libc = {
    .ks_shortdesc = "malloc",
    .ks_longdesc = "C library malloc family",
    .ks_fast = KMEM_LIBC_FAST, /* counted there before it registers, too */
    .ks_slot = KMEM_SLOT_LIBC,
};
static struct kmem_type *types_head;              /* [types] append-only list */
static struct kmem_type *types_tail;              /* [types] */
static uint32_t slots_used = KMEM_SLOT_LIBC + 1;  /* [types] slot 0 is never used */
static uint32_t limit_seq;                        /* [types] bumped when limited memory frees */
static uint32_t types_registered;                 /* [types] the last ks_id given */

#define ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_SEQ_CST)
#define SUB(field, v) __atomic_fetch_sub(&(field), (v), __ATOMIC_SEQ_CST)
#define LOAD(field)   __atomic_load_n(&(field), __ATOMIC_SEQ_CST)

/* ks_fast for a slot: where its counters are in a bin's row. */
static uint32_t fast_offset(uint32_t slot)
{
    return slot * (uint32_t)sizeof(struct kmem_tcount);
}

void kmem_type_register(struct kmem_type *type)
{
    kmem_lock_acquire(&types_lock);
    if (type->ks_id == 0) {
        uint32_t slot = 0; /* none left: counted on the slow path */
        if (type == &kmem_type_libc)
            slot = KMEM_SLOT_LIBC;
        else if (slots_used < KMEM_TYPE_SLOTS)
            slot = slots_used++;
        KMEM_RELAXED_STORE(type->ks_slot, slot);
        if (!kmem_type_limited(type))
            KMEM_RELAXED_STORE(type->ks_fast, fast_offset(slot));
        type->ks_next = NULL;
        if (types_tail != NULL)
            __atomic_store_n(&types_tail->ks_next, type, __ATOMIC_RELEASE);
        else
            __atomic_store_n(&types_head, type, __ATOMIC_RELEASE);
        types_tail = type;
        __atomic_store_n(&type->ks_id, ++types_registered, __ATOMIC_RELEASE);
    }
    kmem_lock_release(&types_lock);
}

/*
 * A type's counts: its shared counters plus its slot in every cache (live
 * and retired), each read once, frees before allocations — a block's
 * allocation is counted before its free, so every free seen has its
 * allocation seen too — and all under the registry lock, so that a
 * retiring cache's counts do not move between the two reads. Signed: a
 * type named by frees of another's pieces goes below zero. With `try`, a
 * busy registry gives up (false).
 */
struct counts {
    uint64_t calls, frees, req_bytes, alloc_bytes;
    int64_t pieces[KMEM_NBUCKETS + 1];
    int64_t pieces_low[KMEM_NBUCKETS + 1]; /* with the frees read last: never
                                              above what was in use (see
                                              kmem_tcache_sum_slot) */
    int64_t large;
};

static bool read_counts(const struct kmem_type *type, struct counts *c, bool try)
{
    uint32_t slot = KMEM_RELAXED_LOAD(type->ks_slot);
    struct kmem_tsum sum;
    if (!kmem_tcache_registry_lock(try))
        return false;
    c->frees = LOAD(type->ks_frees);
    if (slot != 0)
        kmem_tcache_sum_slot(slot, &sum);
    c->calls = LOAD(type->ks_calls);
    c->req_bytes = LOAD(type->ks_req_bytes);
    c->alloc_bytes = LOAD(type->ks_alloc_bytes);
    c->large = (int64_t)LOAD(type->ks_large);
    c->pieces[0] = c->pieces_low[0] = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        c->pieces_low[b] = c->pieces[b] = (int64_t)LOAD(type->ks_pieces[b]);
    kmem_tcache_registry_unlock();
    if (slot != 0)
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++) {
            c->frees += sum.frees[b];
            c->calls += sum.allocs[b];
            c->alloc_bytes += sum.allocs[b] * kmem_bucket_size(b);
            c->pieces[b] += (int64_t)(sum.allocs[b] - sum.frees[b]);
            c->pieces_low[b] += (int64_t)(sum.allocs[b] - sum.frees_late[b]);
        }
    if (slot != 0)
        c->req_bytes += sum.req_bytes;
    return true;
}

/* a - b, or 0 where b is larger. A type whose frees outnumber its
 * allocations has been named by frees of another type's pieces (small
 * pieces do not record their type, see kmem_free): its figures stop at 0
 * instead of wrapping, and kmem_types_check reports it. */
static uint64_t minus(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static uint64_t at_least_0(int64_t v)
{
    return v > 0 ? (uint64_t)v : 0;
}

/* Bytes the type holds, by the counts (pieces: c->pieces or
 * c->pieces_low), each part at least 0. */
static uint64_t memuse_by(const struct counts *c, const int64_t *pieces)
{
    uint64_t bytes = at_least_0(c->large);
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        bytes += at_least_0(pieces[b]) * kmem_bucket_size(b);
    return bytes;
}

static uint64_t memuse_in(const struct counts *c)
{
    return memuse_by(c, c->pieces);
}

/* What a high-water mark may be raised to: memuse as it was at one moment
 * of the reading, or less, never more (kmem_tcache_sum_slot). */
static uint64_t memuse_for_max(const struct counts *c)
{
    return memuse_by(c, c->pieces_low);
}

static uint64_t memuse_of(struct kmem_type *type)
{
    struct counts c;
    read_counts(type, &c, false);
    return memuse_in(&c);
}

static void sample_max(struct kmem_type *type, uint64_t used)
{
    uint64_t seen = KMEM_RELAXED_LOAD(type->ks_maxused);
    while (used > seen &&
           !__atomic_compare_exchange_n(&type->ks_maxused, &seen, used, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/*
 * Raise the high-water mark to the current memuse. Called whenever the
 * shared counters grow, on every thread-cache exchange and on every read;
 * allocations served from a cache between two samples are not seen one by
 * one, so a peak shorter than a cache batch can be missed. The registry
 * lock is only tried: a busy registry skips the sample.
 */
void kmem_type_sample(struct kmem_type *type)
{
    struct counts c;
    if (read_counts(type, &c, true)) {
        uint64_t used = memuse_for_max(&c);
        __atomic_store_n(&type->ks_estimate, (int64_t)used, __ATOMIC_RELAXED);
        sample_max(type, used);
    }
}

/*
 * The end of a run of allocations from the calling thread's cache `tc`.
 * An exact sample adds up every cache, so it is taken only when the type
 * may have passed its mark: ks_estimate is memuse at the last exact
 * sample plus the changes threads have reported since, each thread
 * reporting its own (kmem_tcache_own_bytes against tc_reported):
 *
 *     ks_estimate = memuse(last exact sample) + sum of reports since.
 *
 * A thread reports at the end of each of its runs, so a peak that some
 * thread's run ends at is seen by that thread's estimate. What is missed
 * are changes not yet reported (another thread's run still going on) and
 * the shared counters' changes since the last exact sample, which take
 * samples of their own (grown).
 */
void kmem_type_sample_run(struct kmem_type *type, struct kmem_tcache *tc)
{
    uint32_t slot = KMEM_RELAXED_LOAD(type->ks_slot);
    if (slot == 0) {
        kmem_type_sample(type);
        return;
    }
    int64_t own = kmem_tcache_own_bytes(tc, slot);
    int64_t change = own - tc->tc_reported[slot];
    tc->tc_reported[slot] = own;
    int64_t estimate = __atomic_add_fetch(&type->ks_estimate, change, __ATOMIC_RELAXED);
    if (estimate > (int64_t)KMEM_RELAXED_LOAD(type->ks_maxused))
        kmem_type_sample(type);
}

void kmem_type_sample_soon(struct kmem_type *type)
{
    struct kmem_tcache *tc = kmem_tcache_self();
    uint32_t now = (uint32_t)(kmem_os_now_coarse_ns() >> 20);
    if (now != 0 && now == tc->tc_sampled)
        return;
    tc->tc_sampled = now;
    kmem_type_sample(type);
}

/* The shared counters of a type grew: raise its high-water mark. Without
 * thread caches they are the whole figure, so the mark is exact and costs
 * neither a clock nor a walk of the caches; with caches, the sum over
 * every cache is sampled at most about once a millisecond (see type.h). */
static void grown(struct kmem_type *type)
{
    if (!KMEM_THREAD_CACHE)
        sample_max(type, at_least_0((int64_t)LOAD(type->ks_held)));
    else
        kmem_type_sample_soon(type);
}

static void wake_waiters(struct kmem_type *type)
{
    if (LOAD(type->ks_waiters) == 0)
        return;
    kmem_lock_acquire(&types_lock);
    __atomic_store_n(&limit_seq, limit_seq + 1, __ATOMIC_SEQ_CST);
    kmem_lock_release(&types_lock);
    kmem_os_wake(&limit_seq, true);
}

/* Hold one more block of `size` (sign +1) or one less (-1). */
static void hold(struct kmem_type *type, struct kmem_size size, int sign)
{
    if (size.sz_bucket != 0)
        ADD(type->ks_pieces[size.sz_bucket], (uint64_t)(int64_t)sign);
    else
        ADD(type->ks_large, (uint64_t)(int64_t)sign * size.sz_bytes);
    ADD(type->ks_held, (uint64_t)(int64_t)sign * size.sz_bytes);
}

void kmem_type_count_alloc(struct kmem_type *type, struct kmem_size size, size_t requested)
{
    ADD(type->ks_calls, 1);
    ADD(type->ks_alloc_bytes, size.sz_bytes);
    ADD(type->ks_req_bytes, requested);
    hold(type, size, +1);
    grown(type);
}

void kmem_type_count_free(struct kmem_type *type, struct kmem_size size)
{
    ADD(type->ks_frees, 1);
    hold(type, size, -1);
    wake_waiters(type);
}

void kmem_type_count_resize(struct kmem_type *type, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes > old_bytes) {
        ADD(type->ks_alloc_bytes, new_bytes - old_bytes);
        ADD(type->ks_large, new_bytes - old_bytes);
        ADD(type->ks_held, new_bytes - old_bytes);
        grown(type);
    } else if (new_bytes < old_bytes) {
        SUB(type->ks_large, old_bytes - new_bytes);
        SUB(type->ks_held, old_bytes - new_bytes);
        wake_waiters(type);
    }
}

int kmem_type_admit_limited(struct kmem_type *type, struct kmem_size size, size_t requested,
                            bool is_alloc, int flags, const char *who)
{
    bool blocked = false;
    size_t rounded = size.sz_bytes;
    kmem_lock_acquire(&types_lock);
    for (;;) {
        uint64_t limit = KMEM_RELAXED_LOAD(type->ks_limit);
        if (limit == 0) { /* lifted while we waited */
            kmem_lock_release(&types_lock);
            return KMEM_ADMIT_FREE;
        }
        if (rounded > limit && (flags & KM_WAITOK)) {
            kmem_lock_release(&types_lock);
            kmem_bad_request(who, requested != 0 ? requested : rounded, type,
                             "request exceeds the type's limit; KM_WAITOK can never be met");
        }
        /* Announce ourselves before looking: a free either sees a waiter
         * or is seen by the check below. */
        uint32_t seq = LOAD(limit_seq);
        ADD(type->ks_waiters, 1);
        uint64_t used = memuse_of(type);
        if (used + rounded <= limit) {
            SUB(type->ks_waiters, 1);
            break;
        }
        if (!blocked && !(flags & KMEM_ADMIT_QUIET)) {
            ADD(type->ks_limblocks, 1);
            blocked = true;
        }
        if (flags & KM_NOWAIT) {
            SUB(type->ks_waiters, 1);
            kmem_lock_release(&types_lock);
            return KMEM_ADMIT_REFUSED;
        }
        kmem_lock_release(&types_lock);
        kmem_os_wait(&limit_seq, seq);
        kmem_lock_acquire(&types_lock);
        SUB(type->ks_waiters, 1);
    }
    if (is_alloc) {
        ADD(type->ks_calls, 1);
        ADD(type->ks_req_bytes, requested);
    }
    ADD(type->ks_alloc_bytes, rounded);
    hold(type, size, +1);
    struct counts c;
    read_counts(type, &c, false);
    sample_max(type, memuse_for_max(&c));
    kmem_lock_release(&types_lock);
    return KMEM_ADMIT_COUNTED;
}

void kmem_type_unadmit(struct kmem_type *type, struct kmem_size size, bool is_alloc)
{
    if (is_alloc)
        SUB(type->ks_calls, 1);
    SUB(type->ks_alloc_bytes, size.sz_bytes);
    hold(type, size, -1);
    wake_waiters(type);
}

void kmem_type_take_reading(struct kmem_type *type, struct kmem_type_reading *out)
{
    struct counts c;
    read_counts(type, &c, false);
    struct kmem_type_stats *ts = &out->tr_stats;
    out->tr_pieces[0] = 0;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        out->tr_pieces[b] = at_least_0(c.pieces[b]);
    out->tr_large = at_least_0(c.large);
    out->tr_rounded = c.alloc_bytes;
    ts->inuse = minus(c.calls, c.frees);
    ts->memuse = memuse_in(&c);
    sample_max(type, memuse_for_max(&c));
    /* Shown at least as high as the memuse shown with it; kept no higher
     * than what was in use at some moment. */
    ts->maxused = KMEM_RELAXED_LOAD(type->ks_maxused);
    if (ts->maxused < ts->memuse)
        ts->maxused = ts->memuse;
    ts->calls = c.calls;
    ts->limit = KMEM_RELAXED_LOAD(type->ks_limit);
    ts->limblocks = LOAD(type->ks_limblocks);
    ts->frees = c.frees;
    ts->requested = c.req_bytes;
}

void kmem_type_read(struct kmem_type *type, struct kmem_type_stats *out)
{
    struct kmem_type_reading r;
    kmem_type_take_reading(type, &r);
    *out = r.tr_stats;
}

/* The list only grows, and entries are published with release stores, so
 * it is walked without the lock (callers may allocate meanwhile). */
struct kmem_type *kmem_types_next(const struct kmem_type *prev)
{
    return prev == NULL ? __atomic_load_n(&types_head, __ATOMIC_ACQUIRE)
                        : __atomic_load_n(&prev->ks_next, __ATOMIC_ACQUIRE);
}

const struct kmem_type *kmem_type_by_id(uint32_t id)
{
    for (struct kmem_type *t = kmem_types_next(NULL); t != NULL; t = kmem_types_next(t))
        if (KMEM_RELAXED_LOAD(t->ks_id) == id)
            return t;
    return NULL;
}

void kmem_types_foreach(void (*fn)(struct kmem_type *type, void *arg), void *arg)
{
    /* The libc type counts in its slot from the first pop of a piece that
     * another type's request brought into the cache, perhaps before its
     * own first slow path registers it: then it is called for once here,
     * and not again if it registers during the walk. */
    bool libc_apart = __atomic_load_n(&kmem_type_libc.ks_id, __ATOMIC_ACQUIRE) == 0;
    if (libc_apart)
        fn(&kmem_type_libc, arg);
    for (struct kmem_type *t = kmem_types_next(NULL); t != NULL; t = kmem_types_next(t))
        if (!(libc_apart && t == &kmem_type_libc))
            fn(t, arg);
}

int kmem_types_check(void)
{
    int bad = 0;
    for (struct kmem_type *t = kmem_types_next(NULL); t != NULL; t = kmem_types_next(t)) {
        struct counts c;
        read_counts(t, &c, false);
        int64_t below = c.large < 0 ? -c.large : 0;
        for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
            if (c.pieces[b] < 0)
                below += -c.pieces[b] * (int64_t)kmem_bucket_size(b);
        if (c.frees > c.calls || below > 0) {
            kmem_complain_type("freed more than it allocated (a block of another type "
                               "was freed with this one): frees and bytes beyond its "
                               "allocations", t->ks_shortdesc, minus(c.frees, c.calls),
                               (uint64_t)below);
            bad++;
        }
    }
    return bad;
}

/* Sums over all types, each counted as it is (a type that freed another's
 * blocks counts negative), so that they add up to the buckets' figures. */
struct totals {
    uint64_t memuse, requested, rounded;
};

static void add_totals(struct kmem_type *type, void *arg)
{
    struct totals *t = arg;
    struct counts c;
    read_counts(type, &c, false);
    int64_t bytes = c.large;
    for (unsigned b = 1; b <= KMEM_NBUCKETS; b++)
        bytes += c.pieces[b] * (int64_t)kmem_bucket_size(b);
    t->memuse += (uint64_t)bytes;
    t->requested += c.req_bytes;
    t->rounded += c.alloc_bytes;
}

void kmem_types_totals(uint64_t *memuse, uint64_t *requested, uint64_t *rounded)
{
    struct totals t = { 0, 0, 0 };
    kmem_types_foreach(add_totals, &t);
    *memuse = t.memuse;
    *requested = t.requested;
    *rounded = t.rounded;
}

int kmem_type_set_limit(struct kmem_type *type, size_t bytes)
{
    if (type == &kmem_type_libc)
        return KMEM_ERR_INVAL; /* its fast paths count without looking */
    kmem_type_ensure(type);
    kmem_lock_acquire(&types_lock);
    KMEM_RELAXED_STORE(type->ks_limit, (uint64_t)bytes);
    KMEM_RELAXED_STORE(type->ks_fast, bytes != 0 ? 0 : fast_offset(type->ks_slot));
    __atomic_store_n(&limit_seq, limit_seq + 1, __ATOMIC_SEQ_CST);
    kmem_lock_release(&types_lock);
    kmem_os_wake(&limit_seq, true);
    return KMEM_OK;
}

bool kmem_types_fork(enum kmem_fork_phase phase)
{
    /* What the lock guards is appended to or counted, never unlinked: an
     * interrupted registration leaves the list whole, and an interrupted
     * count only a count off. */
    return kmem_lock_fork(&types_lock, phase);
}
