/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * init.c — starting kmem: reading the settings, choosing and reserving
 * the arena, handing each layer its part of the settings, and filling the
 * fast path's tables. kmem starts by itself on its first use, or through
 * kmem_init / kmem_freestanding_init with options.
 */
#include "core/alloc/init.h"

#include "core/alloc/debug.h"
#include "core/alloc/export.h"
#include "core/alloc/fork.h"
#include "core/alloc/reclaim.h"
#include "core/alloc/settings.h"
#include "core/arena/arena.h"
#include "core/base/lock.h"
#include "core/bucket/bucket.h"
#include "platform/platform.h"

KMEM_API struct kmem_fastpath KMEM_ABI(kmem_fastpath);
#define KMEM_STR_(x) #x
#define KMEM_STR(x) KMEM_STR_(x)
extern struct kmem_fastpath kmem_fastpath_local
    __attribute__((alias(KMEM_STR(KMEM_ABI(kmem_fastpath)))));

static kmem_lock init_lock = KMEM_LOCK_INIT;
uint32_t kmem_started;        /* [A] 1 once the arena is ready */
static uint32_t start_failed; /* [init] no reservation could be had */

/* The reservation to ask for when neither the options nor the
 * environment name one (see KMEM_ARENA_DEFAULT_MIN). */
static uint64_t default_arena_size(void)
{
    uint64_t ram = kmem_os_physical_memory();
    uint64_t want = KMEM_ARENA_DEFAULT_MIN;
    while (want < KMEM_ARENA_RAM_FACTOR * ram && want < KMEM_ARENA_MAX)
        want <<= 1;
    uint64_t left = kmem_os_address_space_left();
    if (left != UINT64_MAX) {
        uint64_t spare = left / KMEM_AS_SPARE_FRACTION;
        uint64_t floor = KMEM_AS_SPARE_MIN < left / 4 ? KMEM_AS_SPARE_MIN : left / 4;
        if (spare < floor)
            spare = floor;
        if (want > left - spare)
            want = left - spare;
    }
    return want;
}

/* Reserve the arena: `want` bytes, or as near as the system grants. */
static bool reserve_arena(uint64_t want)
{
    if (want == 0)
        want = default_arena_size();
    if (want > KMEM_ARENA_MAX)
        want = KMEM_ARENA_MAX;
    if (want < KMEM_ARENA_MIN)
        want = KMEM_ARENA_MIN;
    want = (want + KMEM_COMMIT_STEP - 1) & ~(uint64_t)(KMEM_COMMIT_STEP - 1);
    /* The system may still refuse (valgrind, a limit the platform cannot
     * tell, or an explicit size beyond it): ask for an eighth less each
     * time, so that what is granted is within an eighth of what could be. */
    void *base = NULL;
    size_t granted = 0;
    for (uint64_t size = want; size >= KMEM_ARENA_MIN;
         size = (size - size / 8) & ~(uint64_t)(KMEM_COMMIT_STEP - 1)) {
        base = kmem_os_reserve((size_t)size, KMEM_COMMIT_STEP, &granted);
        if (base != NULL)
            break;
    }
    return base != NULL && kmem_arena_init(base, granted);
}

/* Lay out everything over a reservation. init_lock held. */
static int start_locked(const struct kmem_options *options)
{
    kmem_settings_read(options);
    const struct kmem_settings *s = &kmem_settings;
    if (!reserve_arena(s->st_arena_size))
        return KMEM_ERR_NOMEM;
    kmem_arena_set_cap(s->st_memory_limit);
    kmem_arena_set_decay(s->st_decay_ms, s->st_dirty_max);
    kmem_buckets_init(s->st_tcache_bytes);
    kmem_debug_start(s->st_debug, s->st_quarantine_bytes);
    kmem_buckets_fill_new_slabs((s->st_debug & KMEM_DEBUG_JUNK) ? KMEM_JUNK_BYTE : -1);

    struct kmem_fastpath *fp = &KMEM_ABI(kmem_fastpath);
    KMEM_RELAXED_STORE(fp->fp_secret, (uintptr_t)(kmem_os_random() | 1)); /* see kmem_piece_key */
    fp->fp_map = kmem_arena.ka_map;
    fp->fp_base = kmem_arena.ka_base;
    /* A program that inlines the macros may hold a copy of the fast-path
     * data (a copy relocation): then the exported symbol is the program's
     * copy and the library's own code reads its hidden alias, another
     * object. Both must say the same; fp_size, which says the arena is
     * there, goes last into each. */
    struct kmem_fastpath *own = &kmem_fastpath_local;
    if (own != fp) {
        uintptr_t size_before = own->fp_size;
        *own = *fp;
        own->fp_size = size_before;
    }
    uintptr_t size = (uintptr_t)kmem_arena.ka_npages << KMEM_PAGE_SHIFT;
    __atomic_store_n(&own->fp_size, size, __ATOMIC_RELEASE);
    __atomic_store_n(&fp->fp_size, size, __ATOMIC_RELEASE);
    __atomic_store_n(&kmem_started, 1, __ATOMIC_RELEASE);
    return KMEM_OK;
}

/* After the arena is up and init_lock is free: registering the fork
 * handlers and starting a thread may allocate. */
static void after_start(void)
{
    kmem_fork_register();
    if (kmem_debug & KMEM_DEBUG_QUARANTINE)
        (void)kmem_os_at_exit(kmem_debug_at_exit);
    kmem_export_start();
    kmem_reclaim_start();
}

int kmem_start(const struct kmem_options *options)
{
    kmem_lock_acquire(&init_lock);
    int rc = KMEM_ERR_BUSY;
    if (!__atomic_load_n(&kmem_started, __ATOMIC_RELAXED)) {
        rc = start_locked(options);
        start_failed = rc != KMEM_OK;
    }
    kmem_lock_release(&init_lock);
    if (rc == KMEM_OK)
        after_start();
    return rc;
}

bool kmem_ensure_init_slow(void)
{
    bool now = false;
    kmem_lock_acquire(&init_lock);
    if (!__atomic_load_n(&kmem_started, __ATOMIC_RELAXED) && !start_failed) {
        start_failed = start_locked(NULL) != KMEM_OK;
        now = !start_failed;
    }
    kmem_lock_release(&init_lock);
    if (now)
        after_start();
    return __atomic_load_n(&kmem_started, __ATOMIC_ACQUIRE);
}
