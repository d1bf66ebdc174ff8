/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lock.h — kmem's mutex: one 32-bit word holding the holder's thread id
 * (0 when free; the top bit set when someone may be asleep on it). Taking
 * it is a compare-and-swap from 0 to the caller's id, then a short spin,
 * then sleeping through the platform's wait/wake (a futex on Linux, the
 * caller's hooks when freestanding).
 *
 * Because the word names its holder from the moment it is taken, fork()
 * preparation can tell a lock held by the forking thread itself — a fork
 * from a signal handler that interrupted kmem — from one held by another
 * thread, and not wait for itself (see core/alloc/fork.c).
 */
#ifndef KMEM_LOCK_H
#define KMEM_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/config.h"
#include "platform/platform.h"

typedef struct {
    uint32_t lk_word; /* [A] holder's thread id | KMEM_LOCK_WAITERS, 0 when free */
    uint32_t lk_skip; /* [A] thread whose fork() did not take the lock
                         because it already held it */
} kmem_lock;

#define KMEM_LOCK_INIT    { 0, 0 }
#define KMEM_LOCK_WAITERS 0x80000000u

/* The calling thread's id (nonzero; the platform keeps it at hand). */
static inline uint32_t kmem_thread_id(void)
{
    return kmem_os_thread_id();
}

void kmem_lock_wait(kmem_lock *lock, uint32_t self);
void kmem_lock_wake(kmem_lock *lock);

static inline void kmem_lock_acquire(kmem_lock *lock)
{
    uint32_t self = kmem_thread_id(), expected = 0;
    if (!__atomic_compare_exchange_n(&lock->lk_word, &expected, self, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        kmem_lock_wait(lock, self);
}

static inline bool kmem_lock_try(kmem_lock *lock)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&lock->lk_word, &expected, kmem_thread_id(), false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void kmem_lock_release(kmem_lock *lock)
{
    if (__atomic_exchange_n(&lock->lk_word, 0, __ATOMIC_RELEASE) & KMEM_LOCK_WAITERS)
        kmem_lock_wake(lock);
}

static inline bool kmem_lock_held_by_me(const kmem_lock *lock)
{
    return (__atomic_load_n(&lock->lk_word, __ATOMIC_RELAXED) & ~KMEM_LOCK_WAITERS) ==
           kmem_thread_id();
}

/* In the child only the forking thread exists: every lock is free. */
static inline void kmem_lock_fork_child(kmem_lock *lock)
{
    __atomic_store_n(&lock->lk_skip, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&lock->lk_word, 0, __ATOMIC_RELAXED);
}

/*
 * fork(), step by step (core/alloc/fork.c drives them over every lock, in
 * the lock order):
 *
 *   KMEM_FORK_ASK          does the forking thread hold this lock? Then
 *                          fork() came from a signal handler that
 *                          interrupted kmem.
 *   KMEM_FORK_PREPARE      take the lock, unless the forking thread holds
 *                          it already (waiting would never end): then it
 *                          is skipped.
 *   KMEM_FORK_PREPARE_INTERRUPTED
 *                          the same, after an interruption: another
 *                          thread may hold an outer lock while it waits
 *                          for one the forking thread holds, so a lock
 *                          another thread holds is waited for at most
 *                          KMEM_FORK_WAIT_MS, then skipped.
 *   KMEM_FORK_PARENT       release what PREPARE took.
 *   KMEM_FORK_CHILD        reset it (only the forking thread lives on).
 *
 * kmem_lock_fork returns, for ASK, whether the caller holds the lock; for
 * CHILD, whether it was skipped: the data it guards may then be half
 * changed, and its owner repairs it.
 */
enum kmem_fork_phase {
    KMEM_FORK_ASK,
    KMEM_FORK_PREPARE,
    KMEM_FORK_PREPARE_INTERRUPTED,
    KMEM_FORK_PARENT,
    KMEM_FORK_CHILD
};

#define KMEM_FORK_WAIT_MS 20

/* Take the lock if it comes free within about `ms` milliseconds. */
bool kmem_lock_take_within(kmem_lock *lock, uint32_t ms);

static inline bool kmem_lock_fork(kmem_lock *lock, enum kmem_fork_phase phase)
{
    uint32_t self = kmem_thread_id();
    switch (phase) {
    case KMEM_FORK_ASK:
        return kmem_lock_held_by_me(lock);
    case KMEM_FORK_PREPARE:
    case KMEM_FORK_PREPARE_INTERRUPTED:
        if (kmem_lock_held_by_me(lock) ||
            (phase == KMEM_FORK_PREPARE_INTERRUPTED &&
             !kmem_lock_take_within(lock, KMEM_FORK_WAIT_MS)))
            __atomic_store_n(&lock->lk_skip, self, __ATOMIC_RELAXED);
        else if (phase == KMEM_FORK_PREPARE)
            kmem_lock_acquire(lock);
        return false;
    case KMEM_FORK_PARENT:
        if (__atomic_load_n(&lock->lk_skip, __ATOMIC_RELAXED) == self)
            __atomic_store_n(&lock->lk_skip, 0, __ATOMIC_RELAXED);
        else
            kmem_lock_release(lock);
        return false;
    case KMEM_FORK_CHILD:
    default: {
        bool skipped = __atomic_load_n(&lock->lk_skip, __ATOMIC_RELAXED) != 0;
        kmem_lock_fork_child(lock);
        return skipped;
    }
    }
}

#endif /* KMEM_LOCK_H */
