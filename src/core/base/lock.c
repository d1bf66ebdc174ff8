/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lock.c — the contended half of kmem_lock (see lock.h).
 */
#include "core/base/lock.h"

#include "platform/platform.h"

void kmem_lock_wait(kmem_lock *lock, uint32_t self)
{
    /* Spin briefly: kmem holds its locks for short, bounded work. */
    for (int i = 0; i < 100; i++) {
        uint32_t expected = 0;
        if (__atomic_load_n(&lock->lk_word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&lock->lk_word, &expected, self, false,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    /* Mark it contended, keeping the holder's id, and sleep. Once woken,
     * take it marked contended: other sleepers may remain. */
    for (;;) {
        uint32_t word = __atomic_load_n(&lock->lk_word, __ATOMIC_RELAXED);
        if (word == 0) {
            if (__atomic_compare_exchange_n(&lock->lk_word, &word, self | KMEM_LOCK_WAITERS,
                                            false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
            continue;
        }
        if (!(word & KMEM_LOCK_WAITERS) &&
            !__atomic_compare_exchange_n(&lock->lk_word, &word, word | KMEM_LOCK_WAITERS,
                                         false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        kmem_os_wait(&lock->lk_word, word | KMEM_LOCK_WAITERS);
    }
}

void kmem_lock_wake(kmem_lock *lock)
{
    kmem_os_wake(&lock->lk_word, false);
}

bool kmem_lock_take_within(kmem_lock *lock, uint32_t ms)
{
    for (uint32_t waited = 0;; waited++) {
        if (kmem_lock_try(lock))
            return true;
        if (waited == ms)
            return false;
        kmem_os_sleep_ms(1);
    }
}
