/*
 * lock.h — kmem's mutex: one 32-bit word, a compare-and-swap when free, a
 * short spin, then sleeping through the platform's wait/wake (a futex on
 * Linux, the caller's hooks when freestanding). 0: free; 1: held; 2: held
 * and someone may be asleep on it.
 */
#ifndef KMEM_LOCK_H
#define KMEM_LOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t lk_word;
} kmem_lock;

#define KMEM_LOCK_INIT { 0 }

void kmem_lock_wait(kmem_lock *lock);

static inline void kmem_lock_acquire(kmem_lock *lock)
{
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&lock->lk_word, &expected, 1, false,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        kmem_lock_wait(lock);
}

static inline bool kmem_lock_try(kmem_lock *lock)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&lock->lk_word, &expected, 1, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void kmem_lock_wake(kmem_lock *lock);

static inline void kmem_lock_release(kmem_lock *lock)
{
    if (__atomic_exchange_n(&lock->lk_word, 0, __ATOMIC_RELEASE) == 2)
        kmem_lock_wake(lock);
}

/* After fork() in the child: the lock was taken by the parent's prepare
 * handler on behalf of a thread that does not exist here. */
static inline void kmem_lock_reset(kmem_lock *lock)
{
    __atomic_store_n(&lock->lk_word, 0, __ATOMIC_RELAXED);
}

#endif /* KMEM_LOCK_H */
