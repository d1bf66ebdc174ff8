/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * atomic64.c — the 64-bit atomic operations the kmem core calls on rv32,
 * which has no 64-bit atomic instructions, so the compiler calls these
 * (libatomic's names) instead. On one hart an operation is atomic when
 * interrupts are masked around it: splhigh ... splx. On rv64 the compiler
 * inlines them and this file is empty.
 */
#include <stdbool.h>
#include <stdint.h>

#include "machine.h"

#if __riscv_xlen == 32
/* The names are the compiler's own built-ins; asm labels define them
 * without redeclaring those. */
uint64_t bm_atomic_load_8(const volatile void *p, int order) __asm__("__atomic_load_8");
void bm_atomic_store_8(volatile void *p, uint64_t v, int order) __asm__("__atomic_store_8");
uint64_t bm_atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
    __asm__("__atomic_fetch_add_8");
uint64_t bm_atomic_fetch_sub_8(volatile void *p, uint64_t v, int order)
    __asm__("__atomic_fetch_sub_8");
bool bm_atomic_compare_exchange_8(volatile void *p, void *expected, uint64_t desired,
                                  int success, int failure)
    __asm__("__atomic_compare_exchange_8");

uint64_t bm_atomic_load_8(const volatile void *p, int order)
{
    (void)order;
    unsigned long s = splhigh();
    uint64_t v = *(const volatile uint64_t *)p;
    splx(s);
    return v;
}

void bm_atomic_store_8(volatile void *p, uint64_t v, int order)
{
    (void)order;
    unsigned long s = splhigh();
    *(volatile uint64_t *)p = v;
    splx(s);
}

uint64_t bm_atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
{
    (void)order;
    unsigned long s = splhigh();
    uint64_t old = *(volatile uint64_t *)p;
    *(volatile uint64_t *)p = old + v;
    splx(s);
    return old;
}

/* Subtracting v is adding its two's complement, modulo 2^64. */
uint64_t bm_atomic_fetch_sub_8(volatile void *p, uint64_t v, int order)
{
    return bm_atomic_fetch_add_8(p, 0 - v, order);
}

bool bm_atomic_compare_exchange_8(volatile void *p, void *expected, uint64_t desired,
                                  int success, int failure)
{
    (void)success;
    (void)failure;
    unsigned long s = splhigh();
    uint64_t now = *(volatile uint64_t *)p;
    bool same = now == *(uint64_t *)expected;
    if (same)
        *(volatile uint64_t *)p = desired;
    else
        *(uint64_t *)expected = now;
    splx(s);
    return same;
}
#else
typedef int atomic64_unneeded; /* rv64: the compiler inlines them */
#endif
