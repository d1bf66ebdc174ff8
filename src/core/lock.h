/*
 * lock.h — kmem's mutex: one 32-bit word, a compare-and-swap when free, a
 * short spin, then sleeping through the platform's wait/wake (a futex on
 * Linux, the caller's hooks when freestanding). 0: free; 1: held; 2: held
 * and someone may be asleep on it.
 *
 * Each lock also records its holder (a per-thread address), so that fork()
 * preparation can tell a lock held by the forking thread itself — a fork
 * from a signal handler that interrupted kmem — from one held by another
 * thread (see init.c).
 */
#ifndef KMEM_LOCK_H
#define KMEM_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

typedef struct {
    uint32_t lk_word;
    uintptr_t lk_owner; /* [A] holder's kmem_thread_id(), 0 when free */
    uintptr_t lk_skip;  /* [A] thread whose fork() did not take the lock
                           because it already held it */
} kmem_lock;

#define KMEM_LOCK_INIT { 0, 0, 0 }

/* A number unique to the calling thread while it lives. */
static inline uintptr_t kmem_thread_id(void)
{
    return (uintptr_t)&KMEM_ABI(kmem_tcache);
}

void kmem_lock_wait(kmem_lock *lock);
void kmem_lock_wake(kmem_lock *lock);

static inline void kmem_lock_acquire(kmem_lock *lock)
{
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&lock->lk_word, &expected, 1, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        kmem_lock_wait(lock);
    __atomic_store_n(&lock->lk_owner, kmem_thread_id(), __ATOMIC_RELAXED);
}

static inline bool kmem_lock_try(kmem_lock *lock)
{
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&lock->lk_word, &expected, 1, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return false;
    __atomic_store_n(&lock->lk_owner, kmem_thread_id(), __ATOMIC_RELAXED);
    return true;
}

static inline void kmem_lock_release(kmem_lock *lock)
{
    __atomic_store_n(&lock->lk_owner, 0, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&lock->lk_word, 0, __ATOMIC_RELEASE) == 2)
        kmem_lock_wake(lock);
}

/* fork(): take the lock unless the forking thread already holds it (then
 * the fork interrupted kmem, and waiting would never end). */
static inline void kmem_lock_fork_prepare(kmem_lock *lock)
{
    uintptr_t self = kmem_thread_id();
    if (__atomic_load_n(&lock->lk_owner, __ATOMIC_RELAXED) == self)
        __atomic_store_n(&lock->lk_skip, self, __ATOMIC_RELAXED);
    else
        kmem_lock_acquire(lock);
}

static inline void kmem_lock_fork_parent(kmem_lock *lock)
{
    if (__atomic_load_n(&lock->lk_skip, __ATOMIC_RELAXED) == kmem_thread_id())
        __atomic_store_n(&lock->lk_skip, 0, __ATOMIC_RELAXED);
    else
        kmem_lock_release(lock);
}

/* In the child only the forking thread exists: every lock is free. */
static inline void kmem_lock_fork_child(kmem_lock *lock)
{
    __atomic_store_n(&lock->lk_owner, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&lock->lk_skip, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&lock->lk_word, 0, __ATOMIC_RELAXED);
}

enum kmem_fork_phase { KMEM_FORK_PREPARE, KMEM_FORK_PARENT, KMEM_FORK_CHILD };

static inline void kmem_lock_fork(kmem_lock *lock, enum kmem_fork_phase phase)
{
    if (phase == KMEM_FORK_PREPARE)
        kmem_lock_fork_prepare(lock);
    else if (phase == KMEM_FORK_PARENT)
        kmem_lock_fork_parent(lock);
    else
        kmem_lock_fork_child(lock);
}

#endif /* KMEM_LOCK_H */
