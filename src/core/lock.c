/*
 * lock.c — the contended half of kmem_lock (see lock.h).
 */
#include "lock.h"

#include "../platform/platform.h"

void kmem_lock_wait(kmem_lock *lock)
{
    /* Spin briefly: kmem holds its locks for short, bounded work. */
    for (int i = 0; i < 100; i++) {
        if (__atomic_load_n(&lock->lk_word, __ATOMIC_RELAXED) == 0) {
            uint32_t expected = 0;
            if (__atomic_compare_exchange_n(&lock->lk_word, &expected, 1, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    /* Mark it contended and sleep until it is handed back. */
    while (__atomic_exchange_n(&lock->lk_word, 2, __ATOMIC_ACQUIRE) != 0)
        kmem_os_wait(&lock->lk_word, 2);
}

void kmem_lock_wake(kmem_lock *lock)
{
    kmem_os_wake(&lock->lk_word, false);
}
