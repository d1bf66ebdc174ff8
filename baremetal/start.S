/*
 * start.S — the first instructions on the emulated RISC-V machine (qemu
 * -machine virt -bios none starts hart 0 at 0x80000000 in machine mode):
 * park every other hart, set up the stack, clear .bss, turn on the FPU
 * where there is one (rv64gc), point mtvec at the trap entry, and call
 * kmain. The trap entry saves the registers a C function may clobber,
 * calls trap_handler (machine.c) and returns with mret. For rv64 and
 * rv32 alike: REG_S/REG_L store and load a register.
 */
#if __riscv_xlen == 64
#define REG_S sd
#define REG_L ld
#define REGBYTES 8
#else
#define REG_S sw
#define REG_L lw
#define REGBYTES 4
#endif
    .section .text.start, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    REG_S   zero, 0(t0)
    addi    t0, t0, REGBYTES
    j       1b
2:
#ifdef __riscv_flen
    li      t0, (1 << 13)           /* mstatus.FS = initial */
    csrs    mstatus, t0
    csrw    fcsr, zero
#endif
    la      t0, trap_entry
    csrw    mtvec, t0
    call    kmain
park:
    wfi
    j       park

    .text
    .balign 4
    .globl trap_entry
trap_entry:
    addi    sp, sp, -16*REGBYTES
    REG_S   ra, 0*REGBYTES(sp)
    REG_S   t0, 1*REGBYTES(sp)
    REG_S   t1, 2*REGBYTES(sp)
    REG_S   t2, 3*REGBYTES(sp)
    REG_S   a0, 4*REGBYTES(sp)
    REG_S   a1, 5*REGBYTES(sp)
    REG_S   a2, 6*REGBYTES(sp)
    REG_S   a3, 7*REGBYTES(sp)
    REG_S   a4, 8*REGBYTES(sp)
    REG_S   a5, 9*REGBYTES(sp)
    REG_S   a6, 10*REGBYTES(sp)
    REG_S   a7, 11*REGBYTES(sp)
    REG_S   t3, 12*REGBYTES(sp)
    REG_S   t4, 13*REGBYTES(sp)
    REG_S   t5, 14*REGBYTES(sp)
    REG_S   t6, 15*REGBYTES(sp)
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    trap_handler
    REG_L   ra, 0*REGBYTES(sp)
    REG_L   t0, 1*REGBYTES(sp)
    REG_L   t1, 2*REGBYTES(sp)
    REG_L   t2, 3*REGBYTES(sp)
    REG_L   a0, 4*REGBYTES(sp)
    REG_L   a1, 5*REGBYTES(sp)
    REG_L   a2, 6*REGBYTES(sp)
    REG_L   a3, 7*REGBYTES(sp)
    REG_L   a4, 8*REGBYTES(sp)
    REG_L   a5, 9*REGBYTES(sp)
    REG_L   a6, 10*REGBYTES(sp)
    REG_L   a7, 11*REGBYTES(sp)
    REG_L   t3, 12*REGBYTES(sp)
    REG_L   t4, 13*REGBYTES(sp)
    REG_L   t5, 14*REGBYTES(sp)
    REG_L   t6, 15*REGBYTES(sp)
    addi    sp, sp, 16*REGBYTES
    mret
