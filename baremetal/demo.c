/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demo.c — kmem on a machine with no operating system: a tiny kernel for
 * qemu-system-riscv64 -machine virt -bios none. It starts kmem over a
 * fixed region of RAM with hooks that are honest for one hart with
 * interrupts, runs a workload of several types (one with a limit), shows
 * a KM_WAITOK caller put to sleep at the limit and woken by a free made
 * in a timer interrupt, prints the `vmstat -m` tables on the UART, runs
 * the freestanding test suite (tests/freestanding/suite.h, the same checks
 * the host runs), and ends the run through the test device: pass or fail.
 *
 * Interrupts and kmem, as in the 4.3BSD kernel: the kernel calls kmem
 * with interrupts masked (splhigh ... splx, what 1988's malloc did with
 * splimp), and an interrupt handler runs masked too, so kmem's locks are
 * never contended on one hart. The one place kmem waits is the wait hook,
 * and that is where the mask is lifted (as tsleep lowered the priority):
 * it sleeps (wfi) until an interrupt has come and changed the word it
 * waits on. A wait that could never end — inside an interrupt handler, or
 * with no interrupt armed — stops the machine with a message instead of
 * hanging.
 */
#include <kmem_freestanding.h>

#include "freestanding/suite.h"
#include "machine.h"

#define REGION_BYTES ((size_t)64 << 20)
static char region[REGION_BYTES] __attribute__((section(".heap"), aligned(4096)));

KMEM_TYPE_DEFINE(M_PROC, "proc", "process table entries");
KMEM_TYPE_DEFINE(M_MBUF, "mbuf", "network buffers, limited to 64 KiB");
KMEM_TYPE_DEFINE(M_IOBUF, "iobuf", "disk I/O buffers");

static int failures;

static void check(int ok, const char *what)
{
    out_str(ok ? "  ok    " : "  FAIL  ");
    out_str(what);
    out_str("\n");
    failures += !ok;
}

/* ---- the hooks ------------------------------------------------------------ */

static struct {
    uint64_t waits;  /* times kmem slept in the wait hook */
    uint64_t wakes;  /* times kmem called the wake hook */
} hook_counts;
static volatile size_t decommitted;

static void hook_wait(uint32_t *word, uint32_t expected)
{
    if (machine_in_interrupt)
        machine_panic("kmem would wait inside an interrupt handler: nothing could wake it");
    unsigned long s = splhigh();
    hook_counts.waits++;
    while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == expected) {
        if (!machine_timer_armed())
            machine_panic("kmem waits, and no interrupt is armed that could wake it");
        machine_wfi();  /* returns once the timer is pending, masked or not */
        spl_window();   /* take it: its handler may free and wake */
    }
    splx(s);
}

/* The only other flow of control on one hart is an interrupt handler, and
 * the sleeper it would wake is the code it interrupted, which looks at its
 * word again as soon as the handler returns: nothing to do but count. */
static void hook_wake(uint32_t *word, int all)
{
    (void)word;
    (void)all;
    hook_counts.wakes++;
}

/* No MMU in use: nothing to give back, but count what kmem offers. */
static void hook_decommit(void *addr, size_t len)
{
    (void)addr;
    decommitted += len;
}

static const struct kmem_hooks hooks = {
    .wait = hook_wait,
    .wake = hook_wake,
    .write_error = out_write,
    .abort = machine_kmem_abort,
    .now_ns = machine_now_ns,
    .decommit = hook_decommit,
    .decommit_zeroes = 0,
    .region_zeroed = 0,
    .seed = 0x4d634b7573696b21u,
};

/* The kernel's calls into kmem, at splhigh. */
static void *kmalloc(size_t size, struct kmem_type *type, int flags)
{
    unsigned long s = splhigh();
    void *p = kmem_malloc(size, type, flags);
    splx(s);
    return p;
}

static void *krealloc(void *p, size_t size, struct kmem_type *type, int flags)
{
    unsigned long s = splhigh();
    void *q = kmem_realloc(p, size, type, flags);
    splx(s);
    return q;
}

static void kfree(void *p, struct kmem_type *type)
{
    unsigned long s = splhigh();
    kmem_free(p, type);
    splx(s);
}

static void stats_write(void *arg, const char *text, size_t len)
{
    (void)arg;
    out_write(text, len);
}

/* ---- the workload --------------------------------------------------------- */

enum { NPROC = 100, NIOBUF = 12, MBUF_SIZE = 256, MBUF_LIMIT = 64 << 10 };
enum { NMBUF = MBUF_LIMIT / MBUF_SIZE };
static void *procs[NPROC], *iobufs[NIOBUF], *mbufs[NMBUF + 1];
static void *volatile irq_frees;  /* the block the timer interrupt will free */
static volatile int irq_freed;

/* The timer interrupt: a driver done with a buffer gives it back. */
static void timer_frees_mbuf(void)
{
    void *p = irq_frees;
    irq_frees = NULL;
    kmem_free(p, M_MBUF); /* masked already: an interrupt handler */
    irq_freed++;
}

static void workload(void)
{
    out_str("workload: proc (small, unlimited), iobuf (large), mbuf (limit 64 KiB)\n");
    for (int i = 0; i < NPROC; i++)
        procs[i] = kmalloc(480, M_PROC, KM_WAITOK | KM_ZERO);
    for (int i = 0; i < NIOBUF; i++)
        iobufs[i] = kmalloc((size_t)(16 + 8 * i) << 10, M_IOBUF, KM_NOWAIT);
    int ok = 1;
    for (int i = 0; i < NIOBUF; i++)
        ok &= iobufs[i] != NULL;
    check(ok, "iobuf: twelve large buffers, 16 to 104 KiB");
    iobufs[0] = krealloc(iobufs[0], 200 << 10, M_IOBUF, KM_NOWAIT);
    check(iobufs[0] != NULL && kmem_usable_size(iobufs[0]) == 200 << 10,
          "iobuf: one grown to 200 KiB by kmem_realloc");
    for (int i = 0; i < NPROC; i += 2) {
        kfree(procs[i], M_PROC);
        procs[i] = NULL;
    }

    kmem_type_setlimit(M_MBUF, MBUF_LIMIT);
    int n = 0;
    while (n <= NMBUF && (mbufs[n] = kmalloc(MBUF_SIZE, M_MBUF, KM_NOWAIT)) != NULL)
        n++;
    check(n == NMBUF, "mbuf: KM_NOWAIT gets NULL exactly at the limit (256 of 256 bytes)");

    /* At the limit a KM_WAITOK caller sleeps; the timer interrupt frees
     * one buffer, which wakes it. */
    irq_frees = mbufs[0];
    mbufs[0] = NULL;
    uint64_t waits = hook_counts.waits, wakes = hook_counts.wakes;
    uint64_t t0 = machine_time();
    machine_timer_once(2000, timer_frees_mbuf);
    void *p = kmalloc(MBUF_SIZE, M_MBUF, KM_WAITOK);
    uint64_t waited_us = (machine_time() - t0) / (MACHINE_TIMER_HZ / 1000000);
    mbufs[0] = p;
    check(p != NULL && irq_freed == 1, "mbuf: KM_WAITOK at the limit returns after the "
                                       "timer interrupt frees one");
    check(hook_counts.waits > waits && hook_counts.wakes > wakes,
          "mbuf: it slept in the wait hook and the free called the wake hook");
    out_str("        slept ");
    out_u64(waited_us);
    out_str(" us (the timer was set to 2000 us); wait hook entered ");
    out_u64(hook_counts.waits - waits);
    out_str(" time(s)\n");
    struct kmem_type_stats ts;
    kmem_type_stats(M_MBUF, &ts);
    check(ts.memuse == MBUF_LIMIT && ts.limblocks >= 2,
          "mbuf: at its limit again, two requests counted as blocked");
    check(kmem_check() == 0, "kmem_check: every invariant holds with the workload live");

    out_str("\n");
    kmem_stats_print(stats_write, NULL, 0);
    out_str("\n");

    for (int i = 0; i < NPROC; i++)
        if (procs[i] != NULL)
            kfree(procs[i], M_PROC);
    for (int i = 0; i < NIOBUF; i++)
        kfree(iobufs[i], M_IOBUF);
    for (int i = 0; i < NMBUF; i++)
        kfree(mbufs[i], M_MBUF);
    kmem_type_setlimit(M_MBUF, 0);
    check(kmem_check() == 0, "kmem_check: every invariant holds with everything freed");
}

/* ---- the suite -------------------------------------------------------------- */

static void suite_sleep(unsigned ms)
{
    machine_delay_ms(ms);
}

static void run_suite(void)
{
    out_str("the freestanding test suite (tests/freestanding/suite.h):\n");
    struct fs_host host = { region, REGION_BYTES, &hooks, out_write, suite_sleep,
                            &decommitted, machine_time(), 200000 };
    /* Without a periodic tick nothing interrupts the suite; its requests
     * are KM_NOWAIT and its type has no limit. */
    int bad = fs_suite_run(&host);
    check(bad == 0, "suite: every check held");
}

void kmain(void);

void kmain(void)
{
    out_str(__riscv_xlen == 64 ? "kmem on bare metal: qemu virt, one rv64 hart, machine mode, no OS\n"
                               : "kmem on bare metal: qemu virt, one rv32 hart, machine mode, no OS\n");
    out_str("region of ");
    out_u64(REGION_BYTES >> 20);
    out_str(" MiB at ");
    out_hex((uint64_t)(uintptr_t)region);
    out_str("\n");
    int rc = kmem_freestanding_init(region, REGION_BYTES, &hooks);
    check(rc == KMEM_OK, "kmem_freestanding_init");
    if (rc != KMEM_OK)
        machine_exit(1);
    workload();
    run_suite();
    out_str(failures == 0 ? "baremetal: all passed\n" : "baremetal: FAILED\n");
    machine_exit(failures == 0 ? 0 : 1);
}
