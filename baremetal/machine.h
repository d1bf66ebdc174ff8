/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * machine.h — the little of the emulated machine (qemu's RISC-V "virt",
 * one hart, machine mode) that the bare-metal programs use: the serial
 * port, the test device that ends the run with a status, the timer and its
 * interrupt, masking interrupts (spl, as the 4.3BSD kernel named it), the
 * retired-instruction counter, and printf-less output. For rv64 and rv32.
 */
#ifndef BAREMETAL_MACHINE_H
#define BAREMETAL_MACHINE_H

#include <stddef.h>
#include <stdint.h>

/* ---- output on the ns16550 UART at 0x10000000 ---------------------------- */
void out_write(const char *text, size_t len);
void out_str(const char *s);
void out_u64(uint64_t v);
void out_u64w(uint64_t v, int width); /* right-aligned in width columns */
void out_hex(uint64_t v);
size_t out_strlen(const char *s);

/* ---- the end of the run (the SiFive test device at 0x100000) ------------- */
_Noreturn void machine_exit(int code); /* 0: pass; 1..0xffff: fail with that code */
_Noreturn void machine_panic(const char *why);
/* kmem's abort hook: kmem has printed why through its write_error hook
 * (out_write fits that hook as it is, and machine_now_ns the clock's). */
void machine_kmem_abort(void);

/* ---- interrupts ----------------------------------------------------------- */
/* Mask interrupts; returns whether they were enabled (for splx). */
static inline unsigned long splhigh(void)
{
    unsigned long was;
    __asm__ volatile("csrrci %0, mstatus, 8" : "=r"(was) : : "memory");
    return was & 8;
}
static inline void splx(unsigned long was)
{
    if (was)
        __asm__ volatile("csrsi mstatus, 8" : : : "memory");
}
/* Let a pending interrupt be taken, then mask again. */
static inline void spl_window(void)
{
    __asm__ volatile("csrsi mstatus, 8\n\tnop\n\tcsrci mstatus, 8" : : : "memory");
}
/* Sleep until an enabled interrupt is pending (it is taken at the next
 * spl_window; with interrupts masked wfi still returns). */
static inline void machine_wfi(void)
{
    __asm__ volatile("wfi" : : : "memory");
}

extern volatile int machine_in_interrupt; /* nonzero inside trap_handler */

/* ---- time ----------------------------------------------------------------- */
#define MACHINE_TIMER_HZ 10000000u /* mtime on the virt machine: 10 MHz */
uint64_t machine_time(void);        /* mtime ticks */
uint64_t machine_now_ns(void);
void machine_delay_ms(unsigned ms); /* busy-wait */
/* Call fn from the timer interrupt once, after `us` microseconds (0:
 * disarm). fn runs with interrupts masked. */
void machine_timer_once(unsigned us, void (*fn)(void));
int machine_timer_armed(void);

/* Instructions retired so far (exact under qemu -icount shift=0). On
 * rv32 the counter is two CSRs: read high, low, high until the high half
 * holds still. */
static inline uint64_t machine_instret(void)
{
#if __riscv_xlen == 64
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v) : : "memory");
    return v;
#else
    uint32_t hi, lo, again;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi) : : "memory");
        __asm__ volatile("csrr %0, minstret" : "=r"(lo) : : "memory");
        __asm__ volatile("csrr %0, minstreth" : "=r"(again) : : "memory");
    } while (hi != again);
    return (uint64_t)hi << 32 | lo;
#endif
}

#endif /* BAREMETAL_MACHINE_H */
