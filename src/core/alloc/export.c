/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export.c — see export.h.
 *
 * The record is written in place, under a sequence count: odd while a copy
 * is being written, so that a reader in another process can tell a whole
 * copy from a torn one (kmem_export.h says how to read it). Each copy is
 * gathered first into a buffer of kmem's own pages — every type once (its
 * counters read once, kmem_record_type), the buckets' and the arena's
 * figures made from the same readings, so that a whole copy adds up
 * exactly — and then copied into the shared record, so that the count is
 * odd only for that copy, however long the gathering took.
 */
#include "core/alloc/export.h"

#include "core/alloc/own.h"
#include "core/alloc/settings.h"
#include "core/alloc/stats.h"
#include "core/type/type.h"
#include "kmem_export.h"
#include "platform/platform.h"

#define EX_OFF     0 /* not publishing */
#define EX_WAITING 1 /* publishing once the delay has passed */
#define EX_LIVE    2 /* the record exists */
#define EX_DONE    3 /* removed at exit, or could not be made */

static kmem_lock export_lock = KMEM_LOCK_INIT;
static uint32_t state;                    /* [A] EX_* */
static uint64_t start_ns;                 /* [A] publishing may begin from then on */
static struct kmem_export_header *record; /* [export] the shared record */
static size_t capacity;                   /* [export] its bytes */
static int64_t creator;                   /* [A] the process that made the record */
static struct kmem_export_header *draft;  /* [export] where a copy is gathered */
static size_t draft_size;                 /* [export] its bytes (capacity) */

#define BUCKETS_OFFSET ((uint32_t)sizeof(struct kmem_export_header))
#define TYPES_OFFSET \
    (BUCKETS_OFFSET + (uint32_t)(KMEM_NBUCKETS * sizeof(struct kmem_export_bucket)))

/* Order the sequence count's stores against the copy's. ThreadSanitizer
 * does not model fences (the reader is another process anyway). */
static void fence(void)
{
#ifdef KMEM_TSAN_
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static size_t round_pages(size_t bytes)
{
    return (bytes + KMEM_PAGE_MASK) & ~(size_t)KMEM_PAGE_MASK;
}

static size_t length_for(uint64_t ntypes)
{
    return TYPES_OFFSET + (size_t)ntypes * sizeof(struct kmem_export_type);
}

void kmem_export_start(void)
{
    __atomic_store_n(&start_ns, kmem_os_now_coarse_ns(), __ATOMIC_RELAXED);
    if (!kmem_settings.st_export)
        return;
    kmem_os_export_prepare(kmem_settings.st_export_dir);
    __atomic_store_n(&state, EX_WAITING, __ATOMIC_RELEASE);
}

bool kmem_export_enabled(void)
{
    uint32_t s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    return s == EX_WAITING || s == EX_LIVE;
}

static bool delay_passed(void)
{
    uint64_t delay = (uint64_t)kmem_settings.st_export_delay_ms * 1000000u;
    return kmem_os_now_coarse_ns() - __atomic_load_n(&start_ns, __ATOMIC_RELAXED) >= delay;
}

bool kmem_export_due(void)
{
    return __atomic_load_n(&state, __ATOMIC_RELAXED) == EX_WAITING && delay_passed();
}

static uint64_t count_types(void)
{
    uint64_t n = 0;
    for (struct kmem_type *t = kmem_types_next(NULL); t != NULL; t = kmem_types_next(t))
        n++;
    return n;
}

/* Make the record, with room for `ntypes` types. export_lock held. */
static bool create(uint64_t ntypes)
{
    size_t size = round_pages(length_for(ntypes < 64 ? 64 : ntypes));
    struct kmem_export_header *h = kmem_os_export_create(size);
    if (h == NULL)
        return false;
    h->eh_magic = KMEM_EXPORT_MAGIC;
    h->eh_version = KMEM_EXPORT_VERSION;
    h->eh_header_size = (uint32_t)sizeof *h;
    h->eh_pid = kmem_os_process_id();
    h->eh_start_time = kmem_os_process_start_time();
    h->eh_interval_ms = kmem_settings.st_export_interval_ms;
    h->eh_classes_per_doubling = KMEM_CLASSES_PER_DOUBLING;
    h->eh_nbuckets = KMEM_NBUCKETS;
    h->eh_bucket_offset = BUCKETS_OFFSET;
    h->eh_bucket_size = (uint32_t)sizeof(struct kmem_export_bucket);
    h->eh_type_offset = TYPES_OFFSET;
    h->eh_type_size = (uint32_t)sizeof(struct kmem_export_type);
    kmem_os_process_command(h->eh_command, sizeof h->eh_command);
    record = h;
    capacity = size;
    __atomic_store_n(&creator, h->eh_pid, __ATOMIC_RELAXED);
    return true;
}

/* Room for ntypes, growing the record if need be; how many fit. */
static uint64_t make_room(uint64_t ntypes)
{
    if (length_for(ntypes) > capacity) {
        size_t size = capacity;
        while (size < length_for(ntypes))
            size *= 2;
        struct kmem_export_header *grown = kmem_os_export_grow(record, capacity, size);
        if (grown != NULL) {
            record = grown;
            capacity = size;
        }
    }
    uint64_t fit = (capacity - TYPES_OFFSET) / sizeof(struct kmem_export_type);
    return ntypes < fit ? ntypes : fit;
}

/* A draft as large as the record. export_lock held. */
static bool draft_fits(void)
{
    if (draft_size == capacity)
        return true;
    if (draft != NULL)
        kmem_own_free(draft, draft_size);
    draft = kmem_own_alloc(capacity);
    draft_size = draft != NULL ? capacity : 0;
    return draft != NULL;
}

/* Gather one copy into the draft; the bytes it takes. export_lock held. */
static size_t gather(uint64_t ntypes)
{
    struct kmem_export_header *h = draft;
    char *base = (char *)h;
    __builtin_memcpy(h, record, sizeof *h); /* the fields that do not change */
    struct kmem_record_sums sums;
    __builtin_memset(&sums, 0, sizeof sums);
    struct kmem_export_type *types = (struct kmem_export_type *)(base + TYPES_OFFSET);
    uint64_t n = 0;
    for (struct kmem_type *t = kmem_types_next(NULL); t != NULL && n < ntypes;
         t = kmem_types_next(t))
        kmem_record_type(t, &types[n++], &sums);
    kmem_record_buckets((struct kmem_export_bucket *)(base + BUCKETS_OFFSET), &sums);
    kmem_record_arena(&h->eh_arena, &sums);
    h->eh_ntypes = (uint32_t)n;
    h->eh_length = length_for(n);
    h->eh_published_ns = kmem_os_now_ns();
    h->eh_publishes = record->eh_publishes + 1;
    return h->eh_length;
}

/* Write one copy. export_lock held. */
static void write_copy(void)
{
    uint64_t ntypes = make_room(count_types());
    if (!draft_fits())
        return; /* no pages for the draft: this copy is skipped */
    size_t length = gather(ntypes);
    struct kmem_export_header *h = record;
    uint64_t seq = h->eh_seq;
    __atomic_store_n(&h->eh_seq, seq + 1, __ATOMIC_RELAXED);
    fence();
    /* All but the sequence count, which stays odd until the end. */
    size_t skip = offsetof(struct kmem_export_header, eh_length);
    __builtin_memcpy((char *)h + skip, (char *)draft + skip, length - skip);
    fence();
    __atomic_store_n(&h->eh_seq, seq + 2, __ATOMIC_RELAXED);
}

void kmem_export_publish(void)
{
    kmem_lock_acquire(&export_lock);
    uint32_t s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s == EX_WAITING && delay_passed()) {
        bool made = create(count_types());
        uint32_t expected = EX_WAITING;
        if (!__atomic_compare_exchange_n(&state, &expected, made ? EX_LIVE : EX_DONE, false,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
            made)
            kmem_os_export_remove(); /* the process began to exit meanwhile */
        s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    }
    if (s == EX_LIVE) {
        write_copy();
        if (record->eh_publishes == 1)
            kmem_os_export_reveal();
    }
    kmem_lock_release(&export_lock);
}

void kmem_export_at_exit(void)
{
    /* A vfork() child shares this memory: its _exit must leave its
     * parent's record alone. */
    int64_t self = kmem_os_process_id();
    int64_t made_by = __atomic_load_n(&creator, __ATOMIC_RELAXED);
    if (made_by != 0 && made_by != self)
        return;
    /* Only tried: _exit may come from a signal handler that interrupted
     * a copy being written (the name goes all the same). */
    bool locked = kmem_lock_try(&export_lock);
    if (__atomic_load_n(&state, __ATOMIC_RELAXED) == EX_LIVE)
        kmem_os_export_remove();
    if (__atomic_load_n(&state, __ATOMIC_RELAXED) != EX_OFF)
        __atomic_store_n(&state, EX_DONE, __ATOMIC_RELAXED);
    if (locked)
        kmem_lock_release(&export_lock);
}

bool kmem_export_fork(enum kmem_fork_phase phase)
{
    bool answer = kmem_lock_fork(&export_lock, phase);
    if (phase != KMEM_FORK_CHILD)
        return answer;
    kmem_os_export_forget(record, capacity);
    record = NULL;
    capacity = 0;
    __atomic_store_n(&creator, 0, __ATOMIC_RELAXED);
    if (draft != NULL)
        kmem_own_free(draft, draft_size); /* the child's own copy of it */
    draft = NULL;
    draft_size = 0;
    uint32_t s = __atomic_load_n(&state, __ATOMIC_RELAXED);
    if (s == EX_LIVE || s == EX_WAITING) {
        __atomic_store_n(&start_ns, kmem_os_now_coarse_ns(), __ATOMIC_RELAXED);
        __atomic_store_n(&state, EX_WAITING, __ATOMIC_RELAXED);
    }
    return answer;
}
