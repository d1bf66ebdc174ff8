/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork.c — fork(): every lock is taken before, in the lock order (export,
 * types, the debug quarantine, thread-cache registry, buckets, arena), so
 * that the child gets consistent lists; the child then resets them all,
 * being the only thread, and hands back the caches of the threads that
 * did not survive.
 * (The reclaim lock, outermost, guards no data: not taken, only reset.)
 *
 * A fork() from a signal handler that interrupted kmem finds a lock its
 * own thread holds: that one is not waited for (it would never come
 * free), and nor, for more than KMEM_FORK_WAIT_MS, is any other (its
 * holder may be waiting for the one this thread holds). In the child the
 * data of every lock so skipped may be half changed: the arena and the
 * buckets rebuild theirs from the page descriptors and the marks in the
 * pieces, this thread's cache keeps only the pieces that belong in it,
 * and KMEM_DEBUG's quarantine lets go of what it held (the types and the
 * registry are only ever appended to or unlinked in an order that leaves
 * them whole; the published record is thrown away). What was being done
 * is lost: the pieces and pages it had in hand stay out of use in the
 * child, and none is ever handed out twice. The child can allocate and
 * free as before.
 *
 * What other threads had in flight outside any lock (one pop or push, a
 * large block and its count), and what a repair left out of use, can
 * leave the child's statistics off by that much; kmem_check says so
 * rather than fail.
 */
#include "core/alloc/fork.h"

#include "core/alloc/debug.h"
#include "core/alloc/export.h"
#include "core/alloc/reclaim.h"
#include "core/alloc/threads.h"
#include "core/arena/arena.h"
#include "core/bucket/bucket.h"
#include "core/tcache/tcache.h"
#include "core/type/type.h"
#include "platform/platform.h"

static void fork_prepare(void)
{
    /* Every question asked, none cut short: each only reads its locks. */
    bool mine = kmem_export_fork(KMEM_FORK_ASK);
    mine |= kmem_types_fork(KMEM_FORK_ASK);
    mine |= kmem_debug_fork(KMEM_FORK_ASK);
    mine |= kmem_tcache_fork(KMEM_FORK_ASK);
    mine |= kmem_buckets_fork(KMEM_FORK_ASK);
    mine |= kmem_arena_fork(KMEM_FORK_ASK);
    enum kmem_fork_phase take = mine ? KMEM_FORK_PREPARE_INTERRUPTED : KMEM_FORK_PREPARE;
    kmem_export_fork(take);
    kmem_types_fork(take);
    kmem_debug_fork(take);
    kmem_tcache_fork(take);
    kmem_buckets_fork(take);
    kmem_arena_fork(take);
}

static void fork_parent(void)
{
    kmem_arena_fork(KMEM_FORK_PARENT);
    kmem_buckets_fork(KMEM_FORK_PARENT);
    kmem_tcache_fork(KMEM_FORK_PARENT);
    kmem_debug_fork(KMEM_FORK_PARENT);
    kmem_types_fork(KMEM_FORK_PARENT);
    kmem_export_fork(KMEM_FORK_PARENT);
}

static void fork_child(void)
{
    kmem_reclaim_fork(KMEM_FORK_CHILD);
    /* The arena first: a bucket's rebuild reads its descriptors. */
    bool repaired = kmem_arena_fork(KMEM_FORK_CHILD);
    repaired |= kmem_buckets_fork(KMEM_FORK_CHILD);
    kmem_types_fork(KMEM_FORK_CHILD);
    repaired |= kmem_debug_fork(KMEM_FORK_CHILD);
    kmem_tcache_fork(KMEM_FORK_CHILD);
    if (repaired)
        kmem_tcache_repair_self();
    kmem_threads_fork_child(); /* gives pieces back to buckets */
    kmem_export_fork(KMEM_FORK_CHILD); /* last too: gives pages back */
}

void kmem_fork_register(void)
{
    (void)kmem_os_at_fork(fork_prepare, fork_parent, fork_child);
}
