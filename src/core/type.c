/*
 * type.c — the type registry, per-type counters and limits (see type.h).
 */
#include "type.h"

#include "../platform/platform.h"
#include "diag.h"
#include "lock.h"
#include "tcache.h"

static kmem_lock types_lock = KMEM_LOCK_INIT;
static struct kmem_type *types_head;              /* [L] append-only list */
static struct kmem_type *types_tail;              /* [L] */
static struct kmem_type *slot_type[KMEM_TYPE_SLOTS]; /* [L] owner of each slot */
static uint32_t slots_used = 1;                   /* [L] slot 0 is never used */
static uint32_t limit_seq;                        /* [L] bumped when limited memory frees */

#define ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_SEQ_CST)
#define SUB(field, v) __atomic_fetch_sub(&(field), (v), __ATOMIC_SEQ_CST)
#define LOAD(field)   __atomic_load_n(&(field), __ATOMIC_SEQ_CST)

void kmem_type_register(struct kmem_type *type)
{
    kmem_lock_acquire(&types_lock);
    if (!type->ks_registered) {
        uint32_t slot = 0;
        if (slots_used < KMEM_TYPE_SLOTS) {
            slot = slots_used++;
            slot_type[slot] = type;
        }
        KMEM_RELAXED_STORE(type->ks_slot, slot);
        if (!kmem_type_limited(type))
            KMEM_RELAXED_STORE(type->ks_fast, slot);
        type->ks_next = NULL;
        if (types_tail != NULL)
            __atomic_store_n(&types_tail->ks_next, type, __ATOMIC_RELEASE);
        else
            __atomic_store_n(&types_head, type, __ATOMIC_RELEASE);
        types_tail = type;
        __atomic_store_n(&type->ks_registered, 1, __ATOMIC_RELEASE);
    }
    kmem_lock_release(&types_lock);
}

/* Bytes counted in the shared counters. */
static uint64_t shared_memuse(const struct kmem_type *type)
{
    return LOAD(type->ks_alloc_bytes) - LOAD(type->ks_free_bytes);
}

/* Bytes the type holds: shared counters plus every cache's slot. */
static uint64_t memuse_of(struct kmem_type *type)
{
    uint64_t used = shared_memuse(type);
    uint32_t slot = KMEM_RELAXED_LOAD(type->ks_slot);
    if (slot != 0) {
        struct kmem_tstat sum = { 0, 0, 0, 0, 0, 0 };
        kmem_tcache_sum_slot(slot, &sum);
        used += (uint64_t)sum.ts_net;
    }
    return used;
}

static void sample_max(struct kmem_type *type, uint64_t used)
{
    uint64_t seen = KMEM_RELAXED_LOAD(type->ks_maxused);
    /* Counters of different threads are read one after another, so a sum
     * may briefly be off; ignore values that cannot be (negative). */
    if ((int64_t)used < 0)
        return;
    while (used > seen &&
           !__atomic_compare_exchange_n(&type->ks_maxused, &seen, used, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/*
 * Raise the high-water mark to the highest memuse since the last sample.
 * While the calling thread is the only one with a cache, that is exact:
 * the shared counters have not changed since the last sample (every
 * change samples first), and the thread's slot records the peak of its
 * own net bytes (ts_peak, kept by the fast path). With more threads, the
 * current sum is taken, which can miss a peak between two samples.
 */
void kmem_type_sample(struct kmem_type *type)
{
    uint32_t slot = KMEM_RELAXED_LOAD(type->ks_slot);
    if (slot == 0) {
        sample_max(type, shared_memuse(type));
        return;
    }
    struct kmem_tcache *tc = kmem_tcache_self();
    if (tc->tc_state == KMEM_TC_ACTIVE && kmem_tcache_count() == 1) {
        struct kmem_tstat *st = &tc->tc_stats[slot];
        sample_max(type, shared_memuse(type) + (uint64_t)st->ts_peak);
        KMEM_RELAXED_STORE(st->ts_peak, st->ts_net);
        return;
    }
    sample_max(type, memuse_of(type));
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

/* The shared counters change only after a sample (see kmem_type_sample). */
void kmem_type_count_alloc(struct kmem_type *type, size_t rounded, size_t requested)
{
    kmem_type_sample(type);
    ADD(type->ks_calls, 1);
    ADD(type->ks_alloc_bytes, rounded);
    ADD(type->ks_req_bytes, requested);
    kmem_type_sample(type);
}

void kmem_type_count_free(struct kmem_type *type, size_t rounded)
{
    kmem_type_sample(type);
    ADD(type->ks_frees, 1);
    ADD(type->ks_free_bytes, rounded);
    wake_waiters(type);
}

void kmem_type_count_resize(struct kmem_type *type, size_t old_rounded, size_t new_rounded)
{
    kmem_type_sample(type);
    if (new_rounded > old_rounded) {
        ADD(type->ks_alloc_bytes, new_rounded - old_rounded);
        kmem_type_sample(type);
    } else if (new_rounded < old_rounded) {
        ADD(type->ks_free_bytes, old_rounded - new_rounded);
        wake_waiters(type);
    }
}

int kmem_type_admit(struct kmem_type *type, size_t rounded, size_t requested,
                    bool is_alloc, int flags, const char *who)
{
    if (!kmem_type_limited(type))
        return KMEM_ADMIT_FREE;
    bool blocked = false;
    kmem_lock_acquire(&types_lock);
    for (;;) {
        uint64_t limit = KMEM_RELAXED_LOAD(type->ks_limit);
        if (limit == 0) { /* lifted while we waited */
            kmem_lock_release(&types_lock);
            return KMEM_ADMIT_FREE;
        }
        if (rounded > limit && (flags & KM_WAITOK)) {
            kmem_lock_release(&types_lock);
            kmem_bad_request(who, rounded, type,
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
        if (!blocked) {
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
    sample_max(type, memuse_of(type));
    kmem_lock_release(&types_lock);
    return KMEM_ADMIT_COUNTED;
}

void kmem_type_unadmit(struct kmem_type *type, size_t rounded, bool is_alloc)
{
    if (is_alloc)
        SUB(type->ks_calls, 1);
    SUB(type->ks_alloc_bytes, rounded);
    wake_waiters(type);
}

void kmem_types_absorb(struct kmem_tstat stats[KMEM_TYPE_SLOTS])
{
    for (unsigned slot = 1; slot < KMEM_TYPE_SLOTS; slot++) {
        struct kmem_type *type = __atomic_load_n(&slot_type[slot], __ATOMIC_ACQUIRE);
        struct kmem_tstat *s = &stats[slot];
        if (type == NULL)
            continue;
        ADD(type->ks_calls, s->ts_calls);
        ADD(type->ks_frees, s->ts_frees);
        ADD(type->ks_alloc_bytes, s->ts_alloc_bytes);
        ADD(type->ks_free_bytes, s->ts_alloc_bytes - (uint64_t)s->ts_net);
        ADD(type->ks_req_bytes, s->ts_req_bytes);
        KMEM_RELAXED_STORE(s->ts_calls, 0);
        KMEM_RELAXED_STORE(s->ts_frees, 0);
        KMEM_RELAXED_STORE(s->ts_alloc_bytes, 0);
        KMEM_RELAXED_STORE(s->ts_req_bytes, 0);
        KMEM_RELAXED_STORE(s->ts_net, 0);
        KMEM_RELAXED_STORE(s->ts_peak, 0);
    }
}

void kmem_type_read(struct kmem_type *type, struct kmem_type_stats *out)
{
    kmem_type_sample(type);
    struct kmem_tstat sum = { 0, 0, 0, 0, 0, 0 };
    uint32_t slot = KMEM_RELAXED_LOAD(type->ks_slot);
    if (slot != 0)
        kmem_tcache_sum_slot(slot, &sum);
    uint64_t calls = LOAD(type->ks_calls) + sum.ts_calls;
    uint64_t frees = LOAD(type->ks_frees) + sum.ts_frees;
    out->inuse = calls - frees;
    out->memuse = shared_memuse(type) + (uint64_t)sum.ts_net;
    sample_max(type, out->memuse);
    out->maxused = KMEM_RELAXED_LOAD(type->ks_maxused);
    out->calls = calls;
    out->limit = KMEM_RELAXED_LOAD(type->ks_limit);
    out->limblocks = LOAD(type->ks_limblocks);
    out->frees = frees;
    out->requested = LOAD(type->ks_req_bytes) + sum.ts_req_bytes;
}

void kmem_types_foreach(void (*fn)(struct kmem_type *type, void *arg), void *arg)
{
    /* The list only grows, and entries are published with release stores,
     * so it is walked without the lock (fn may allocate). */
    for (struct kmem_type *t = __atomic_load_n(&types_head, __ATOMIC_ACQUIRE); t != NULL;
         t = __atomic_load_n(&t->ks_next, __ATOMIC_ACQUIRE))
        fn(t, arg);
}

struct totals {
    uint64_t memuse, requested, rounded;
};

static void add_totals(struct kmem_type *type, void *arg)
{
    struct totals *t = arg;
    struct kmem_tstat sum = { 0, 0, 0, 0, 0, 0 };
    uint32_t slot = KMEM_RELAXED_LOAD(type->ks_slot);
    if (slot != 0)
        kmem_tcache_sum_slot(slot, &sum);
    t->memuse += shared_memuse(type) + (uint64_t)sum.ts_net;
    t->requested += LOAD(type->ks_req_bytes) + sum.ts_req_bytes;
    t->rounded += LOAD(type->ks_alloc_bytes) + sum.ts_alloc_bytes;
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
    kmem_type_ensure(type);
    kmem_lock_acquire(&types_lock);
    KMEM_RELAXED_STORE(type->ks_limit, (uint64_t)bytes);
    KMEM_RELAXED_STORE(type->ks_fast, bytes != 0 ? 0 : type->ks_slot);
    __atomic_store_n(&limit_seq, limit_seq + 1, __ATOMIC_SEQ_CST);
    kmem_lock_release(&types_lock);
    kmem_os_wake(&limit_seq, true);
    return KMEM_OK;
}

void kmem_types_lock_all(void)
{
    kmem_lock_acquire(&types_lock);
}

void kmem_types_unlock_all(bool child)
{
    if (child)
        kmem_lock_reset(&types_lock);
    else
        kmem_lock_release(&types_lock);
}
