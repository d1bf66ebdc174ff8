/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * machine.c — the devices of qemu's virt machine that the bare-metal
 * programs use (see machine.h): the UART, the test finisher, the CLINT
 * timer, and the trap handler that start.S calls for every interrupt and
 * exception.
 */
#include "machine.h"

#define UART0       ((volatile uint8_t *)0x10000000u)
#define UART_THR    0
#define UART_LSR    5
#define UART_LSR_THRE 0x20
#define TEST_DEVICE ((volatile uint32_t *)0x100000u)
#define TEST_PASS   0x5555u
#define TEST_FAIL   0x3333u
#define CLINT_MTIMECMP ((volatile uint32_t *)0x2004000u) /* hart 0: low, high */
#define CLINT_MTIME    ((volatile uint32_t *)0x200bff8u)
#define MIE_MTIE    (1u << 7)
#define MCAUSE_INTERRUPT ((uintptr_t)1 << (__riscv_xlen - 1))
#define MCAUSE_MTIMER 7

volatile int machine_in_interrupt;
static void (*timer_fn)(void);

/* ---- output ---------------------------------------------------------------- */

static void uart_putc(char c)
{
    while ((UART0[UART_LSR] & UART_LSR_THRE) == 0)
        ;
    UART0[UART_THR] = (uint8_t)c;
}

void out_write(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            uart_putc('\r');
        uart_putc(text[i]);
    }
}

size_t out_strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

void out_str(const char *s)
{
    out_write(s, out_strlen(s));
}

void out_u64w(uint64_t v, int width)
{
    char buf[24];
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while ((int)sizeof buf - i < width && i > 0)
        buf[--i] = ' ';
    out_write(buf + i, sizeof buf - (size_t)i);
}

void out_u64(uint64_t v)
{
    out_u64w(v, 0);
}

void out_hex(uint64_t v)
{
    char buf[18] = "0x";
    for (int i = 0; i < 16; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
    out_write(buf, sizeof buf);
}

/* ---- the end -------------------------------------------------------------- */

_Noreturn void machine_exit(int code)
{
    *TEST_DEVICE = code == 0 ? TEST_PASS : ((uint32_t)code << 16) | TEST_FAIL;
    for (;;)
        machine_wfi();
}

_Noreturn void machine_panic(const char *why)
{
    (void)splhigh();
    out_str("\npanic: ");
    out_str(why);
    out_str("\n");
    machine_exit(2);
}

void machine_kmem_abort(void)
{
    machine_panic("kmem stopped (see the message above)");
}

/* ---- time ----------------------------------------------------------------- */

/* The CLINT's 64-bit registers, a 32-bit half at a time (all rv32 can
 * do; the same code serves rv64): the high half read twice, so that a
 * carry between the two reads is not missed. */
uint64_t machine_time(void)
{
    uint32_t hi, lo;
    do {
        hi = CLINT_MTIME[1];
        lo = CLINT_MTIME[0];
    } while (CLINT_MTIME[1] != hi);
    return (uint64_t)hi << 32 | lo;
}

/* The high half first set past any time, so that no interrupt fires
 * between the two writes. */
static void set_timecmp(uint64_t when)
{
    CLINT_MTIMECMP[1] = 0xffffffffu;
    CLINT_MTIMECMP[0] = (uint32_t)when;
    CLINT_MTIMECMP[1] = (uint32_t)(when >> 32);
}

uint64_t machine_now_ns(void)
{
    return machine_time() * (1000000000u / MACHINE_TIMER_HZ);
}

void machine_delay_ms(unsigned ms)
{
    uint64_t end = machine_time() + (uint64_t)ms * (MACHINE_TIMER_HZ / 1000);
    while (machine_time() < end)
        ;
}

void machine_timer_once(unsigned us, void (*fn)(void))
{
    unsigned long s = splhigh();
    if (us == 0 || fn == NULL) {
        __asm__ volatile("csrc mie, %0" : : "r"(MIE_MTIE));
        timer_fn = NULL;
    } else {
        timer_fn = fn;
        set_timecmp(machine_time() + (uint64_t)us * (MACHINE_TIMER_HZ / 1000000));
        __asm__ volatile("csrs mie, %0" : : "r"(MIE_MTIE));
    }
    splx(s);
}

int machine_timer_armed(void)
{
    unsigned long mie;
    __asm__ volatile("csrr %0, mie" : "=r"(mie));
    return (mie & MIE_MTIE) != 0;
}

/* ---- traps ----------------------------------------------------------------- */

void trap_handler(uintptr_t mcause, uintptr_t mepc, uintptr_t mtval);

void trap_handler(uintptr_t mcause, uintptr_t mepc, uintptr_t mtval)
{
    if (mcause == (MCAUSE_INTERRUPT | MCAUSE_MTIMER)) {
        /* One shot: disarm, then run the callback with interrupts masked
         * (the hardware cleared mstatus.MIE on entry). */
        __asm__ volatile("csrc mie, %0" : : "r"(MIE_MTIE));
        void (*fn)(void) = timer_fn;
        timer_fn = NULL;
        machine_in_interrupt++;
        if (fn != NULL)
            fn();
        machine_in_interrupt--;
        return;
    }
    out_str("\ntrap: mcause ");
    out_hex(mcause);
    out_str(" mepc ");
    out_hex(mepc);
    out_str(" mtval ");
    out_hex(mtval);
    machine_panic("unexpected trap");
}
