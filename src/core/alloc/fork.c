/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork.c — fork(): every lock is taken before, in the lock order (export,
 * types, thread-cache registry, buckets, arena), so that the child gets
 * consistent lists; the child then resets them all, being the only
 * thread, and hands back the caches of the threads that did not survive.
 * (The reclaim lock, outermost, guards no data: not taken, only reset.)
 *
 * A lock the forking thread itself holds — fork() from a signal handler
 * that interrupted kmem — is not waited for: the child resets it anyway,
 * and the operation that was interrupted may leave one block unusable in
 * the child (the policy glibc's malloc follows too: the child can
 * allocate and free). What other threads had in flight outside any lock
 * (one pop or push, a large block and its count) can leave the child's
 * statistics off by that much; kmem_check says so rather than fail.
 */
#include "core/alloc/fork.h"

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
    kmem_export_fork(KMEM_FORK_PREPARE);
    kmem_types_fork(KMEM_FORK_PREPARE);
    kmem_tcache_fork(KMEM_FORK_PREPARE);
    kmem_buckets_fork(KMEM_FORK_PREPARE);
    kmem_arena_fork(KMEM_FORK_PREPARE);
}

static void fork_parent(void)
{
    kmem_arena_fork(KMEM_FORK_PARENT);
    kmem_buckets_fork(KMEM_FORK_PARENT);
    kmem_tcache_fork(KMEM_FORK_PARENT);
    kmem_types_fork(KMEM_FORK_PARENT);
    kmem_export_fork(KMEM_FORK_PARENT);
}

static void fork_child(void)
{
    kmem_reclaim_fork(KMEM_FORK_CHILD);
    kmem_arena_fork(KMEM_FORK_CHILD);
    kmem_buckets_fork(KMEM_FORK_CHILD);
    kmem_types_fork(KMEM_FORK_CHILD);
    kmem_tcache_fork(KMEM_FORK_CHILD);
    kmem_threads_fork_child(); /* gives pieces back to buckets */
    kmem_export_fork(KMEM_FORK_CHILD); /* last too: gives pages back */
}

void kmem_fork_register(void)
{
    (void)kmem_os_at_fork(fork_prepare, fork_parent, fork_child);
}
